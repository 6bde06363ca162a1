// RQUS in the POP3 session (session.h, "RQUS"): offered only with a
// registration service and over TLS; a bad voucher counts as a failed login;
// the passwords are sent once and the session stays in AUTHORIZATION.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pop3/session.h"
#include "tests/net/fake_connection.h"

namespace onionmail::pop3 {
namespace {

constexpr std::string_view kVoucher = "abcdefghijklmnopqr27";
constexpr std::string_view kSmtpPw = "ssssssssssssssssssssssss";
constexpr std::string_view kPop3Pw = "pppppppppppppppppppppppp";

struct FakeRegistration : mail::RegistrationService {
  struct Call {
    std::string voucher;
    std::string user;
  };
  Result<mail::Registration> Register(std::string_view voucher, std::string_view user) override {
    calls.push_back({std::string(voucher), std::string(user)});
    if (error) return MakeError(*error, "scripted");
    if (voucher != kVoucher) return MakeError(ErrorCode::kUnauthenticated, "no voucher");
    return mail::Registration{SecretBytes(SecretAccess::Grant(), kSmtpPw),
                              SecretBytes(SecretAccess::Grant(), kPop3Pw)};
  }
  std::vector<Call> calls;
  std::optional<ErrorCode> error;
};

// Logs in only the user registered above, with its POP3 password.
struct EmptyMailbox : mail::Mailbox {
  const std::vector<mail::MessageInfo>& Messages() const override { return none; }
  Result<void> Read(size_t, const mail::ChunkSink&) override { return Ok(); }
  Result<void> Expunge(std::span<const size_t>) override { return Ok(); }
  std::vector<mail::MessageInfo> none;
};
struct FakeMailboxes : mail::MailboxBackend {
  Result<std::unique_ptr<mail::Mailbox>> Open(std::string_view user,
                                              const SecretBytes& password) override {
    if (user != "newbie" || password.RevealString(SecretAccess::Grant()) != kPop3Pw) {
      return MakeError(ErrorCode::kUnauthenticated, "bad credentials");
    }
    return std::unique_ptr<mail::Mailbox>(new EmptyMailbox());
  }
};

class Pop3RegisterTest : public ::testing::Test {
 protected:
  Pop3RegisterTest() {
    config.hostname = "mx.example.onion";
    config.domain = "example.onion";
    config.auth_failure_delay_ms = 0;
  }
  std::string Run(std::string_view plain, std::string_view tls = "") {
    conn.Feed(plain);
    conn.FeedAfterTls(tls);
    Session(conn, mailboxes, config, service_given ? &service : nullptr).Run();
    return conn.Output();
  }
  // The replies after the greeting and STLS's.
  std::string RunTls(std::string_view tls) {
    std::string out = Run("STLS\r\n", tls);
    size_t at = out.find("+OK Begin TLS negotiation\r\n");
    EXPECT_NE(at, std::string::npos);
    return out.substr(at + 27);
  }
  FakeRegistration service;
  bool service_given = true;
  FakeMailboxes mailboxes;
  SessionConfig config;
  net::FakeConnection conn;
};

const std::string kCreated =
    "+OK Account created: keep these passwords, they are not shown again\r\n"
    "address: newbie@example.onion\r\n"
    "smtp-password: ssssssssssssssssssssssss\r\n"
    "pop3-password: pppppppppppppppppppppppp\r\n"
    ".\r\n";

TEST_F(Pop3RegisterTest, VoucherOpensAnAccountShownOnceAndTheClientMayLogInNext) {
  std::string out = RunTls("RQUS ABCDEFGHIJKLMNOPQR27 NewBie\r\nUSER newbie\r\nPASS " +
                           std::string(kPop3Pw) + "\r\nQUIT\r\n");
  EXPECT_EQ(out.substr(0, kCreated.size()), kCreated);
  EXPECT_NE(out.find("+OK maildrop has 0 messages"), std::string::npos) << out;
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].voucher, kVoucher) << "lower-cased";
  EXPECT_EQ(service.calls[0].user, "newbie") << "lower-cased";
}

TEST_F(Pop3RegisterTest, CapaListsRqusOnlyOverTlsWithAService) {
  EXPECT_NE(RunTls("CAPA\r\n").find("\r\nRQUS\r\n"), std::string::npos);
  conn = net::FakeConnection();
  EXPECT_EQ(Run("CAPA\r\n").find("RQUS"), std::string::npos);
  conn = net::FakeConnection();
  service_given = false;
  EXPECT_EQ(RunTls("CAPA\r\n").find("RQUS"), std::string::npos);
}

TEST_F(Pop3RegisterTest, WithoutTlsRqusIsRefusedAndTheServiceNotCalled) {
  std::string out = Run(std::string("RQUS ") + std::string(kVoucher) + " newbie\r\nQUIT\r\n");
  EXPECT_NE(out.find("-ERR TLS required before authentication, use STLS\r\n"), std::string::npos);
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(Pop3RegisterTest, WithoutAServiceRqusIsAnUnknownCommand) {
  service_given = false;
  EXPECT_EQ(RunTls(std::string("RQUS ") + std::string(kVoucher) + " newbie\r\n"),
            "-ERR Unknown command\r\n");
}

TEST_F(Pop3RegisterTest, BadVouchersCountAsFailedLoginsAndCloseAtTheLimit) {
  std::string out = RunTls(
      "RQUS short newbie\r\nRQUS zzzzzzzzzzzzzzzzzzzz newbie\r\n"
      "RQUS zzzzzzzzzzzzzzzzzzz2 newbie\r\nQUIT\r\n");
  EXPECT_EQ(out,
            "-ERR [AUTH] Unknown or used voucher\r\n"
            "-ERR [AUTH] Unknown or used voucher\r\n"
            "-ERR [AUTH] Unknown or used voucher, too many failures, closing connection\r\n");
  EXPECT_EQ(service.calls.size(), 2u) << "a malformed voucher is not sent";
}

TEST_F(Pop3RegisterTest, InvalidNamesAreRefusedBeforeTheVoucherIsTried) {
  std::string out = RunTls("RQUS " + std::string(kVoucher) + " bad..name\r\nRQUS " +
                           std::string(kVoucher) + "\r\n");
  EXPECT_EQ(out,
            "-ERR Invalid user name: 1-64 characters of a-z 0-9 . _ - (no leading, trailing or "
            "double '.')\r\n-ERR Syntax error in arguments\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(Pop3RegisterTest, ServiceRefusalsAreAnsweredAndTheSessionGoesOn) {
  struct Case {
    ErrorCode code;
    std::string reply;
  };
  for (const Case& c : std::vector<Case>{
           {ErrorCode::kInvalidArgument,
            "-ERR That name is reserved, choose another (the voucher is still valid)\r\n"},
           {ErrorCode::kAlreadyExists,
            "-ERR That name is taken, choose another (the voucher is still valid)\r\n"},
           {ErrorCode::kUnavailable,
            "-ERR [SYS/TEMP] Registration temporarily unavailable, try again later (the "
            "voucher is still valid)\r\n"},
       }) {
    conn = net::FakeConnection();
    service.error = c.code;
    std::string out = RunTls("RQUS " + std::string(kVoucher) + " newbie\r\nNOOP\r\n");
    EXPECT_EQ(out, c.reply + "-ERR Command not valid in this state\r\n") << ErrorCodeName(c.code);
  }
  conn = net::FakeConnection();
  service.error = ErrorCode::kSealed;
  EXPECT_EQ(RunTls("RQUS " + std::string(kVoucher) + " newbie\r\n").substr(0, 20),
            "-ERR [SYS/TEMP] Serv");
}

TEST_F(Pop3RegisterTest, KeyRoleLimitClosesTheSession) {
  service.error = ErrorCode::kPermissionDenied;
  EXPECT_EQ(RunTls("RQUS " + std::string(kVoucher) + " newbie\r\nNOOP\r\n"),
            "-ERR No more registration attempts in this session\r\n");
}

TEST_F(Pop3RegisterTest, OneAccountPerSession) {
  std::string out = RunTls("RQUS " + std::string(kVoucher) + " newbie\r\nRQUS " +
                           std::string(kVoucher) + " other\r\n");
  EXPECT_EQ(out, kCreated + "-ERR One registration per session\r\n");
  EXPECT_EQ(service.calls.size(), 1u);
}

TEST_F(Pop3RegisterTest, RqusAfterLoginIsNotValid) {
  std::string out =
      RunTls("RQUS " + std::string(kVoucher) + " newbie\r\nUSER newbie\r\nPASS " +
             std::string(kPop3Pw) + "\r\nRQUS " + std::string(kVoucher) + " again\r\n");
  EXPECT_NE(out.find("+OK maildrop"), std::string::npos);
  const std::string bad_state = "-ERR Command not valid in this state\r\n";
  ASSERT_GE(out.size(), bad_state.size());
  EXPECT_EQ(out.substr(out.size() - bad_state.size()), bad_state);
  EXPECT_EQ(service.calls.size(), 1u);
}

}  // namespace
}  // namespace onionmail::pop3
