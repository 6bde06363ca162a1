// LocalKeyService with the SMTP AUTH cache: repeated successes are cheap,
// and a password change or user deletion takes effect at once.
#include <gtest/gtest.h>

#include <chrono>

#include "keys/local_key_service.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::TempDir;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

class SmtpAuthCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    o.rsa_bits = 2048;
    service_ = std::make_unique<LocalKeyService>(*key_store_, o);
    ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  }
  static double Millis(const std::function<void()>& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<LocalKeyService> service_;
};

TEST_F(SmtpAuthCacheTest, SecondSuccessSkipsTheKdf) {
  const uint64_t runs = service_->kdf_runs();
  ASSERT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  EXPECT_EQ(service_->kdf_runs(), runs + 1);
  ASSERT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  EXPECT_EQ(service_->kdf_runs(), runs + 1);  // served from the cache
  ASSERT_FALSE(service_->VerifySmtpPassword("bob", Pw("smtp-secreT")).ok());
  EXPECT_EQ(service_->kdf_runs(), runs + 2);  // every wrong guess pays the KDF
}

TEST_F(SmtpAuthCacheTest, WrongPasswordIsNeverAcceptedFromTheCache) {
  ASSERT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  auto r = service_->VerifySmtpPassword("bob", Pw("smtp-secreT"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(SmtpAuthCacheTest, PasswordChangeInvalidatesTheCachedSuccess) {
  ASSERT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  ASSERT_TRUE(service_->ChangeSmtpPassword("bob", Pw("new-smtp")).ok());
  EXPECT_FALSE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  EXPECT_TRUE(service_->VerifySmtpPassword("bob", Pw("new-smtp")).ok());
}

TEST_F(SmtpAuthCacheTest, DeletedUserIsRejectedDespiteACachedSuccess) {
  ASSERT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  ASSERT_TRUE(service_->DeleteUser("bob").ok());
  EXPECT_FALSE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
}

TEST_F(SmtpAuthCacheTest, ChangeMadeByAnotherProcessIsSeen) {
  // onionmailctl changes the record on disk while the server runs.
  ASSERT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  LocalKeyService::Options o;
  o.state_dir = dir_.path();
  o.kdf = crypto::Argon2Params{1, 8192, 1};
  LocalKeyService other(*key_store_, o);
  ASSERT_TRUE(other.ChangeSmtpPassword("bob", Pw("changed")).ok());
  EXPECT_FALSE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
}

}  // namespace
}  // namespace onionmail::keys
