// End-to-end tests of mail::LocalBackend over a real state directory: the
// file key store, LocalKeyService and MailboxStore.
#include "mail/local_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "hsm/key_store.h"
#include "keys/local_key_service.h"
#include "tests/store/test_util.h"

namespace onionmail::mail {
namespace {

using onionmail::testing::FilesUnder;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::TempDir;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Forwards to a real KeyService and counts data-key unwraps (RSA-OAEP
// decryptions with the inbox key) of the inboxes it opens.
class CountingKeyService : public keys::KeyService {
 public:
  explicit CountingKeyService(keys::KeyService& real) : real_(real) {}
  int unwraps() const { return unwraps_; }

  Result<keys::UserPublic> LookupUser(std::string_view u) override { return real_.LookupUser(u); }
  Result<std::string> HashedName(std::string_view p, std::string_view d) override {
    return real_.HashedName(p, d);
  }
  Result<void> VerifySmtpPassword(std::string_view u, const SecretBytes& pw) override {
    return real_.VerifySmtpPassword(u, pw);
  }
  Result<std::unique_ptr<keys::InboxKey>> OpenInbox(std::string_view u,
                                                    const SecretBytes& pw) override {
    auto inner = real_.OpenInbox(u, pw);
    if (!inner.ok()) return inner.error();
    return std::unique_ptr<keys::InboxKey>(std::make_unique<Counted>(std::move(*inner), &unwraps_));
  }
  Result<void> CreateUser(std::string_view u, const SecretBytes& s, const SecretBytes& p) override {
    return real_.CreateUser(u, s, p);
  }
  Result<void> DeleteUser(std::string_view u) override { return real_.DeleteUser(u); }
  Result<void> ChangeSmtpPassword(std::string_view u, const SecretBytes& pw) override {
    return real_.ChangeSmtpPassword(u, pw);
  }
  Result<void> ChangePop3Password(std::string_view u, const SecretBytes& o,
                                  const SecretBytes& n) override {
    return real_.ChangePop3Password(u, o, n);
  }
  Result<size_t> CountUsers() override { return real_.CountUsers(); }
  Result<bool> SenderBlocked(std::string_view m, std::string_view s) override {
    return real_.SenderBlocked(m, s);
  }
  Result<std::vector<std::string>> ApplyBlockList(std::string_view u, mail::BlockListOp op,
                                                  std::string_view e) override {
    return real_.ApplyBlockList(u, op, e);
  }
  Result<mail::ListRecord> ApplyList(std::string_view a, mail::ListOp op, std::string_view n,
                                     std::string_view u) override {
    return real_.ApplyList(a, op, n, u);
  }
  Result<mail::Registration> RegisterUser(std::string_view v, std::string_view u) override {
    return real_.RegisterUser(v, u);
  }
  Result<std::vector<SecretBytes>> AddVouchers(size_t n) override { return real_.AddVouchers(n); }
  Result<size_t> CountVouchers() override { return real_.CountVouchers(); }
  Result<void> ClearVouchers() override { return real_.ClearVouchers(); }
  Result<std::optional<std::string>> LookupVmat(std::string_view a) override {
    return real_.LookupVmat(a);
  }
  Result<std::optional<std::string>> SenderVmat(std::string_view t) override {
    return real_.SenderVmat(t);
  }
  Result<void> AddVmat(std::string_view a, std::string_view t) override {
    return real_.AddVmat(a, t);
  }
  Result<void> MakeSenderVmat(std::string_view a) override { return real_.MakeSenderVmat(a); }
  Result<void> RemoveVmat(std::string_view a) override { return real_.RemoveVmat(a); }
  Result<std::vector<mail::VmatRecord>> ListVmat() override { return real_.ListVmat(); }
  Result<uint8_t> RecordVersion(std::string_view u) override { return real_.RecordVersion(u); }
  Result<RecordCensus> CensusRecords() override { return real_.CensusRecords(); }

 private:
  class Counted : public keys::InboxKey {
   public:
    Counted(std::unique_ptr<keys::InboxKey> inner, int* count)
        : inner_(std::move(inner)), count_(count) {}
    const std::string& mailbox_id() const override { return inner_->mailbox_id(); }
    Result<SecretBytes> UnwrapDataKey(std::span<const uint8_t> wrapped) const override {
      ++*count_;
      return inner_->UnwrapDataKey(wrapped);
    }

   private:
    std::unique_ptr<keys::InboxKey> inner_;
    int* count_;
  };
  keys::KeyService& real_;
  int unwraps_ = 0;
};

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    keys::LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    o.rsa_bits = 2048;
    keys_ = std::make_unique<keys::LocalKeyService>(*key_store_, o);
    store_ = std::make_unique<store::MailboxStore>(dir_.path());
    backend_ = std::make_unique<LocalBackend>(*keys_, *store_);
    ASSERT_TRUE(keys_->CreateUser("bob", Pw("bob-smtp"), Pw("bob-pop3")).ok());
    ASSERT_TRUE(keys_->CreateUser("alice", Pw("alice-smtp"), Pw("alice-pop3")).ok());
  }

  Result<void> Deliver(std::vector<std::string> to, const std::string& text, size_t chunk = 7) {
    Envelope env{"sender@example.onion", std::move(to)};
    auto writer = backend_->BeginMessage(env);
    if (!writer.ok()) return writer.error();
    for (size_t off = 0; off < text.size(); off += chunk) {
      ONIONMAIL_RETURN_IF_ERROR(
          (*writer)->Append(AsBytes(std::string_view(text).substr(off, chunk))));
    }
    return (*writer)->Commit();
  }

  std::string ReadMessage(Mailbox& box, size_t index) {
    std::string out;
    auto r = box.Read(index, [&out](std::span<const uint8_t> b) -> Result<void> {
      out.append(b.begin(), b.end());
      return Ok();
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return out;
  }

  std::unique_ptr<Mailbox> OpenOk(const std::string& user, const std::string& pw) {
    auto box = backend_->Open(user, Pw(pw));
    EXPECT_TRUE(box.ok()) << box.error().message;
    return box.ok() ? std::move(*box) : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<keys::LocalKeyService> keys_;
  std::unique_ptr<store::MailboxStore> store_;
  std::unique_ptr<LocalBackend> backend_;
};

TEST_F(LocalBackendTest, DeliveredMessagesAreListedReadExpungedAndStableAcrossOpens) {
  const std::string m1 = "Subject: one\r\n\r\nfirst\r\n";
  const std::string m2 = std::string(150000, 'x') + "\r\n";  // three segments
  const std::string m3 = "Subject: three\r\n\r\n.\r\nthird\r\n";
  ASSERT_TRUE(Deliver({"bob"}, m1).ok());
  ASSERT_TRUE(Deliver({"bob"}, m2, 4096).ok());
  ASSERT_TRUE(Deliver({"bob"}, m3).ok());

  std::vector<std::string> uids;
  {
    auto box = OpenOk("bob", "bob-pop3");
    ASSERT_NE(box, nullptr);
    const auto& msgs = box->Messages();
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(msgs[0].size, m1.size());
    EXPECT_EQ(msgs[1].size, m2.size());
    EXPECT_EQ(msgs[2].size, m3.size());
    for (const auto& m : msgs) {
      uids.push_back(m.uid);
      EXPECT_EQ(m.uid.size(), 32u);
    }
    EXPECT_EQ(ReadMessage(*box, 0), m1);
    EXPECT_EQ(ReadMessage(*box, 1), m2);
    EXPECT_EQ(ReadMessage(*box, 2), m3);
    EXPECT_FALSE(box->Read(3, [](auto) { return Ok(); }).ok());
  }
  {
    auto box = OpenOk("bob", "bob-pop3");
    ASSERT_NE(box, nullptr);
    ASSERT_EQ(box->Messages().size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(box->Messages()[i].uid, uids[i]);
    const size_t doomed[] = {1};
    ASSERT_TRUE(box->Expunge(doomed).ok());
  }
  auto box = OpenOk("bob", "bob-pop3");
  ASSERT_NE(box, nullptr);
  ASSERT_EQ(box->Messages().size(), 2u);
  EXPECT_EQ(box->Messages()[0].uid, uids[0]);
  EXPECT_EQ(box->Messages()[1].uid, uids[2]);
  EXPECT_EQ(ReadMessage(*box, 1), m3);
}

TEST_F(LocalBackendTest, EachDataKeyIsUnwrappedOncePerSessionAcrossListAndRead) {
  CountingKeyService counting(*keys_);
  LocalBackend backend(counting, *store_);
  ASSERT_TRUE(Deliver({"bob"}, "first message\r\n").ok());
  ASSERT_TRUE(Deliver({"bob"}, "second message\r\n").ok());
  ASSERT_TRUE(Deliver({"bob"}, "third message\r\n").ok());
  {
    auto box = backend.Open("bob", Pw("bob-pop3"));
    ASSERT_TRUE(box.ok()) << box.error().message;
    EXPECT_EQ(counting.unwraps(), 3);  // List: one per message
    EXPECT_EQ(ReadMessage(**box, 1), "second message\r\n");
    EXPECT_EQ(ReadMessage(**box, 1), "second message\r\n");
    EXPECT_EQ(ReadMessage(**box, 0), "first message\r\n");
    EXPECT_EQ(counting.unwraps(), 3);  // Read: from the session's cache
  }
  auto again = backend.Open("bob", Pw("bob-pop3"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(counting.unwraps(), 6);  // a new session unwraps again
}

TEST_F(LocalBackendTest, ExpungeOfAllMessagesLeavesAnEmptyMailbox) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Deliver({"alice"}, "m" + std::to_string(i)).ok());
  {
    auto box = OpenOk("alice", "alice-pop3");
    ASSERT_NE(box, nullptr);
    ASSERT_EQ(box->Messages().size(), 4u);
    const std::vector<size_t> all = {3, 0, 2, 1, 0};
    ASSERT_TRUE(box->Expunge(all).ok());
  }
  auto box = OpenOk("alice", "alice-pop3");
  ASSERT_NE(box, nullptr);
  EXPECT_TRUE(box->Messages().empty());
}

TEST_F(LocalBackendTest, RecipientRecreatedWithANewKeyGetsMailUnderTheNewKey) {
  // The backend keeps parsed recipient keys; a user deleted and created again
  // (same mailbox id, new inbox key) must get mail it can read.
  ASSERT_TRUE(Deliver({"bob"}, "Subject: one\r\n\r\nunder the first key\r\n").ok());
  ASSERT_TRUE(keys_->DeleteUser("bob").ok());
  ASSERT_TRUE(keys_->CreateUser("bob", Pw("bob-smtp2"), Pw("bob-pop3-2")).ok());
  ASSERT_TRUE(Deliver({"bob"}, "Subject: two\r\n\r\nunder the second key\r\n").ok());
  auto box = OpenOk("bob", "bob-pop3-2");
  ASSERT_NE(box, nullptr);
  ASSERT_EQ(box->Messages().size(), 1u);
  EXPECT_NE(ReadMessage(*box, 0).find("under the second key"), std::string::npos);
}

TEST_F(LocalBackendTest, RecipientKeyNotMatchingItsKeyIdIsDataLossEvenWhenCached) {
  class WrongKeyId : public CountingKeyService {
   public:
    using CountingKeyService::CountingKeyService;
    bool tamper = false;
    Result<keys::UserPublic> LookupUser(std::string_view u) override {
      auto user = CountingKeyService::LookupUser(u);
      if (user.ok() && tamper) user->key_id[0] ^= 1;
      return user;
    }
  } keys(*keys_);
  LocalBackend backend(keys, *store_);
  Envelope env{"sender@example.onion", {"alice"}};
  auto first = backend.BeginMessage(env);  // parses and caches alice's key
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE((*first)->Append(AsBytes("Subject: a\r\n\r\nb\r\n")).ok());
  ASSERT_TRUE((*first)->Commit().ok());
  keys.tamper = true;
  auto second = backend.BeginMessage(env);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kDataLoss);
}

TEST_F(LocalBackendTest, SecondOpenWhileOpenIsFailedPrecondition) {
  auto first = OpenOk("bob", "bob-pop3");
  ASSERT_NE(first, nullptr);
  auto second = backend_->Open("bob", Pw("bob-pop3"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
  // Without the password a locked mailbox looks like any failed login.
  auto guess = backend_->Open("bob", Pw("guess"));
  ASSERT_FALSE(guess.ok());
  EXPECT_EQ(guess.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(OpenOk("alice", "alice-pop3"), nullptr);
  first.reset();
  EXPECT_NE(OpenOk("bob", "bob-pop3"), nullptr);
}

TEST_F(LocalBackendTest, WrongPasswordUnknownUserAndSmtpPasswordAreUnauthenticated) {
  for (auto [user, pw] :
       {std::pair{"bob", "wrong"}, std::pair{"nobody", "bob-pop3"}, std::pair{"bob", "bob-smtp"}}) {
    auto box = backend_->Open(user, Pw(pw));
    ASSERT_FALSE(box.ok());
    EXPECT_EQ(box.error().code, ErrorCode::kUnauthenticated) << user << " " << pw;
  }
}

TEST_F(LocalBackendTest, SmtpPasswordAndRecipientChecksGoThroughTheKeyService) {
  EXPECT_TRUE(backend_->VerifySmtpPassword("bob", Pw("bob-smtp")).ok());
  EXPECT_EQ(backend_->VerifySmtpPassword("bob", Pw("bob-pop3")).error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_TRUE(backend_->CheckRecipient("alice", 0, "").ok());
  EXPECT_EQ(backend_->CheckRecipient("carol", 0, "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Deliver({"carol"}, "x").error().code, ErrorCode::kNotFound);
}

TEST_F(LocalBackendTest, MultiRecipientDeliveryGivesEachMailboxItsOwnReadableCopy) {
  const std::string text = "To: both\r\n\r\nshared\r\n";
  ASSERT_TRUE(Deliver({"bob", "alice"}, text).ok());
  for (auto [user, pw] : {std::pair{"bob", "bob-pop3"}, std::pair{"alice", "alice-pop3"}}) {
    auto box = OpenOk(user, pw);
    ASSERT_NE(box, nullptr);
    ASSERT_EQ(box->Messages().size(), 1u) << user;
    EXPECT_EQ(ReadMessage(*box, 0), text);
  }
  EXPECT_EQ(FilesUnder(dir_.path() + "/mbox").size(), 4u);  // 2 messages + 2 lock files
}

TEST_F(LocalBackendTest, WriterDestroyedWithoutCommitLeavesNoFiles) {
  auto before = FilesUnder(dir_.path());
  {
    Envelope env{"", {"bob", "alice"}};
    auto writer = backend_->BeginMessage(env);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(AsBytes(std::string(100000, 'z'))).ok());
  }
  auto after = FilesUnder(dir_.path());
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, before);
  EXPECT_TRUE(FilesUnder(dir_.path() + "/tmp").empty());
  auto box = OpenOk("bob", "bob-pop3");
  ASSERT_NE(box, nullptr);
  EXPECT_TRUE(box->Messages().empty());
}

TEST_F(LocalBackendTest, AppendOrCommitAfterCommitFails) {
  Envelope env{"", {"bob"}};
  auto writer = backend_->BeginMessage(env);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(AsBytes("hi\r\n")).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ((*writer)->Append(AsBytes("more")).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->Commit().error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(LocalBackendTest, RetentionSweepRemovesOldMailOnly) {
  ASSERT_TRUE(Deliver({"bob"}, "old\r\n").ok());
  ASSERT_TRUE(Deliver({"bob"}, "new\r\n").ok());
  std::string old_uid;
  {
    auto box = OpenOk("bob", "bob-pop3");
    ASSERT_NE(box, nullptr);
    old_uid = box->Messages()[0].uid;
  }
  auto mailbox_id = keys_->LookupUser("bob")->mailbox_id;
  const std::string path = store_->MailboxDir(mailbox_id) + "/" + old_uid;
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - 61 * 86400;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  auto removed = store_->SweepExpired(std::chrono::hours(24 * 60));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  auto box = OpenOk("bob", "bob-pop3");
  ASSERT_NE(box, nullptr);
  ASSERT_EQ(box->Messages().size(), 1u);
  EXPECT_EQ(ReadMessage(*box, 0), "new\r\n");
}

TEST_F(LocalBackendTest, StateDirectoryHoldsNoPlaintextIdentifiersOrContent) {
  ASSERT_TRUE(keys_->CreateUser("zebracorn", Pw("zebra-smtp-pw"), Pw("zebra-pop3-pw")).ok());
  const std::string msg =
      "From: <platypus-remote@faraway.onion>\r\nTo: <zebracorn@x.onion>\r\n"
      "Subject: quixotic-walrus-subject\r\n\r\nxylophone-body-marker\r\n";
  ASSERT_TRUE(Deliver({"zebracorn", "bob"}, msg).ok());
  ASSERT_TRUE(Deliver({"zebracorn"}, msg).ok());
  {
    auto box = OpenOk("zebracorn", "zebra-pop3-pw");
    ASSERT_NE(box, nullptr);
    ASSERT_EQ(box->Messages().size(), 2u);
    EXPECT_EQ(ReadMessage(*box, 0), msg);  // the scan below is not vacuous
    const size_t first[] = {0};
    ASSERT_TRUE(box->Expunge(first).ok());
  }
  // At least 5 bytes each, so random ciphertext cannot match by chance.
  const std::vector<std::string> needles = {"zebracorn",
                                            "Zebracorn",
                                            "ZEBRACORN",
                                            "alice",
                                            "platypus",
                                            "faraway.onion",
                                            "quixotic-walrus-subject",
                                            "xylophone",
                                            "zebra-smtp-pw",
                                            "zebra-pop3-pw",
                                            "bob-pop3",
                                            "bob-smtp"};
  auto files = FilesUnder(dir_.path());
  ASSERT_GE(files.size(), 6u);
  for (const std::string& rel : files) {
    auto data = ReadFileBytes(dir_.path() + "/" + rel);
    for (const std::string& n : needles) {
      EXPECT_EQ(rel.find(n), std::string::npos) << n << " in name " << rel;
      EXPECT_EQ(std::search(data.begin(), data.end(), n.begin(), n.end()), data.end())
          << n << " in contents of " << rel;
    }
  }
}

}  // namespace
}  // namespace onionmail::mail
