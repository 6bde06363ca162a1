// TurnLock (hsm/tpm2/turn_lock.h): the lock file through which the clients
// of a TPM without resource manager take turns, and the id of the last
// connection it records. No TPM needed.
#include "hsm/tpm2/turn_lock.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace onionmail::hsm::tpm2 {
namespace {

class TurnLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/om-turnlock-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path() const { return dir_ + "/tpm2.lock"; }
  std::string dir_;
};

TEST_F(TurnLockTest, OpenCreatesTheFileReadableByItsOwnerOnly) {
  auto lock = TurnLock::Open(Path());
  ASSERT_TRUE(lock.ok()) << lock.error().message;
  struct stat st {};
  ASSERT_EQ(stat(Path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TurnLockTest, OpenInAMissingDirectoryIsUnavailableAndNamesThePath) {
  auto lock = TurnLock::Open(dir_ + "/missing/tpm2.lock");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(lock.error().message.find(dir_ + "/missing/tpm2.lock"), std::string::npos);
}

TEST_F(TurnLockTest, OnlyTheLastRecordedConnectionIsTheLast) {
  auto lock = TurnLock::Open(Path());
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE((*lock)->Lock().ok());
  auto empty = (*lock)->IsLast(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(*empty);  // nobody connected yet, not even "connection 0"
  auto first = TurnLock::NewConnectionId();
  auto second = TurnLock::NewConnectionId();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, 0u);
  EXPECT_NE(*first, *second);
  ASSERT_TRUE((*lock)->Record(*first).ok());
  EXPECT_TRUE(*(*lock)->IsLast(*first));
  EXPECT_FALSE(*(*lock)->IsLast(*second));
  ASSERT_TRUE((*lock)->Record(*second).ok());
  EXPECT_FALSE(*(*lock)->IsLast(*first));
  EXPECT_TRUE(*(*lock)->IsLast(*second));
  (*lock)->Unlock();
}

TEST_F(TurnLockTest, TheRecordIsSharedByEveryOpenOfThePath) {
  auto a = TurnLock::Open(Path());
  auto b = TurnLock::Open(Path());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Lock().ok());
  ASSERT_TRUE((*a)->Record(42).ok());
  (*a)->Unlock();
  ASSERT_TRUE((*b)->Lock().ok());
  EXPECT_TRUE(*(*b)->IsLast(42));
  (*b)->Unlock();
}

TEST_F(TurnLockTest, AShortFileNamesNoConnection) {
  std::ofstream(Path(), std::ios::binary) << "abc";
  auto lock = TurnLock::Open(Path());
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE((*lock)->Lock().ok());
  auto last = (*lock)->IsLast(0x0000000000616263);
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(*last);
  (*lock)->Unlock();
}

TEST_F(TurnLockTest, ASecondOpenWaitsUntilTheFirstUnlocksOrCloses) {
  auto a = TurnLock::Open(Path());
  auto b = TurnLock::Open(Path());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Lock().ok());
  std::atomic<bool> b_has_it{false};
  std::thread waiter([&] {
    ASSERT_TRUE((*b)->Lock().ok());
    b_has_it = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(b_has_it.load());  // excluded while a holds it
  (*a)->Unlock();
  waiter.join();
  EXPECT_TRUE(b_has_it.load());
  // A holder that goes away (a client that dies) releases it with its file.
  b->reset();
  auto c = TurnLock::Open(Path());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Lock().ok());
  (*c)->Unlock();
}

}  // namespace
}  // namespace onionmail::hsm::tpm2
