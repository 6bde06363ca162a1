// Fuzz target: a whole SMTP session (smtp::Session over a FakeConnection),
// including STARTTLS, AUTH and the DATA reader. The input is the client's
// byte stream; everything after the first "STARTTLS\r\n" is delivered inside
// the (fake, always successful) TLS tunnel. The backend accepts every
// recipient, knows one user (alice / "secret") and keeps committed messages
// in memory.
//
// Checked besides memory safety: every server line is a well-formed reply
// ("NNN " or "NNN-", CRLF-terminated) and every committed message has CRLF
// line endings only and starts with the trace headers.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/log.h"
#include "base/result.h"
#include "mail/backend.h"
#include "mail/mailing_list.h"
#include "smtp/address.h"
#include "smtp/session.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/net/fake_connection.h"

namespace {

using namespace onionmail;

void CheckCrlfOnly(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') ONIONMAIL_CHECK(i > 0 && text[i - 1] == '\r');
    if (text[i] == '\r') ONIONMAIL_CHECK(i + 1 < text.size() && text[i + 1] == '\n');
  }
}

class Writer : public mail::MessageWriter {
 public:
  Result<void> Append(std::span<const uint8_t> bytes) override {
    ONIONMAIL_CHECK(!committed_);
    bytes_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Ok();
  }
  Result<void> Commit() override {
    ONIONMAIL_CHECK(!committed_);
    committed_ = true;
    ONIONMAIL_CHECK(bytes_.rfind("Return-Path: <", 0) == 0);
    CheckCrlfOnly(bytes_);
    return Ok();
  }

 private:
  std::string bytes_;
  bool committed_ = false;
};

class AcceptAllBackend : public mail::DeliveryBackend {
 public:
  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override {
    if (user == "alice" && password.Equals(SecretBytes(SecretAccess::Grant(), "secret"))) {
      alice_verified = true;
      return Ok();
    }
    return MakeError(ErrorCode::kUnauthenticated, "bad credentials");
  }
  Result<void> CheckRecipient(std::string_view local_part, uint64_t, std::string_view) override {
    ONIONMAIL_CHECK(smtp::IsValidLocalPart(local_part));
    return Ok();
  }
  Result<std::unique_ptr<mail::MessageWriter>> BeginMessage(
      const mail::Envelope& envelope) override {
    ONIONMAIL_CHECK(!envelope.local_parts.empty());
    return std::unique_ptr<mail::MessageWriter>(new Writer());
  }
  bool alice_verified = false;
};

// One list, "team" (alice, bob, carol): the session asks only kPost, for a
// valid list name, and only after alice logged in.
class OneList : public mail::ListService {
 public:
  explicit OneList(const AcceptAllBackend& backend) : backend_(backend) {}
  Result<mail::ListRecord> Apply(mail::ListOp op, std::string_view name,
                                 std::string_view user) override {
    ONIONMAIL_CHECK(backend_.alice_verified);
    ONIONMAIL_CHECK(op == mail::ListOp::kPost);
    ONIONMAIL_CHECK(mail::ValidListName(name));
    ONIONMAIL_CHECK(user.empty());
    if (name != "team") return MakeError(ErrorCode::kNotFound, "no such list");
    return mail::ListRecord{"alice", {"alice", "bob", "carol"}};
  }

 private:
  const AcceptAllBackend& backend_;
};

void CheckReplies(const std::string& out) {
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find("\r\n", pos);
    ONIONMAIL_CHECK(end != std::string::npos);
    std::string_view line(out.data() + pos, end - pos);
    ONIONMAIL_CHECK(line.size() >= 4);
    for (int i = 0; i < 3; ++i) ONIONMAIL_CHECK(line[i] >= '0' && line[i] <= '9');
    ONIONMAIL_CHECK(line[3] == ' ' || line[3] == '-');
    ONIONMAIL_CHECK(line.find_first_of("\r\n") == std::string_view::npos);
    pos = end + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::SetLevel(log::Level::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  net::FakeConnection conn;
  fuzz::SplitAtTls(fuzz::AsText(data, size), "STARTTLS\r\n", conn);
  AcceptAllBackend backend;
  smtp::SessionConfig config;
  config.domain = "example.onion";
  config.hostname = "mx.example.onion";
  config.max_message_bytes = 2048;  // reachable within libFuzzer's 4 KiB inputs
  config.max_recipients = 5;
  config.max_command_line = 512;
  config.max_text_line = 1000;
  config.log_tag = "fuzz";
  config.auth_failure_delay_ms = 0;
  OneList lists(backend);
  smtp::Session session(conn, backend, config, nullptr, nullptr, nullptr, nullptr, &lists);
  session.Run();
  CheckReplies(conn.Output());
  return 0;
}
