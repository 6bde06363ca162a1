// Tests for LocalKeyService's count of failed logins (keys/guess_watch.h): ten SMTP AUTH and
// POP3 failures in a row for one name are logged once, naming the mailbox as `onionmailctl
// user show` does and never the user; a success ends the run; unknown names are counted too,
// as such; nothing is refused for it.
#include <gtest/gtest.h>

#include <string>

#include "hsm/key_store.h"
#include "keys/local_key_service.h"
#include "tests/base/capture_stderr.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::CaptureStderr;
using onionmail::testing::TempDir;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

class FailedLoginLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8, 1};
    service_ = std::make_unique<LocalKeyService>(*key_store_, o);
    ASSERT_TRUE(
        service_->CreateUser("carol", Pw("carol-smtp-secret"), Pw("carol-pop3-secret")).ok());
    auto pub = service_->LookupUser("carol");
    ASSERT_TRUE(pub.ok());
    mailbox_prefix_ = pub->mailbox_id.substr(0, 8);
  }

  // n failed logins for `user`, alternating SMTP AUTH and POP3; returns the log.
  std::string Fail(const std::string& user, int n) {
    return CaptureStderr([&] {
      for (int i = 0; i < n; ++i) {
        if (i % 2 == 0) {
          EXPECT_EQ(service_->VerifySmtpPassword(user, Pw("wrong guess")).error().code,
                    ErrorCode::kUnauthenticated);
        } else {
          EXPECT_EQ(service_->OpenInbox(user, Pw("wrong guess")).error().code,
                    ErrorCode::kUnauthenticated);
        }
      }
    });
  }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<LocalKeyService> service_;
  std::string mailbox_prefix_;
};

TEST_F(FailedLoginLogTest, TenFailuresInARowAreLoggedOnceNamingTheMailboxNotTheUser) {
  EXPECT_EQ(Fail("carol", 9), "");
  std::string log = Fail("carol", 1);
  EXPECT_NE(log.find("<4>warning key: 10 failed logins in a row (SMTP AUTH and POP3) for mailbox " +
                     mailbox_prefix_ + "... in 0 min: someone may be guessing its passwords\n"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("carol"), std::string::npos);
  EXPECT_EQ(Fail("carol", 89), "");
  EXPECT_NE(Fail("carol", 1).find("100 failed logins in a row"), std::string::npos);
  // Nothing is refused for it: the right passwords still work.
  EXPECT_TRUE(service_->VerifySmtpPassword("carol", Pw("carol-smtp-secret")).ok());
  EXPECT_TRUE(service_->OpenInbox("carol", Pw("carol-pop3-secret")).ok());
}

TEST_F(FailedLoginLogTest, ASuccessfulLoginEndsTheRun) {
  EXPECT_EQ(Fail("carol", 9), "");
  EXPECT_TRUE(service_->OpenInbox("carol", Pw("carol-pop3-secret")).ok());
  EXPECT_EQ(Fail("carol", 9), "");
  EXPECT_TRUE(service_->VerifySmtpPassword("carol", Pw("carol-smtp-secret")).ok());
  EXPECT_EQ(Fail("carol", 9), "");
}

TEST_F(FailedLoginLogTest, UnknownNamesAreCountedAndSaidToBeUnknown) {
  std::string log = Fail("nobody", 10);
  EXPECT_NE(log.find("10 failed logins in a row (SMTP AUTH and POP3) for mailbox "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("... (no such user) in 0 min"), std::string::npos) << log;
  EXPECT_EQ(log.find("nobody"), std::string::npos);
  EXPECT_EQ(log.find(mailbox_prefix_), std::string::npos);
  // Names that can be no user's (not [a-z0-9._-]) are not counted (there is no name to key
  // them by), and still get the same answer.
  EXPECT_EQ(Fail("bad/name", 10), "");
}

}  // namespace
}  // namespace onionmail::keys
