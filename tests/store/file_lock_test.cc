// FileLock: exclusive, across open file descriptions (so across processes),
// released on destruction, created 0600, never through a symlink.
#include "store/file_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/store/test_util.h"

namespace onionmail::store {
namespace {

using onionmail::testing::TempDir;

TEST(FileLockTest, TheLockFileIsCreatedPrivateAndEmpty) {
  TempDir dir;
  const std::string path = dir.path() + "/users.lock";
  {
    auto lock = FileLock::Acquire(path, FileLock::Wait::kTry);
    ASSERT_TRUE(lock.ok()) << lock.error().message;
  }
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 0);
}

TEST(FileLockTest, ATryOnAHeldLockIsFailedPreconditionAndSucceedsOnceReleased) {
  TempDir dir;
  const std::string path = dir.path() + "/users.lock";
  {
    auto held = FileLock::Acquire(path, FileLock::Wait::kBlock);
    ASSERT_TRUE(held.ok());
    auto busy = FileLock::Acquire(path, FileLock::Wait::kTry);
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().code, ErrorCode::kFailedPrecondition);
  }
  EXPECT_TRUE(FileLock::Acquire(path, FileLock::Wait::kTry).ok());
}

TEST(FileLockTest, AnotherProcessHoldingTheLockIsSeen) {
  TempDir dir;
  const std::string path = dir.path() + "/users.lock";
  int ready[2];
  int release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    if (::read(release[0], &c, 1) != 1) ::_exit(1);
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  auto busy = FileLock::Acquire(path, FileLock::Wait::kTry);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::kFailedPrecondition);

  // A blocking acquire returns only after the other process lets go.
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    auto lock = FileLock::Acquire(path, FileLock::Wait::kBlock);
    EXPECT_TRUE(lock.ok());
    acquired = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(acquired.load());
  ASSERT_EQ(::write(release[1], "x", 1), 1);
  waiter.join();
  EXPECT_TRUE(acquired.load());
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
}

TEST(FileLockTest, ALockHeldByAProcessThatDiedIsFree) {
  TempDir dir;
  const std::string path = dir.path() + "/users.lock";
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
    ::_exit(0);  // dies holding it
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(FileLock::Acquire(path, FileLock::Wait::kTry).ok());
}

TEST(FileLockTest, ASymlinkInPlaceOfTheLockFileIsRefused) {
  TempDir dir;
  const std::string target = dir.path() + "/elsewhere";
  const std::string path = dir.path() + "/users.lock";
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  auto lock = FileLock::Acquire(path, FileLock::Wait::kTry);
  EXPECT_FALSE(lock.ok());
  struct stat st {};
  EXPECT_NE(::lstat(target.c_str(), &st), 0);  // nothing created through the link
}

}  // namespace
}  // namespace onionmail::store
