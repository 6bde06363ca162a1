// Tests for keys::LocalKeyService over a file key store in a temp state dir.
#include "keys/local_key_service.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/inbox_key.h"
#include "crypto/random.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::FilesUnder;
using onionmail::testing::TempDir;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

class LocalKeyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    service_ = MakeService();
    ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  }

  std::unique_ptr<LocalKeyService> MakeService(
      crypto::InboxKeyType inbox_key = crypto::InboxKeyType::kX25519) {
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    o.inbox_key = inbox_key;
    o.rsa_bits = 2048;
    return std::make_unique<LocalKeyService>(*key_store_, o);
  }

  // Wraps a fresh key to the user's public key; true if the inbox unwraps it.
  bool InboxUnwraps(const std::string& user, const InboxKey& inbox) {
    auto pub = service_->LookupUser(user);
    if (!pub.ok()) return false;
    auto key = crypto::InboxPublicKey::FromDer(pub->public_key);
    if (!key.ok()) return false;
    SecretBytes dek = crypto::RandomSecret(32);
    auto wrapped = key->Wrap(dek);
    if (!wrapped.ok()) return false;
    auto unwrapped = inbox.UnwrapDataKey(*wrapped);
    return unwrapped.ok() && unwrapped->Equals(dek);
  }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<LocalKeyService> service_;
};

TEST_F(LocalKeyServiceTest, CreatedUserCanBeLookedUpAndIsCounted) {
  auto pub = service_->LookupUser("bob");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->mailbox_id.size(), 64u);
  auto key = crypto::InboxPublicKey::FromDer(pub->public_key);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->KeyId(), pub->key_id);
  auto count = service_->CountUsers();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1u);
  auto upper = service_->LookupUser("BoB");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->mailbox_id, pub->mailbox_id);
}

TEST_F(LocalKeyServiceTest, NewUsersGetTheConfiguredInboxKeyTypeAndOldUsersKeepTheirs) {
  auto bob = service_->LookupUser("bob");
  ASSERT_TRUE(bob.ok());
  auto bob_key = crypto::InboxPublicKey::FromDer(bob->public_key);
  ASSERT_TRUE(bob_key.ok());
  EXPECT_EQ(bob_key->type(), crypto::InboxKeyType::kX25519);  // the default

  // An operator who sets store.inbox_key = "rsa": new users get RSA keys.
  service_ = MakeService(crypto::InboxKeyType::kRsa);
  ASSERT_TRUE(service_->CreateUser("carol", Pw("smtp-c"), Pw("pop3-c")).ok());
  auto carol = service_->LookupUser("carol");
  ASSERT_TRUE(carol.ok());
  auto carol_key = crypto::InboxPublicKey::FromDer(carol->public_key);
  ASSERT_TRUE(carol_key.ok());
  EXPECT_EQ(carol_key->type(), crypto::InboxKeyType::kRsa);
  EXPECT_EQ(carol_key->WrappedBytes(), 256u);

  // Both users' inboxes open and unwrap under either setting.
  for (auto type : {crypto::InboxKeyType::kRsa, crypto::InboxKeyType::kX25519}) {
    service_ = MakeService(type);
    auto b = service_->OpenInbox("bob", Pw("pop3-secret"));
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(InboxUnwraps("bob", **b));
    auto c = service_->OpenInbox("carol", Pw("pop3-c"));
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(InboxUnwraps("carol", **c));
  }
}

TEST_F(LocalKeyServiceTest, UnknownUserLookupIsNotFound) {
  auto pub = service_->LookupUser("alice");
  ASSERT_FALSE(pub.ok());
  EXPECT_EQ(pub.error().code, ErrorCode::kNotFound);
}

TEST_F(LocalKeyServiceTest, CreatingAnExistingUserIsAlreadyExists) {
  auto again = service_->CreateUser("BOB", Pw("x"), Pw("y"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
}

TEST_F(LocalKeyServiceTest, InvalidNamesAndEmptyPasswordsAreRefused) {
  EXPECT_EQ(service_->CreateUser("", Pw("a"), Pw("b")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateUser("a/b", Pw("a"), Pw("b")).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateUser(std::string(65, 'a'), Pw("a"), Pw("b")).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateUser("carol", Pw(""), Pw("b")).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(LocalKeyServiceTest, SmtpPasswordVerifiesAndFailuresLookTheSame) {
  EXPECT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  auto wrong = service_->VerifySmtpPassword("bob", Pw("smtp-secreT"));
  auto unknown = service_->VerifySmtpPassword("alice", Pw("smtp-secret"));
  auto pop3 = service_->VerifySmtpPassword("bob", Pw("pop3-secret"));
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  ASSERT_FALSE(pop3.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(pop3.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(wrong.error().message, unknown.error().message);
}

TEST_F(LocalKeyServiceTest, OpenInboxWithPop3PasswordUnwrapsKeysForThePublicKey) {
  auto inbox = service_->OpenInbox("bob", Pw("pop3-secret"));
  ASSERT_TRUE(inbox.ok()) << inbox.error().message;
  EXPECT_EQ((*inbox)->mailbox_id(), service_->LookupUser("bob")->mailbox_id);
  EXPECT_TRUE(InboxUnwraps("bob", **inbox));
}

TEST_F(LocalKeyServiceTest, OpenInboxWithSmtpPasswordOrUnknownUserIsUnauthenticated) {
  auto smtp = service_->OpenInbox("bob", Pw("smtp-secret"));
  ASSERT_FALSE(smtp.ok());
  EXPECT_EQ(smtp.error().code, ErrorCode::kUnauthenticated);
  auto unknown = service_->OpenInbox("nobody", Pw("pop3-secret"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnauthenticated);
  auto invalid = service_->OpenInbox("../x", Pw("pop3-secret"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(LocalKeyServiceTest, ChangedPop3PasswordKeepsTheKeyAndRetiresTheOldPassword) {
  auto before = service_->LookupUser("bob");
  ASSERT_TRUE(before.ok());
  auto wrong_old = service_->ChangePop3Password("bob", Pw("nope"), Pw("new-pop3"));
  ASSERT_FALSE(wrong_old.ok());
  EXPECT_EQ(wrong_old.error().code, ErrorCode::kUnauthenticated);
  ASSERT_TRUE(service_->ChangePop3Password("bob", Pw("pop3-secret"), Pw("new-pop3")).ok());
  auto old_pw = service_->OpenInbox("bob", Pw("pop3-secret"));
  ASSERT_FALSE(old_pw.ok());
  EXPECT_EQ(old_pw.error().code, ErrorCode::kUnauthenticated);
  auto inbox = service_->OpenInbox("bob", Pw("new-pop3"));
  ASSERT_TRUE(inbox.ok());
  EXPECT_EQ(service_->LookupUser("bob")->key_id, before->key_id);
  EXPECT_TRUE(InboxUnwraps("bob", **inbox));
  EXPECT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
}

TEST_F(LocalKeyServiceTest, ChangedSmtpPasswordRetiresTheOldOne) {
  ASSERT_TRUE(service_->ChangeSmtpPassword("bob", Pw("new-smtp")).ok());
  EXPECT_EQ(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_TRUE(service_->VerifySmtpPassword("bob", Pw("new-smtp")).ok());
  EXPECT_TRUE(service_->OpenInbox("bob", Pw("pop3-secret")).ok());
  EXPECT_EQ(service_->ChangeSmtpPassword("alice", Pw("x")).error().code, ErrorCode::kNotFound);
}

TEST_F(LocalKeyServiceTest, StateSurvivesANewServiceInstance) {
  service_.reset();
  auto reopened = hsm::OpenFileKeyStore(dir_.path() + "/server.key");
  ASSERT_TRUE(reopened.ok());
  key_store_ = std::move(*reopened);
  service_ = MakeService();
  EXPECT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  EXPECT_TRUE(service_->OpenInbox("bob", Pw("pop3-secret")).ok());
}

TEST_F(LocalKeyServiceTest, DeleteUserRemovesRecordAndMailbox) {
  auto pub = service_->LookupUser("bob");
  ASSERT_TRUE(pub.ok());
  store::MailboxStore mailboxes(dir_.path());
  {
    auto lock = mailboxes.Lock(pub->mailbox_id);  // creates the mailbox directory
    ASSERT_TRUE(lock.ok());
    auto busy = service_->DeleteUser("bob");
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_TRUE(service_->LookupUser("bob").ok());
  }
  ASSERT_TRUE(service_->DeleteUser("bob").ok());
  EXPECT_EQ(service_->LookupUser("bob").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->OpenInbox("bob", Pw("pop3-secret")).error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(*service_->CountUsers(), 0u);
  EXPECT_NE(::access(mailboxes.MailboxDir(pub->mailbox_id).c_str(), F_OK), 0);
  EXPECT_EQ(service_->DeleteUser("bob").error().code, ErrorCode::kNotFound);
  // The name can be reused, with a new key.
  ASSERT_TRUE(service_->CreateUser("bob", Pw("a"), Pw("b")).ok());
  EXPECT_NE(service_->LookupUser("bob")->key_id, pub->key_id);
}

TEST_F(LocalKeyServiceTest, LookupUserReadsTheRecordOnceWhileItsFileIsUnchanged) {
  const uint64_t before = service_->record_reads();
  auto first = service_->LookupUser("bob");
  auto second = service_->LookupUser("BOB");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(service_->record_reads(), before + 1);
  EXPECT_EQ(second->mailbox_id, first->mailbox_id);
  EXPECT_EQ(second->public_key, first->public_key);
  EXPECT_EQ(second->key_id, first->key_id);
  // Touching the file (new mtime and ctime) is enough to read it again.
  auto files = FilesUnder(dir_.path() + "/users");
  ASSERT_EQ(files.size(), 1u);
  const std::string path = dir_.path() + "/users/" + files[0];
  struct timespec times[2] = {{0, 0}, {1, 0}};  // atime, mtime: 1970
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  ASSERT_TRUE(service_->LookupUser("bob").ok());
  EXPECT_EQ(service_->record_reads(), before + 2);
}

TEST_F(LocalKeyServiceTest, ARecordPathThatIsASymlinkIsNeitherReadNorAnsweredFromTheCache) {
  ASSERT_TRUE(service_->LookupUser("bob").ok());  // cached
  auto files = FilesUnder(dir_.path() + "/users");
  ASSERT_EQ(files.size(), 1u);
  const std::string path = dir_.path() + "/users/" + files[0];
  const std::string moved = dir_.path() + "/moved-record";
  ASSERT_EQ(::rename(path.c_str(), moved.c_str()), 0);
  ASSERT_EQ(::symlink(moved.c_str(), path.c_str()), 0);
  const uint64_t before = service_->record_reads();
  auto r = service_->LookupUser("bob");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(service_->record_reads(), before + 1);  // tried, refused by O_NOFOLLOW
  EXPECT_FALSE(service_->LookupUser("bob").ok());   // and nothing was cached
}

TEST_F(LocalKeyServiceTest, LookupUserSeesARecordThatAnotherInstanceReplacedOrDeleted) {
  auto cached = service_->LookupUser("bob");
  ASSERT_TRUE(cached.ok());
  auto other = MakeService();  // as onionmailctl or a second process would
  ASSERT_TRUE(other->DeleteUser("bob").ok());
  ASSERT_TRUE(other->CreateUser("bob", Pw("s2"), Pw("p2")).ok());
  auto fresh = service_->LookupUser("bob");
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->key_id, cached->key_id);
  EXPECT_EQ(fresh->key_id, other->LookupUser("bob")->key_id);
  // The new key is the one the new POP3 password unlocks.
  auto inbox = service_->OpenInbox("bob", Pw("p2"));
  ASSERT_TRUE(inbox.ok());
  EXPECT_TRUE(InboxUnwraps("bob", **inbox));

  ASSERT_TRUE(other->DeleteUser("bob").ok());
  auto gone = service_->LookupUser("bob");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(LocalKeyServiceTest, RecordFilesHideNamesAndCannotBeSwapped) {
  ASSERT_TRUE(service_->CreateUser("alice", Pw("a-smtp"), Pw("a-pop3")).ok());
  auto files = FilesUnder(dir_.path() + "/users");
  ASSERT_EQ(files.size(), 2u);
  for (const auto& f : files) {
    EXPECT_EQ(f.size(), 64u);
    EXPECT_EQ(f.find("bob"), std::string::npos);
  }
  // Copy one user's sealed record over the other's: it must not authenticate.
  const std::string users = dir_.path() + "/users/";
  onionmail::testing::WriteFileBytes(users + files[1],
                                     onionmail::testing::ReadFileBytes(users + files[0]));
  auto bob = service_->LookupUser("bob");
  auto alice = service_->LookupUser("alice");
  ASSERT_NE(bob.ok(), alice.ok());
  EXPECT_EQ(bob.ok() ? alice.error().code : bob.error().code, ErrorCode::kDataLoss);
}

TEST_F(LocalKeyServiceTest, HashedNameIsDeterministicAndPurposeSeparated) {
  auto a = service_->HashedName("message", "x");
  auto b = service_->HashedName("message", "x");
  auto c = service_->HashedName("other", "x");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*service_->HashedName("mailbox", "bob"), service_->LookupUser("bob")->mailbox_id);
}

}  // namespace
}  // namespace onionmail::keys
