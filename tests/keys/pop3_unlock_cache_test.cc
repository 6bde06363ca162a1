// LocalKeyService with the POP3 unlock cache: a second login within the TTL
// skips Argon2id (counted by kdf_runs()) but still needs the device and the
// exact password; password changes, deletions and changes made by another
// process take effect at once.
#include <gtest/gtest.h>

#include "keys/local_key_service.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::TempDir;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

class Pop3UnlockCacheTest : public ::testing::Test {
 protected:
  enum Outcome { kOpens, kRejected };
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    service_ = Make(std::chrono::seconds(300));
    ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  }
  std::unique_ptr<LocalKeyService> Make(std::chrono::seconds ttl) {
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    o.rsa_bits = 2048;
    o.pop3_unlock_cache_ttl = ttl;
    return std::make_unique<LocalKeyService>(*key_store_, o);
  }
  // Opens bob's inbox (a failure must be kUnauthenticated) and returns how
  // many KDF runs that took.
  uint64_t KdfRunsOfOpen(LocalKeyService& s, std::string_view pw, Outcome expect) {
    const uint64_t before = s.kdf_runs();
    auto inbox = s.OpenInbox("bob", Pw(pw));
    if (expect == kOpens) {
      EXPECT_TRUE(inbox.ok()) << inbox.error().message;
    } else {
      EXPECT_FALSE(inbox.ok());
      if (!inbox.ok()) {
        EXPECT_EQ(inbox.error().code, ErrorCode::kUnauthenticated);
      }
    }
    return s.kdf_runs() - before;
  }
  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<LocalKeyService> service_;
};

TEST_F(Pop3UnlockCacheTest, SecondLoginWithinTheTtlSkipsTheKdf) {
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kOpens), 1u);
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kOpens), 0u);
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kOpens), 0u);
}

TEST_F(Pop3UnlockCacheTest, WrongPasswordPaysTheKdfAndIsRejectedAfterASuccess) {
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kOpens), 1u);
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secreT", kRejected), 1u);
  EXPECT_EQ(KdfRunsOfOpen(*service_, "smtp-secret", kRejected), 1u);
  // The right password is still served from the cache.
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kOpens), 0u);
}

TEST_F(Pop3UnlockCacheTest, FailedLoginIsNotRemembered) {
  EXPECT_EQ(KdfRunsOfOpen(*service_, "wrong", kRejected), 1u);
  EXPECT_EQ(KdfRunsOfOpen(*service_, "wrong", kRejected), 1u);
}

TEST_F(Pop3UnlockCacheTest, PasswordChangeEndsTheCachedLogin) {
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kOpens), 1u);
  ASSERT_TRUE(service_->ChangePop3Password("bob", Pw("pop3-secret"), Pw("new-pop3")).ok());
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kRejected), 1u);
  EXPECT_EQ(KdfRunsOfOpen(*service_, "new-pop3", kOpens), 1u);
  EXPECT_EQ(KdfRunsOfOpen(*service_, "new-pop3", kOpens), 0u);
}

TEST_F(Pop3UnlockCacheTest, ChangeMadeByAnotherProcessIsSeen) {
  // onionmailctl changes the record on disk while the server runs: the new
  // salt voids the server's entry.
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kOpens), 1u);
  auto other = Make(std::chrono::seconds(0));
  ASSERT_TRUE(other->ChangePop3Password("bob", Pw("pop3-secret"), Pw("changed")).ok());
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kRejected), 1u);
  EXPECT_EQ(KdfRunsOfOpen(*service_, "changed", kOpens), 1u);
}

TEST_F(Pop3UnlockCacheTest, DeletedUserIsRejectedDespiteACachedLogin) {
  EXPECT_EQ(KdfRunsOfOpen(*service_, "pop3-secret", kOpens), 1u);
  ASSERT_TRUE(service_->DeleteUser("bob").ok());
  auto inbox = service_->OpenInbox("bob", Pw("pop3-secret"));
  ASSERT_FALSE(inbox.ok());
  EXPECT_EQ(inbox.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(Pop3UnlockCacheTest, ZeroTtlPaysTheKdfAtEveryLogin) {
  auto uncached = Make(std::chrono::seconds(0));
  EXPECT_EQ(KdfRunsOfOpen(*uncached, "pop3-secret", kOpens), 1u);
  EXPECT_EQ(KdfRunsOfOpen(*uncached, "pop3-secret", kOpens), 1u);
}

}  // namespace
}  // namespace onionmail::keys
