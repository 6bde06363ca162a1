// Fuzz target: the SMTP command line parser (src/smtp/command.h) and the
// address parser under it. The input is one command line without CRLF.
// Besides memory safety it checks the parser's contract: the argument points
// into the line, and an accepted address never contains bytes that would be
// unsafe in a header line.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "base/result.h"
#include "smtp/address.h"
#include "smtp/command.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace onionmail;

void CheckHeaderSafe(std::string_view text) {
  for (unsigned char c : text) {
    ONIONMAIL_CHECK(c > 0x20 && c < 0x7f);
  }
}

void CheckAddress(const smtp::Address& address) {
  CheckHeaderSafe(address.local);
  CheckHeaderSafe(address.domain);
}

void ParseArgument(std::string_view arg) {
  auto mail = smtp::ParseMailFrom(arg);
  if (auto* from = std::get_if<smtp::MailFrom>(&mail)) {
    if (from->sender) CheckAddress(*from->sender);
  }
  auto rcpt = smtp::ParseRcptTo(arg);
  if (auto* to = std::get_if<smtp::RcptTo>(&rcpt)) {
    if (to->bare_postmaster) {
      ONIONMAIL_CHECK(to->recipient.domain.empty());
      CheckHeaderSafe(to->recipient.local);
    } else {
      CheckAddress(to->recipient);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line = fuzz::AsText(data, size);
  smtp::Command cmd = smtp::ParseCommand(line);
  if (!cmd.arg.empty()) {
    ONIONMAIL_CHECK(cmd.arg.data() >= line.data());
    ONIONMAIL_CHECK(cmd.arg.data() + cmd.arg.size() <= line.data() + line.size());
  }
  ParseArgument(cmd.arg);
  ParseArgument(line);
  if (auto address = smtp::ParsePathContent(line)) CheckAddress(*address);
  if (smtp::IsValidLocalPart(line)) {
    ONIONMAIL_CHECK(!line.empty() && line.size() <= 64);
    CheckHeaderSafe(line);
  }
  return 0;
}
