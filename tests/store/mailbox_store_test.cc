// Tests for store/mailbox_store.{h,cc}: delivery, listing, locking, deletion
// and the retention sweep.
#include "store/mailbox_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <optional>
#include <thread>

#include "crypto/hex.h"
#include "crypto/random.h"
#include "tests/store/test_util.h"

namespace onionmail::store {
namespace {

using onionmail::testing::Bytes;
using onionmail::testing::FilesUnder;
using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

const std::string kBox = std::string(64, 'a');
const std::string kOtherBox = std::string(64, 'b');

class MailboxStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto k = crypto::InboxPrivateKey::GenerateX25519();
    ASSERT_TRUE(k.ok());
    key_.emplace(std::move(*k));
  }
  static void TearDownTestSuite() { key_.reset(); }

  MailboxStoreTest() : store_(dir_.path()) {}

  DataKeyUnwrapper Unwrap() {
    return [](std::span<const uint8_t> w) { return key_->Unwrap(w); };
  }

  std::string Deliver(const std::string& box, const std::string& text) {
    return DeliverTo(store_, box, text);
  }
  std::string DeliverTo(MailboxStore& store, const std::string& box, const std::string& text) {
    auto m = store.BeginMessage(box, key_->Public());
    EXPECT_TRUE(m.ok());
    EXPECT_TRUE((*m)->Append(Bytes(text)).ok());
    PendingMessage* all[] = {m->get()};
    EXPECT_TRUE(CommitAll(all).ok());
    return (*m)->uid();
  }

  std::string ReadAll(const MailboxLock& lock, const std::string& uid) {
    std::string out;
    auto r = store_.Read(lock, uid, Unwrap(), [&out](std::span<const uint8_t> b) -> Result<void> {
      out.append(b.begin(), b.end());
      return Ok();
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return out;
  }

  void Age(const std::string& path, int64_t seconds) {
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - seconds;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }

  static std::optional<crypto::InboxPrivateKey> key_;
  TempDir dir_;
  MailboxStore store_;
};

std::optional<crypto::InboxPrivateKey> MailboxStoreTest::key_;

TEST_F(MailboxStoreTest, DeliveredMessagesAreListedInArrivalOrderAndReadBack) {
  std::string u1 = Deliver(kBox, "first message");
  std::string u2 = Deliver(kBox, "second, longer message");
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  auto list = store_.List(**lock, Unwrap());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].uid, u1);
  EXPECT_EQ((*list)[0].meta.size, 13u);
  EXPECT_EQ((*list)[1].uid, u2);
  EXPECT_EQ((*list)[1].meta.size, 22u);
  EXPECT_EQ(ReadAll(**lock, u2), "second, longer message");
  EXPECT_TRUE(ValidMessageUid(u1));
  EXPECT_EQ(onionmail::testing::ModeOf(store_.MailboxDir(kBox)), 0700u);
  EXPECT_EQ(onionmail::testing::ModeOf(store_.MailboxDir(kBox) + "/" + u1), 0600u);
}

TEST_F(MailboxStoreTest, SecondLockOfSameMailboxIsFailedPreconditionUntilReleased) {
  auto first = store_.Lock(kBox);
  ASSERT_TRUE(first.ok());
  auto second = store_.Lock(kBox);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(store_.Lock(kOtherBox).ok());
  first->reset();
  EXPECT_TRUE(store_.Lock(kBox).ok());
}

TEST_F(MailboxStoreTest, MalformedMailboxIdsAndUidsAreRefused) {
  EXPECT_FALSE(store_.Lock("../etc").ok());
  EXPECT_FALSE(store_.BeginMessage(std::string(64, 'G'), key_->Public()).ok());
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  auto r = store_.Read(**lock, "../../server.key", Unwrap(), [](auto) { return Ok(); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store_.Delete(**lock, "lock").ok());
}

TEST_F(MailboxStoreTest, PendingMessageDestroyedWithoutCommitLeavesNoFile) {
  {
    auto m = store_.BeginMessage(kBox, key_->Public());
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->Append(Bytes("never committed")).ok());
    EXPECT_EQ(FilesUnder(dir_.path() + "/tmp").size(), 1u);
  }
  EXPECT_TRUE(FilesUnder(dir_.path() + "/tmp").empty());
  EXPECT_TRUE(FilesUnder(store_.MailboxDir(kBox)).empty());
}

TEST_F(MailboxStoreTest, CommitAllPublishesEveryMailboxAndLeavesNoTemp) {
  auto a = store_.BeginMessage(kBox, key_->Public());
  auto b = store_.BeginMessage(kOtherBox, key_->Public());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Append(Bytes("same")).ok());
  ASSERT_TRUE((*b)->Append(Bytes("same")).ok());
  PendingMessage* all[] = {a->get(), b->get()};
  ASSERT_TRUE(CommitAll(all).ok());
  EXPECT_TRUE(FilesUnder(dir_.path() + "/tmp").empty());
  EXPECT_EQ(FilesUnder(store_.MailboxDir(kBox)).size(), 1u);
  EXPECT_EQ(FilesUnder(store_.MailboxDir(kOtherBox)).size(), 1u);
  EXPECT_FALSE(CommitAll(all).ok());  // not twice
}

TEST_F(MailboxStoreTest, CommitAllThatFailsLeavesNothingVisible) {
  auto a = store_.BeginMessage(kBox, key_->Public());
  auto b = store_.BeginMessage(kOtherBox, key_->Public());
  ASSERT_TRUE(a.ok() && b.ok());
  // Make the second rename impossible: its mailbox directory disappears.
  ASSERT_EQ(::rmdir(store_.MailboxDir(kOtherBox).c_str()), 0);
  PendingMessage* all[] = {a->get(), b->get()};
  ASSERT_FALSE(CommitAll(all).ok());
  a->reset();
  b->reset();
  EXPECT_TRUE(FilesUnder(store_.MailboxDir(kBox)).empty());
  EXPECT_TRUE(FilesUnder(dir_.path() + "/tmp").empty());
}

TEST_F(MailboxStoreTest, DeleteRemovesOnlyThatMessage) {
  std::string u1 = Deliver(kBox, "one");
  std::string u2 = Deliver(kBox, "two");
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(store_.Delete(**lock, u1).ok());
  auto list = store_.List(**lock, Unwrap());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].uid, u2);
}

TEST_F(MailboxStoreTest, DeleteManyRemovesExactlyTheNamedMessages) {
  std::string u1 = Deliver(kBox, "one");
  std::string u2 = Deliver(kBox, "two");
  std::string u3 = Deliver(kBox, "three");
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  const std::vector<std::string> doomed = {u1, u3};
  ASSERT_TRUE(store_.DeleteMany(**lock, doomed).ok());
  auto list = store_.List(**lock, Unwrap());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].uid, u2);
}

TEST_F(MailboxStoreTest, DeleteManyWithMalformedUidIsNotFoundButDeletesTheValidOnes) {
  std::string u1 = Deliver(kBox, "one");
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  const std::vector<std::string> uids = {"../lock", u1};
  auto r = store_.DeleteMany(**lock, uids);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  auto list = store_.List(**lock, Unwrap());
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(MailboxStoreTest, DeletedMessagesBecomeSparesThatLaterMessagesAreWrittenOver) {
  const std::string big(150000, 'B');  // several segments: the spare is larger than "short"
  const std::string u1 = Deliver(kBox, big);
  const std::string u2 = Deliver(kBox, big);
  const std::string p1 = store_.MailboxDir(kBox) + "/" + u1;
  const std::vector<uint8_t> ciphertext = onionmail::testing::ReadFileBytes(p1);
  struct stat before;
  ASSERT_EQ(::stat(p1.c_str(), &before), 0);
  {
    auto lock = store_.Lock(kBox);
    ASSERT_TRUE(lock.ok());
    const std::vector<std::string> doomed = {u1, u2};
    ASSERT_TRUE(store_.DeleteMany(**lock, doomed).ok());
  }
  const std::string spare_dir = dir_.path() + "/spare";
  std::vector<std::string> spares;
  for (const std::string& name : FilesUnder(spare_dir)) spares.push_back(spare_dir + "/" + name);
  ASSERT_EQ(spares.size(), 2u);
  bool found = false;
  for (const std::string& s : spares) {
    struct stat st;
    ASSERT_EQ(::stat(s.c_str(), &st), 0);
    if (st.st_ino != before.st_ino) continue;
    found = true;
    auto bytes = onionmail::testing::ReadFileBytes(s);
    ASSERT_EQ(bytes.size(), ciphertext.size());
    EXPECT_NE(bytes, ciphertext);  // overwritten before it was kept
  }
  EXPECT_TRUE(found);

  // The next delivery is written over a spare, cut to its own length, and
  // reads back exactly; the other spare stays.
  const std::string u3 = Deliver(kBox, "short");
  const std::string p3 = store_.MailboxDir(kBox) + "/" + u3;
  struct stat after;
  ASSERT_EQ(::stat(p3.c_str(), &after), 0);
  EXPECT_LT(after.st_size, before.st_size);
  EXPECT_EQ(FilesUnder(spare_dir).size(), 1u);
  bool reused = false;
  for (const std::string& s : spares) reused = reused || ::access(s.c_str(), F_OK) != 0;
  EXPECT_TRUE(reused);
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  auto list = store_.List(**lock, Unwrap());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(ReadAll(**lock, u3), "short");
  EXPECT_TRUE(FilesUnder(dir_.path() + "/tmp").empty());
}

TEST_F(MailboxStoreTest, BelowItsReserveTheStoreGivesSparesBackAndDeletesForGood) {
  const std::string spare_dir = dir_.path() + "/spare";
  const std::string big(150000, 'B');
  const std::string u1 = Deliver(kBox, big);
  const std::string u2 = Deliver(kBox, big);
  {
    auto lock = store_.Lock(kBox);
    ASSERT_TRUE(lock.ok());
    const std::vector<std::string> doomed = {u1};
    ASSERT_TRUE(store_.DeleteMany(**lock, doomed).ok());
  }
  ASSERT_EQ(FilesUnder(spare_dir).size(), 1u);  // kept for reuse while there is room
  {
    SpareFiles stock(spare_dir);
    EXPECT_EQ(stock.Stock(3, [] { return true; }),
              2u);  // up to 3 in all; empty ones hold no blocks
  }
  EXPECT_TRUE(store_.CheckFreeSpace().ok());  // no reserve: nothing given back

  // The same state with a reserve no disk has: RCPT would get 452 4.3.1.
  MailboxStore low(dir_.path(), std::numeric_limits<uint64_t>::max() / 2);
  auto r = low.CheckFreeSpace();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  // The written-over spare went back to the filesystem; the empty ones stay.
  for (const std::string& name : FilesUnder(spare_dir)) {
    struct stat st;
    ASSERT_EQ(::stat((spare_dir + "/" + name).c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 0) << name;
  }
  EXPECT_EQ(FilesUnder(spare_dir).size(), 2u);
  // Deleting now frees the blocks instead of keeping the file as a spare.
  auto lock = low.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  const std::vector<std::string> doomed = {u2};
  ASSERT_TRUE(low.DeleteMany(**lock, doomed).ok());
  EXPECT_EQ(FilesUnder(spare_dir).size(), 2u);
  EXPECT_TRUE(FilesUnder(low.MailboxDir(kBox)).size() == 1u);  // only the lock file
}

TEST_F(MailboxStoreTest, AMailboxAtItsQuotaIsFullUntilItsUserDeletesMail) {
  const std::string text(40000, 'Q');
  const uint64_t one = [&] {
    const std::string probe_dir = dir_.path() + "/probe";
    EXPECT_EQ(::mkdir(probe_dir.c_str(), 0700), 0);
    MailboxStore probe(probe_dir);
    DeliverTo(probe, kOtherBox, text);
    return *MailboxUsage::Count(probe.MailboxDir(kOtherBox));
  }();
  ASSERT_GT(one, text.size());
  // Room for two such messages and a bit: the third RCPT is refused.
  MailboxStore quota(dir_.path(), 0, 2 * one + 1);
  auto deliver = [&]() {
    EXPECT_TRUE(quota.CheckQuota(kBox).ok());
    return DeliverTo(quota, kBox, text);
  };
  const std::string u1 = deliver();
  deliver();  // 2 * one: still below
  EXPECT_TRUE(quota.CheckQuota(kBox).ok());
  deliver();  // the store counts what it publishes: over now
  auto r = quota.CheckQuota(kBox);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kMailboxFull);
  EXPECT_TRUE(quota.CheckQuota(kOtherBox).ok());  // one user's quota, not everyone's
  EXPECT_EQ(quota.CheckQuota("../" + kBox.substr(3)).error().code, ErrorCode::kInvalidArgument);
  {
    auto lock = quota.Lock(kBox);
    ASSERT_TRUE(lock.ok());
    const std::vector<std::string> doomed = {u1};
    ASSERT_TRUE(quota.DeleteMany(**lock, doomed).ok());
  }
  EXPECT_TRUE(quota.CheckQuota(kBox).ok());  // counted again after the deletion
  MailboxStore off(dir_.path(), 0, 0);
  EXPECT_TRUE(off.CheckQuota(kBox).ok());
}

TEST_F(MailboxStoreTest, TheRetentionSweepMakesRoomUnderTheQuotaAtOnce) {
  MailboxStore quota(dir_.path(), 0, 1);  // one byte: any message fills it
  EXPECT_TRUE(quota.CheckQuota(kBox).ok());
  const std::string uid = DeliverTo(quota, kBox, "old mail");
  EXPECT_EQ(quota.CheckQuota(kBox).error().code, ErrorCode::kMailboxFull);
  Age(quota.MailboxDir(kBox) + "/" + uid, 3 * 24 * 3600);
  auto removed = quota.SweepExpired(std::chrono::hours(24));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_TRUE(quota.CheckQuota(kBox).ok());  // not the count kept from before the sweep
}

TEST_F(MailboxStoreTest, ADeliveryIsWrittenIntoAStockedEmptySpare) {
  const std::string spare_dir = dir_.path() + "/spare";
  {
    SpareFiles stock(spare_dir);  // what the key role's stocker does while idle
    ASSERT_EQ(stock.Stock(1, [] { return true; }), 1u);
  }
  const auto stocked = FilesUnder(spare_dir);
  ASSERT_EQ(stocked.size(), 1u);
  struct stat spare;
  ASSERT_EQ(::stat((spare_dir + "/" + stocked[0]).c_str(), &spare), 0);
  const std::string body(70000, 'S');
  const std::string uid = Deliver(kBox, body);
  struct stat delivered;
  ASSERT_EQ(::stat((store_.MailboxDir(kBox) + "/" + uid).c_str(), &delivered), 0);
  EXPECT_EQ(delivered.st_ino, spare.st_ino);
  EXPECT_GT(delivered.st_size, 70000);
  EXPECT_TRUE(FilesUnder(spare_dir).empty());
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(ReadAll(**lock, uid), body);
  EXPECT_TRUE(FilesUnder(dir_.path() + "/tmp").empty());
}

TEST_F(MailboxStoreTest, TheStockerWaitsWhileAMailboxIsOpenedThenStocksHalfThePool) {
  const std::string spare_dir = dir_.path() + "/spare";
  std::thread stocker([this] { store_.RunSpareStocker(); });
  // A POP3-like Lock every 5 ms for 0.4 s: never kSpareStockIdle without one.
  for (int i = 0; i < 80; ++i) {
    ASSERT_TRUE(store_.Lock(kBox).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(FilesUnder(spare_dir).empty());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (FilesUnder(spare_dir).size() < SpareFiles::kStockFiles &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  store_.StopSpareStocker();
  stocker.join();
  EXPECT_EQ(FilesUnder(spare_dir).size(), SpareFiles::kStockFiles);
}

TEST_F(MailboxStoreTest, ASpareReplacedByASymlinkIsNeverWrittenThrough) {
  const std::string u1 = Deliver(kBox, "one");
  {
    auto lock = store_.Lock(kBox);
    ASSERT_TRUE(lock.ok());
    const std::vector<std::string> doomed = {u1};
    ASSERT_TRUE(store_.DeleteMany(**lock, doomed).ok());
  }
  auto spares = FilesUnder(dir_.path() + "/spare");
  ASSERT_EQ(spares.size(), 1u);
  spares[0] = dir_.path() + "/spare/" + spares[0];
  const std::string target = dir_.path() + "/target";
  WriteFileBytes(target, Bytes("untouched"));
  ASSERT_EQ(::unlink(spares[0].c_str()), 0);
  ASSERT_EQ(::symlink(target.c_str(), spares[0].c_str()), 0);
  const std::string u2 = Deliver(kBox, "two");
  EXPECT_EQ(onionmail::testing::ReadFileBytes(target), Bytes("untouched"));
  // The symlink was taken like a spare, refused when opened, and removed.
  struct stat st;
  EXPECT_NE(::lstat(spares[0].c_str(), &st), 0);
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/tmp"));
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(ReadAll(**lock, u2), "two");
}

TEST_F(MailboxStoreTest, UnreadableMessageFileIsSkippedInListing) {
  std::string good = Deliver(kBox, "good");
  WriteFileBytes(store_.MailboxDir(kBox) + "/" + std::string(32, 'c'), Bytes("garbage"));
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  auto list = store_.List(**lock, Unwrap());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].uid, good);
}

TEST_F(MailboxStoreTest, DeleteMailboxRemovesDirectoryButNotWhileLocked) {
  Deliver(kBox, "bye");
  {
    auto lock = store_.Lock(kBox);
    ASSERT_TRUE(lock.ok());
    auto busy = store_.DeleteMailbox(kBox);
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().code, ErrorCode::kFailedPrecondition);
  }
  ASSERT_TRUE(store_.DeleteMailbox(kBox).ok());
  struct stat st;
  EXPECT_NE(::lstat(store_.MailboxDir(kBox).c_str(), &st), 0);
  EXPECT_TRUE(store_.DeleteMailbox(kBox).ok());  // idempotent
}

TEST_F(MailboxStoreTest, SweepDeletesOldMessagesAndKeepsNewOnes) {
  std::string old_uid = Deliver(kBox, "old");
  std::string new_uid = Deliver(kBox, "new");
  Age(store_.MailboxDir(kBox) + "/" + old_uid, 10 * 86400);
  Age(store_.MailboxDir(kBox) + "/" + new_uid, 2 * 86400);
  auto removed = store_.SweepExpired(std::chrono::hours(24 * 7));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  auto lock = store_.Lock(kBox);
  ASSERT_TRUE(lock.ok());
  auto list = store_.List(**lock, Unwrap());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].uid, new_uid);
}

TEST_F(MailboxStoreTest, SweepSkipsLockedMailboxes) {
  std::string old_uid = Deliver(kBox, "old");
  Age(store_.MailboxDir(kBox) + "/" + old_uid, 10 * 86400);
  {
    auto lock = store_.Lock(kBox);
    ASSERT_TRUE(lock.ok());
    auto removed = store_.SweepExpired(std::chrono::hours(24));
    ASSERT_TRUE(removed.ok());
    EXPECT_EQ(*removed, 0u);
  }
  auto removed = store_.SweepExpired(std::chrono::hours(24));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
}

TEST_F(MailboxStoreTest, SweepRemovesStaleTempFilesOnly) {
  ASSERT_TRUE(EnsurePrivateDir(dir_.path() + "/tmp").ok());
  const std::string stale = dir_.path() + "/tmp/stale";
  const std::string fresh = dir_.path() + "/tmp/fresh";
  WriteFileBytes(stale, Bytes("x"));
  WriteFileBytes(fresh, Bytes("y"));
  Age(stale, 2 * 86400);
  ASSERT_TRUE(store_.SweepExpired(std::chrono::hours(24 * 60)).ok());
  EXPECT_NE(::access(stale.c_str(), F_OK), 0);
  EXPECT_EQ(::access(fresh.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace onionmail::store
