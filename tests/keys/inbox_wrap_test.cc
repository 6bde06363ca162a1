// The inbox-key wrap of a user record, as docs/store.md describes it:
//   version 2: wrap key = HKDF(P || InboxWrapSecret(salt || P), "onionmail inbox-key wrap v3")
//   version 1: wrap key = HKDF(P || InboxWrapSecret(salt),      "onionmail inbox-key wrap v2")
// with P = Argon2id(POP3 password, salt). Records are built here from the
// documented formulas with public building blocks only, so the tests check the
// service against the documentation: new records are version 2, every password
// guess gives the device a different input, records of version 1 still open
// and become version 2 at the user's next POP3 login (under the records lock,
// never undoing a concurrent change) or POP3 password change.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/argon2id.h"
#include "crypto/hex.h"
#include "crypto/inbox_key.h"
#include "crypto/kdf.h"
#include "hsm/forwarding_key_store.h"
#include "keys/local_key_service.h"
#include "keys/user_record.h"
#include "store/file_lock.h"
#include "tests/base/capture_stderr.h"
#include "tests/keys/record_by_the_book.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::CaptureStderr;
using onionmail::testing::TempDir;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::vector<uint8_t> Copy(const SecretBytes& s) {
  auto b = s.Reveal(SecretAccess::Grant());
  return {b.begin(), b.end()};
}

constexpr crypto::Argon2Params kParams{1, 8192, 1};

// A real file key store that records what the device is asked.
class RecordingKeyStore : public hsm::ForwardingKeyStore {
 public:
  explicit RecordingKeyStore(std::unique_ptr<hsm::KeyStore> inner)
      : ForwardingKeyStore(*inner), inner_(std::move(inner)) {}
  Result<SecretBytes> InboxWrapSecret(std::span<const uint8_t> input) override {
    inputs.emplace_back(input.begin(), input.end());
    auto secret = inner_->InboxWrapSecret(input);
    if (after_next_wrap) {
      auto hook = std::move(after_next_wrap);  // once
      after_next_wrap = nullptr;
      hook();
    }
    return secret;
  }
  std::vector<std::vector<uint8_t>> inputs;
  // Runs once, right after the next device operation (another process's
  // change racing with a login, in the tests below).
  std::function<void()> after_next_wrap;

 private:
  std::unique_ptr<hsm::KeyStore> inner_;
};

class InboxWrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    store_ = std::make_unique<RecordingKeyStore>(std::move(*ks));
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = kParams;
    o.pop3_unlock_cache_ttl = std::chrono::seconds(0);
    service_ = std::make_unique<LocalKeyService>(*store_, o);
  }

  std::string RecordPath(std::string_view user) {
    auto digest = store_->KeyedHash("user-record", Bytes(user));
    EXPECT_TRUE(digest.ok());
    return dir_.path() + "/users/" + crypto::ToHex(*digest);
  }
  std::string RecordName(std::string_view user) {
    std::string path = RecordPath(user);
    return path.substr(path.rfind('/') + 1);
  }

  UserRecord ReadRecord(std::string_view user) {
    std::string path = RecordPath(user);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << path;
    std::vector<uint8_t> sealed(65536);
    ssize_t n = ::read(fd, sealed.data(), sealed.size());
    ::close(fd);
    EXPECT_GT(n, 0);
    sealed.resize(static_cast<size_t>(n));
    auto plain = store_->OpenRecord(sealed, Bytes(RecordName(user)));
    EXPECT_TRUE(plain.ok());
    auto record = DecodeUserRecord(plain->Reveal(SecretAccess::Grant()));
    EXPECT_TRUE(record.ok());
    return *record;
  }

  // Writes a record for `user` made with the documented formula of `version`
  // (tests/keys/record_by_the_book.h); returns the inbox key's id.
  std::array<uint8_t, 32> WriteRecordByTheBook(std::string_view user, uint8_t version,
                                               const SecretBytes& smtp, const SecretBytes& pop3) {
    auto record = test_records::MakeRecordByTheBook(*store_, user, version, kParams, smtp, pop3);
    EXPECT_TRUE(record.ok()) << record.error().message;
    EXPECT_EQ(record->record_name, RecordName(user));
    EXPECT_TRUE(test_records::WriteRecordFile(dir_.path(), *record).ok());
    store_->inputs.clear();
    return record->key_id;
  }

  TempDir dir_;
  std::unique_ptr<RecordingKeyStore> store_;
  std::unique_ptr<LocalKeyService> service_;
};

TEST_F(InboxWrapTest, NewUsersGetVersionTwoRecords) {
  ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  EXPECT_EQ(ReadRecord("bob").version, 2);
  auto version = service_->RecordVersion("bob");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2);
  EXPECT_EQ(service_->RecordVersion("nobody").error().code, ErrorCode::kNotFound);
}

TEST_F(InboxWrapTest, TheDeviceSeesTheSaltAndThePasswordFactor) {
  ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  const UserRecord r = ReadRecord("bob");
  store_->inputs.clear();
  ASSERT_TRUE(service_->OpenInbox("bob", Pw("pop3-secret")).ok());
  ASSERT_EQ(store_->inputs.size(), 1u);
  auto p = crypto::Argon2idDerive(Pw("pop3-secret"), r.pop3_salt, r.pop3_params);
  ASSERT_TRUE(p.ok());
  std::vector<uint8_t> expected(r.pop3_salt.begin(), r.pop3_salt.end());
  auto pb = Copy(*p);
  expected.insert(expected.end(), pb.begin(), pb.end());
  EXPECT_EQ(store_->inputs[0], expected);
}

TEST_F(InboxWrapTest, EveryPasswordGuessNeedsItsOwnDeviceOperation) {
  ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  store_->inputs.clear();
  for (std::string_view guess : {"guess-1", "guess-2", "pop3-secret"}) {
    (void)service_->OpenInbox("bob", Pw(guess));
  }
  ASSERT_EQ(store_->inputs.size(), 3u);
  EXPECT_NE(store_->inputs[0], store_->inputs[1]);
  EXPECT_NE(store_->inputs[1], store_->inputs[2]);
  EXPECT_NE(store_->inputs[0], store_->inputs[2]);
}

TEST_F(InboxWrapTest, ARecordBuiltFromTheDocumentedVersionTwoFormulaOpens) {
  auto key_id = WriteRecordByTheBook("carol", 2, Pw("s"), Pw("p"));
  auto pub = service_->LookupUser("carol");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->key_id, key_id);
  store_->inputs.clear();
  auto inbox = service_->OpenInbox("carol", Pw("p"));
  ASSERT_TRUE(inbox.ok()) << inbox.error().message;
  EXPECT_EQ(store_->inputs.size(), 1u);
  EXPECT_EQ(store_->inputs[0].size(), 48u);
  EXPECT_FALSE(service_->OpenInbox("carol", Pw("q")).ok());
}

TEST_F(InboxWrapTest, VersionOneRecordsOpenWithTheSaltAloneAtTheDevice) {
  WriteRecordByTheBook("dave", 1, Pw("smtp-old"), Pw("pop3-old"));
  EXPECT_FALSE(service_->OpenInbox("dave", Pw("pop3-wrong")).ok());
  EXPECT_EQ(ReadRecord("dave").version, 1);  // a failed login moves nothing
  store_->inputs.clear();
  auto inbox = service_->OpenInbox("dave", Pw("pop3-old"));
  ASSERT_TRUE(inbox.ok()) << inbox.error().message;
  ASSERT_GE(store_->inputs.size(), 1u);
  EXPECT_EQ(store_->inputs[0].size(), 16u);  // the salt alone
  EXPECT_TRUE(service_->VerifySmtpPassword("dave", Pw("smtp-old")).ok());
}

TEST_F(InboxWrapTest, AnSmtpPasswordChangeKeepsVersionOne) {
  WriteRecordByTheBook("dave", 1, Pw("smtp-old"), Pw("pop3-old"));
  ASSERT_TRUE(service_->ChangeSmtpPassword("dave", Pw("smtp-new")).ok());
  EXPECT_EQ(ReadRecord("dave").version, 1);
  auto version = service_->RecordVersion("dave");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 1);
  EXPECT_TRUE(service_->VerifySmtpPassword("dave", Pw("smtp-new")).ok());
}

TEST_F(InboxWrapTest, TheFirstPop3LoginMovesAVersionOneRecordToVersionTwo) {
  auto key_id = WriteRecordByTheBook("erin", 1, Pw("smtp"), Pw("pop3"));
  const UserRecord before = ReadRecord("erin");
  const uint64_t kdf_runs = service_->kdf_runs();
  ASSERT_TRUE(service_->OpenInbox("erin", Pw("pop3")).ok());
  EXPECT_EQ(service_->kdf_runs(), kdf_runs + 1);  // P served the open and the new wrap
  // One device operation opened the old wrap (salt), one made the new (salt || P).
  ASSERT_EQ(store_->inputs.size(), 2u);
  EXPECT_EQ(store_->inputs[0].size(), 16u);
  EXPECT_EQ(store_->inputs[1].size(), 48u);

  const UserRecord after = ReadRecord("erin");
  EXPECT_EQ(after.version, 2);
  EXPECT_EQ(after.pop3_salt, before.pop3_salt);
  EXPECT_EQ(after.key_id, key_id);
  EXPECT_EQ(after.smtp_hash, before.smtp_hash);
  EXPECT_NE(after.encrypted_private_key, before.encrypted_private_key);
  // The new wrap is the documented version-2 formula.
  auto p = crypto::Argon2idDerive(Pw("pop3"), after.pop3_salt, after.pop3_params);
  ASSERT_TRUE(p.ok());
  std::vector<uint8_t> device_input(after.pop3_salt.begin(), after.pop3_salt.end());
  auto pb = Copy(*p);
  device_input.insert(device_input.end(), pb.begin(), pb.end());
  EXPECT_EQ(store_->inputs[1], device_input);
  auto d = store_->InboxWrapSecret(device_input);
  ASSERT_TRUE(d.ok());
  std::vector<uint8_t> ikm = pb;
  auto db = Copy(*d);
  ikm.insert(ikm.end(), db.begin(), db.end());
  auto wrap = crypto::HkdfSha256(SecretBytes(SecretAccess::Grant(), std::span(ikm)), {},
                                 "onionmail inbox-key wrap v3", 32);
  ASSERT_TRUE(wrap.ok());
  EXPECT_TRUE(
      crypto::AeadOpen(*wrap, after.encrypted_private_key, PrivateKeyAad(after.key_id)).ok());

  // Later logins are plain version-2 logins; the old password alone opens it.
  store_->inputs.clear();
  ASSERT_TRUE(service_->OpenInbox("erin", Pw("pop3")).ok());
  ASSERT_EQ(store_->inputs.size(), 1u);
  EXPECT_EQ(store_->inputs[0].size(), 48u);
  EXPECT_FALSE(service_->OpenInbox("erin", Pw("pop3-wrong")).ok());
  EXPECT_TRUE(service_->VerifySmtpPassword("erin", Pw("smtp")).ok());
}

TEST_F(InboxWrapTest, ABusyRecordsLockLeavesVersionOneForALaterLogin) {
  WriteRecordByTheBook("fay", 1, Pw("smtp"), Pw("pop3"));
  {
    auto held = store::FileLock::Acquire(dir_.path() + "/users.lock", store::FileLock::Wait::kTry);
    ASSERT_TRUE(held.ok());
    ASSERT_TRUE(service_->OpenInbox("fay", Pw("pop3")).ok());  // the login does not wait
    EXPECT_EQ(ReadRecord("fay").version, 1);
  }
  ASSERT_TRUE(service_->OpenInbox("fay", Pw("pop3")).ok());
  EXPECT_EQ(ReadRecord("fay").version, 2);
}

TEST_F(InboxWrapTest, AFailedRewriteIsLoggedAndTheLoginGoesOnWithVersionOne) {
  WriteRecordByTheBook("fay", 1, Pw("smtp"), Pw("pop3"));
  // <state>/tmp, where records are written before their rename, is a file.
  int fd = ::open((dir_.path() + "/tmp").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const std::string log =
      CaptureStderr([&] { EXPECT_TRUE(service_->OpenInbox("fay", Pw("pop3")).ok()); });
  EXPECT_NE(log.find("a user record stays version 1 for now: "), std::string::npos) << log;
  EXPECT_EQ(log.find("pop3"), std::string::npos) << log;  // no password in the log
  EXPECT_EQ(ReadRecord("fay").version, 1);
  ASSERT_EQ(::unlink((dir_.path() + "/tmp").c_str()), 0);
  ASSERT_TRUE(service_->OpenInbox("fay", Pw("pop3")).ok());
  EXPECT_EQ(ReadRecord("fay").version, 2);
}

TEST_F(InboxWrapTest, AnUnusableRecordsLockIsLoggedAndTheLoginGoesOn) {
  WriteRecordByTheBook("fay", 1, Pw("smtp"), Pw("pop3"));
  ASSERT_EQ(::symlink("elsewhere", (dir_.path() + "/users.lock").c_str()), 0);
  const std::string log =
      CaptureStderr([&] { EXPECT_TRUE(service_->OpenInbox("fay", Pw("pop3")).ok()); });
  EXPECT_NE(log.find("a user record stays version 1 for now: cannot open lock"), std::string::npos)
      << log;
  EXPECT_EQ(ReadRecord("fay").version, 1);
  // Admin calls refuse to write without the lock rather than race.
  EXPECT_FALSE(service_->ChangeSmtpPassword("fay", Pw("smtp-new")).ok());
  EXPECT_TRUE(service_->VerifySmtpPassword("fay", Pw("smtp")).ok());
}

TEST_F(InboxWrapTest, AnSmtpPasswordChangedDuringTheLoginIsKept) {
  WriteRecordByTheBook("gus", 1, Pw("smtp-old"), Pw("pop3"));
  LocalKeyService::Options o;
  o.state_dir = dir_.path();
  o.kdf = kParams;
  LocalKeyService ctl(*store_, o);  // as onionmailctl, on the same state
  store_->after_next_wrap = [&] {
    EXPECT_TRUE(ctl.ChangeSmtpPassword("gus", Pw("smtp-new")).ok());
  };
  ASSERT_TRUE(service_->OpenInbox("gus", Pw("pop3")).ok());
  EXPECT_EQ(ReadRecord("gus").version, 2);
  EXPECT_TRUE(service_->VerifySmtpPassword("gus", Pw("smtp-new")).ok());
  EXPECT_FALSE(service_->VerifySmtpPassword("gus", Pw("smtp-old")).ok());
  EXPECT_TRUE(service_->OpenInbox("gus", Pw("pop3")).ok());
}

TEST_F(InboxWrapTest, APop3PasswordChangedDuringTheLoginIsNotUndone) {
  auto key_id = WriteRecordByTheBook("hal", 1, Pw("smtp"), Pw("pop3-old"));
  LocalKeyService::Options o;
  o.state_dir = dir_.path();
  o.kdf = kParams;
  LocalKeyService ctl(*store_, o);
  store_->after_next_wrap = [&] {
    EXPECT_TRUE(ctl.ChangePop3Password("hal", Pw("pop3-old"), Pw("pop3-new")).ok());
  };
  ASSERT_TRUE(service_->OpenInbox("hal", Pw("pop3-old")).ok());  // opened before the change
  EXPECT_EQ(ReadRecord("hal").version, 2);
  EXPECT_FALSE(service_->OpenInbox("hal", Pw("pop3-old")).ok());
  EXPECT_TRUE(service_->OpenInbox("hal", Pw("pop3-new")).ok());
  EXPECT_EQ(ReadRecord("hal").key_id, key_id);
}

TEST_F(InboxWrapTest, AdminChangesWaitForTheRecordsLock) {
  WriteRecordByTheBook("ivy", 1, Pw("smtp-old"), Pw("pop3"));
  std::atomic<bool> done{false};
  std::thread change;
  {
    auto held = store::FileLock::Acquire(dir_.path() + "/users.lock", store::FileLock::Wait::kTry);
    ASSERT_TRUE(held.ok());
    change = std::thread([&] {
      EXPECT_TRUE(service_->ChangeSmtpPassword("ivy", Pw("smtp-new")).ok());
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(done.load());
  }
  change.join();
  EXPECT_TRUE(done.load());
  EXPECT_TRUE(service_->VerifySmtpPassword("ivy", Pw("smtp-new")).ok());
}

TEST_F(InboxWrapTest, APop3PasswordChangeOfAVersionOneRecordWritesVersionTwo) {
  auto key_id = WriteRecordByTheBook("dave", 1, Pw("smtp"), Pw("pop3-old"));
  ASSERT_TRUE(service_->ChangePop3Password("dave", Pw("pop3-old"), Pw("pop3-new")).ok());
  EXPECT_EQ(ReadRecord("dave").version, 2);
  auto version = service_->RecordVersion("dave");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2);
  store_->inputs.clear();
  auto again = service_->OpenInbox("dave", Pw("pop3-new"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  // The same inbox key (OpenInbox checks the private key against the record's
  // key id): mail stored before the change stays readable.
  auto pub = service_->LookupUser("dave");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->key_id, key_id);
  ASSERT_EQ(store_->inputs.size(), 1u);
  EXPECT_EQ(store_->inputs[0].size(), 48u);
  EXPECT_FALSE(service_->OpenInbox("dave", Pw("pop3-old")).ok());
  EXPECT_TRUE(service_->VerifySmtpPassword("dave", Pw("smtp")).ok());
}

TEST_F(InboxWrapTest, TheCensusCountsVersionOneAndUnreadableRecords) {
  auto empty = service_->CensusRecords();  // no users/ yet
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->version1, 0u);
  ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp"), Pw("pop3")).ok());
  WriteRecordByTheBook("dave", 1, Pw("smtp"), Pw("pop3"));
  WriteRecordByTheBook("erin", 1, Pw("smtp"), Pw("pop3"));
  int fd = ::open((dir_.path() + "/users/not-a-record").c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto census = service_->CensusRecords();
  ASSERT_TRUE(census.ok()) << census.error().message;
  EXPECT_EQ(census->version1, 2u);
  EXPECT_EQ(census->unreadable, 0u);

  ASSERT_TRUE(service_->OpenInbox("dave", Pw("pop3")).ok());
  // erin's record, damaged: one byte of its ciphertext flipped.
  const std::string path = RecordPath("erin");
  fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  uint8_t byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, 40), 1);
  byte ^= 0x01;
  ASSERT_EQ(::pwrite(fd, &byte, 1, 40), 1);
  ::close(fd);
  census = service_->CensusRecords();
  ASSERT_TRUE(census.ok()) << census.error().message;
  EXPECT_EQ(census->version1, 0u);
  EXPECT_EQ(census->unreadable, 1u);
}

// docs/store.md, "Test vectors": the inbox-key wrap of a version-2 record with
// the file backend (server.key = R, no master key), computed independently by
// tests/store/gen_store_vectors.py. P stands for the Argon2id output.
TEST(InboxWrapVectorTest, WrapKeyMatchesTheStoreSpecVector) {
  auto hex = [](std::string_view h) { return *crypto::FromHex(h); };
  const auto root = hex("8b9a1e56d2037817d941d5be3e7f0ccbebf773e3c20e00f9dade3dd0e1d4186e");
  const auto salt = hex("25eb0474a50927dab446fd10dc5678b3");
  const auto p = hex("830da8f23214f188b0db445a2d5d3324f340db23da76a8b357acd862738d655a");
  TempDir dir;
  const std::string key_path = dir.path() + "/server.key";
  int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, root.data(), root.size()), 32);
  ::close(fd);
  auto store = hsm::OpenFileKeyStore(key_path);
  ASSERT_TRUE(store.ok()) << store.error().message;

  std::vector<uint8_t> input = salt;
  input.insert(input.end(), p.begin(), p.end());
  auto d = (*store)->InboxWrapSecret(input);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(crypto::ToHex(Copy(*d)),
            "6de4e8a78055610aea18a5386653e8e33333cd0ad485b2746bc6ce63af3b3e02");

  std::vector<uint8_t> ikm = p;
  auto db = Copy(*d);
  ikm.insert(ikm.end(), db.begin(), db.end());
  auto wrap = crypto::HkdfSha256(SecretBytes(SecretAccess::Grant(), std::span(ikm)), {},
                                 "onionmail inbox-key wrap v3", 32);
  ASSERT_TRUE(wrap.ok());
  EXPECT_EQ(crypto::ToHex(Copy(*wrap)),
            "a66cf7aa048fcec3fb21bb67df3c0a6ba143a9f7eb1e2912fa6b99569987588f");

  const auto key_id = hex("9336a50c8333b85a0dc822998ae16b5e470715053c08917bce6236a7b2ebe290");
  std::array<uint8_t, 32> id{};
  std::copy(key_id.begin(), key_id.end(), id.begin());
  auto pkcs8 = crypto::AeadOpen(
      *wrap,
      hex("b0b207979a88453a653ba4b9e56a59616aa3244b1a7c66f1de7fd5984ceaeb93c22ce6ceb45099dfefdc1ee4"
          "5e6da4bc8f948c0d60c5c6ad70b446379fc276236d7c915e535b5ad35ce07482"),
      PrivateKeyAad(id));
  ASSERT_TRUE(pkcs8.ok());
  EXPECT_EQ(crypto::ToHex(Copy(*pkcs8)),
            "302e020100300506032b656e04220420"
            "a8bea24b02c65a5a4fcb88bda8e49ffd04c58c2c6258356e42f4d8c46f8b835e");
}

}  // namespace
}  // namespace onionmail::keys
