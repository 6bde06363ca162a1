// Fuzz target: a whole POP3 session (pop3::Session over a FakeConnection):
// STLS, USER/PASS, AUTH PLAIN, and the TRANSACTION commands over a mailbox
// of two small messages (one with dot-lines and no final CRLF). The input is
// the client's byte stream; everything after the first "STLS\r\n" arrives
// inside the (fake, always successful) TLS tunnel. User bob, password
// "secret pw"; RQUS with a fake registration service.
//
// Checked besides memory safety: the session only reads and expunges valid,
// distinct message indices, and everything it sends uses CRLF line endings.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "mail/backend.h"
#include "mail/registration.h"
#include "pop3/session.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/net/fake_connection.h"

namespace {

using namespace onionmail;

const std::vector<std::string>& Contents() {
  static const std::vector<std::string> contents = {
      "Subject: a\r\n\r\nhello\r\n",
      "Subject: b\r\n\r\n.dot\r\n.\r\n..\r\nend",
  };
  return contents;
}

class FakeMailbox : public mail::Mailbox {
 public:
  FakeMailbox() {
    infos_.push_back({"uid-1", Contents()[0].size()});
    infos_.push_back({"uid-2", Contents()[1].size()});
  }
  const std::vector<mail::MessageInfo>& Messages() const override { return infos_; }
  Result<void> Read(size_t index, const mail::ChunkSink& sink) override {
    ONIONMAIL_CHECK(index < infos_.size());
    std::string_view content = Contents()[index];
    for (size_t pos = 0; pos < content.size(); pos += 5) {
      std::string_view chunk = content.substr(pos, 5);
      ONIONMAIL_RETURN_IF_ERROR(
          sink({reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()}));
    }
    return Ok();
  }
  Result<void> Expunge(std::span<const size_t> indices) override {
    std::set<size_t> seen;
    for (size_t i : indices) {
      ONIONMAIL_CHECK(i < infos_.size());
      ONIONMAIL_CHECK(seen.insert(i).second);
    }
    return Ok();
  }

 private:
  std::vector<mail::MessageInfo> infos_;
};

class FakeBackend : public mail::MailboxBackend {
 public:
  Result<std::unique_ptr<mail::Mailbox>> Open(std::string_view user,
                                              const SecretBytes& password) override {
    if (user != "bob" || !password.Equals(SecretBytes(SecretAccess::Grant(), "secret pw"))) {
      return MakeError(ErrorCode::kUnauthenticated, "bad credentials");
    }
    ONIONMAIL_CHECK(!opened_);  // one mailbox per session
    opened_ = true;
    return std::unique_ptr<mail::Mailbox>(new FakeMailbox());
  }

 private:
  bool opened_ = false;
};

// RQUS: the session sends only canonical vouchers and valid lower-case names,
// and asks again only after a refusal. "abcdefghijklmnopqr27" opens any
// name but bob's (taken).
class OneVoucher : public mail::RegistrationService {
 public:
  Result<mail::Registration> Register(std::string_view voucher, std::string_view user) override {
    ONIONMAIL_CHECK(mail::CanonicalVoucher(voucher) == std::string(voucher));
    ONIONMAIL_CHECK(mail::ValidLocalPart(user));
    ONIONMAIL_CHECK(!registered_);  // one account per session
    if (voucher != "abcdefghijklmnopqr27") return MakeError(ErrorCode::kUnauthenticated, "no");
    if (user == "bob") return MakeError(ErrorCode::kAlreadyExists, "taken");
    if (mail::ReservedUserName(user)) return MakeError(ErrorCode::kInvalidArgument, "reserved");
    registered_ = true;
    return mail::Registration{SecretBytes(SecretAccess::Grant(), std::string(24, 's')),
                              SecretBytes(SecretAccess::Grant(), std::string(24, 'p'))};
  }

 private:
  bool registered_ = false;
};

void CheckCrlfOnly(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') ONIONMAIL_CHECK(i > 0 && text[i - 1] == '\r');
    if (text[i] == '\r') ONIONMAIL_CHECK(i + 1 < text.size() && text[i + 1] == '\n');
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::SetLevel(log::Level::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  net::FakeConnection conn;
  fuzz::SplitAtTls(fuzz::AsText(data, size), "STLS\r\n", conn);
  FakeBackend backend;
  pop3::SessionConfig config;
  config.hostname = "mx.example.onion";
  config.log_tag = "fuzz";
  config.auth_failure_delay_ms = 0;
  {
    OneVoucher registration;
    pop3::Session session(conn, backend, config, &registration);
    session.Run();
  }
  CheckCrlfOnly(conn.Output());
  return 0;
}
