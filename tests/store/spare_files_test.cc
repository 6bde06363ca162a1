// Tests for store/spare_files.{h,cc}: the pool of overwritten message files
// kept for reuse.
#include "store/spare_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "store/durable_file.h"
#include "tests/store/test_util.h"

namespace onionmail::store {
namespace {

using onionmail::testing::FilesUnder;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

class SpareFilesTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string SpareDir() const { return dir_.path() + "/spare"; }
  TempDir dir_;
};

ino_t InodeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST_F(SpareFilesTest, TakeFromAnEmptyPoolCreatesNothing) {
  SpareFiles spares(SpareDir());
  EXPECT_FALSE(spares.Take(Path("dest")));
  EXPECT_NE(::access(Path("dest").c_str(), F_OK), 0);
  EXPECT_EQ(spares.count(), 0u);
}

TEST_F(SpareFilesTest, PutMovesTheFileInAndTakeMovesTheSameInodeOut) {
  WriteFileBytes(Path("old"), std::vector<uint8_t>(4096, 'R'));
  const ino_t inode = InodeOf(Path("old"));
  SpareFiles spares(SpareDir());
  ASSERT_TRUE(spares.Put(Path("old")));
  EXPECT_NE(::access(Path("old").c_str(), F_OK), 0);
  ASSERT_EQ(FilesUnder(SpareDir()).size(), 1u);
  EXPECT_EQ(spares.count(), 1u);
  ASSERT_TRUE(spares.Take(Path("new")));
  EXPECT_EQ(InodeOf(Path("new")), inode);
  EXPECT_EQ(ReadFileBytes(Path("new")).size(), 4096u);
  EXPECT_TRUE(FilesUnder(SpareDir()).empty());
  EXPECT_FALSE(spares.Take(Path("another")));
}

TEST_F(SpareFilesTest, EmptyHugeAndNonRegularFilesAreRefused) {
  WriteFileBytes(Path("empty"), {});
  WriteFileBytes(Path("huge"), std::vector<uint8_t>(SpareFiles::kMaxFileBytes + 1, 'R'));
  ASSERT_EQ(::symlink(Path("huge").c_str(), Path("link").c_str()), 0);
  ASSERT_EQ(::mkdir(Path("dir").c_str(), 0700), 0);
  SpareFiles spares(SpareDir());
  EXPECT_FALSE(spares.Put(Path("empty")));
  EXPECT_FALSE(spares.Put(Path("huge")));
  EXPECT_FALSE(spares.Put(Path("link")));
  EXPECT_FALSE(spares.Put(Path("dir")));
  EXPECT_FALSE(spares.Put(Path("missing")));
  EXPECT_EQ(spares.count(), 0u);
  EXPECT_EQ(::access(Path("empty").c_str(), F_OK), 0);  // left for the caller to unlink
}

TEST_F(SpareFilesTest, ThePoolStopsAtItsFileLimit) {
  SpareFiles spares(SpareDir());
  for (size_t i = 0; i < SpareFiles::kMaxFiles; ++i) {
    const std::string p = Path("f" + std::to_string(i));
    WriteFileBytes(p, {1, 2, 3});
    ASSERT_TRUE(spares.Put(p)) << i;
  }
  WriteFileBytes(Path("one-more"), {1, 2, 3});
  EXPECT_FALSE(spares.Put(Path("one-more")));
  EXPECT_EQ(spares.count(), SpareFiles::kMaxFiles);
  ASSERT_TRUE(spares.Take(Path("taken")));
  EXPECT_TRUE(spares.Put(Path("one-more")));
}

TEST_F(SpareFilesTest, ThePoolStopsAtItsByteLimit) {
  SpareFiles spares(SpareDir());
  const size_t per_file = SpareFiles::kMaxFileBytes;
  const size_t fit = SpareFiles::kMaxBytes / per_file;
  for (size_t i = 0; i < fit; ++i) {
    const std::string p = Path("f" + std::to_string(i));
    WriteFileBytes(p, std::vector<uint8_t>(per_file, 'R'));
    ASSERT_TRUE(spares.Put(p)) << i;
  }
  WriteFileBytes(Path("one-more"), {1});
  EXPECT_FALSE(spares.Put(Path("one-more")));
}

TEST_F(SpareFilesTest, ANewInstanceFindsTheSparesOnDiskButNeverTakesASymlink) {
  {
    WriteFileBytes(Path("old"), std::vector<uint8_t>(100, 'R'));
    SpareFiles first(SpareDir());
    ASSERT_TRUE(first.Put(Path("old")));
  }
  // Planted under a spare-like name: must be skipped, not followed.
  WriteFileBytes(Path("target"), std::vector<uint8_t>(100, 'T'));
  ASSERT_EQ(::symlink(Path("target").c_str(), (SpareDir() + "/" + std::string(32, 'f')).c_str()),
            0);
  WriteFileBytes(SpareDir() + "/not-a-spare-name", {1});
  SpareFiles second(SpareDir());
  EXPECT_EQ(second.count(), 1u);
  ASSERT_TRUE(second.Take(Path("new")));
  EXPECT_EQ(ReadFileBytes(Path("new")), std::vector<uint8_t>(100, 'R'));
  EXPECT_FALSE(second.Take(Path("another")));
  EXPECT_EQ(ReadFileBytes(Path("target")), std::vector<uint8_t>(100, 'T'));
}

TEST_F(SpareFilesTest, ASpareTakenByAnotherInstanceIsSkipped) {
  WriteFileBytes(Path("a"), std::vector<uint8_t>(10, 'R'));
  WriteFileBytes(Path("b"), std::vector<uint8_t>(10, 'R'));
  SpareFiles first(SpareDir());
  ASSERT_TRUE(first.Put(Path("a")));
  ASSERT_TRUE(first.Put(Path("b")));
  SpareFiles second(SpareDir());
  ASSERT_EQ(second.count(), 2u);
  ASSERT_TRUE(first.Take(Path("x")));
  ASSERT_TRUE(first.Take(Path("y")));
  EXPECT_FALSE(second.Take(Path("z")));  // both names are gone: no error, no file
  EXPECT_NE(::access(Path("z").c_str(), F_OK), 0);
}

// Waits (up to 30 s) until `done` holds; false if it never did.
template <typename Pred>
bool Eventually(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_F(SpareFilesTest, StockMakesEmptyPrivateFilesUpToTheTarget) {
  SpareFiles spares(SpareDir());
  EXPECT_EQ(spares.Stock(5, [] { return true; }), 5u);
  EXPECT_EQ(spares.count(), 5u);
  EXPECT_EQ(spares.empty_count(), 5u);
  const auto names = FilesUnder(SpareDir());
  ASSERT_EQ(names.size(), 5u);
  for (const std::string& name : names) {
    struct stat st;
    ASSERT_EQ(::lstat((SpareDir() + "/" + name).c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_size, 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_EQ(spares.Stock(5, [] { return true; }), 0u);  // already there
  // A new instance counts them as spares.
  SpareFiles second(SpareDir());
  EXPECT_EQ(second.count(), 5u);
  EXPECT_EQ(second.empty_count(), 5u);
}

TEST_F(SpareFilesTest, StockStopsWhenToldAndAPutDisplacesAnEmptySpareFromAFullPool) {
  SpareFiles spares(SpareDir());
  int calls = 0;
  EXPECT_EQ(spares.Stock(100, [&calls] { return ++calls <= 3; }), 3u);
  EXPECT_EQ(spares.count(), 3u);
  EXPECT_EQ(spares.Stock(SpareFiles::kMaxFiles + 10, [] { return true; }),
            SpareFiles::kMaxFiles - 3);
  EXPECT_EQ(FilesUnder(SpareDir()).size(), SpareFiles::kMaxFiles);
  WriteFileBytes(Path("deleted"), {1, 2, 3});
  const ino_t inode = InodeOf(Path("deleted"));
  ASSERT_TRUE(spares.Put(Path("deleted")));  // an empty one made room
  EXPECT_EQ(FilesUnder(SpareDir()).size(), SpareFiles::kMaxFiles);
  EXPECT_EQ(spares.empty_count(), SpareFiles::kMaxFiles - 1);
  ASSERT_TRUE(spares.Take(Path("next")));  // and it is taken first
  EXPECT_EQ(InodeOf(Path("next")), inode);
}

TEST_F(SpareFilesTest, TakePrefersAWrittenOverSpareToAnEmptyOne) {
  SpareFiles spares(SpareDir());
  ASSERT_EQ(spares.Stock(2, [] { return true; }), 2u);
  WriteFileBytes(Path("old"), std::vector<uint8_t>(4096, 'R'));
  const ino_t inode = InodeOf(Path("old"));
  ASSERT_TRUE(spares.Put(Path("old")));
  ASSERT_TRUE(spares.Take(Path("a")));
  EXPECT_EQ(InodeOf(Path("a")), inode);
  ASSERT_TRUE(spares.Take(Path("b")));
  EXPECT_TRUE(ReadFileBytes(Path("b")).empty());
  EXPECT_EQ(spares.count(), 1u);
}

TEST_F(SpareFilesTest, TheStockerRefillsThePoolOnceTakesPauseAndStopEndsIt) {
  SpareFiles spares(SpareDir());
  std::thread stocker([&spares] { spares.RunStocker(std::chrono::milliseconds(20), 8); });
  ASSERT_TRUE(Eventually([&spares] { return spares.count() == 8; }));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(spares.Take(Path("t" + std::to_string(i))));
  EXPECT_TRUE(Eventually([&spares] { return spares.count() == 8; }));
  EXPECT_EQ(spares.empty_count(), 8u);
  spares.Stop();
  stocker.join();
  EXPECT_EQ(FilesUnder(SpareDir()).size(), 8u);
}

TEST_F(SpareFilesTest, TheStockerMakesNothingWhileMailMovesAndStocksOnceItPauses) {
  SpareFiles spares(SpareDir());
  std::thread stocker([&spares] { spares.RunStocker(std::chrono::milliseconds(200), 8); });
  // A Take or other activity every 5 ms for a second, five times the idle
  // time: never 200 ms without one.
  for (int i = 0; i < 200; ++i) {
    if (i % 2 == 0) {
      EXPECT_FALSE(spares.Take(Path("t")));
    } else {
      spares.NoteActivity();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(spares.count(), 0u);
  EXPECT_TRUE(FilesUnder(SpareDir()).empty());
  // Then quiet: the same stocker fills the pool.
  EXPECT_TRUE(Eventually([&spares] { return spares.count() == 8; }));
  spares.Stop();
  stocker.join();
}

// The CPU time of the whole process.
double ProcessCpuSeconds() {
  struct timespec ts;
  EXPECT_EQ(::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

TEST_F(SpareFilesTest, AStockerThatCannotCreateFilesWaitsInsteadOfSpinning) {
  WriteFileBytes(Path("not-a-dir"), {1});
  SpareFiles spares(Path("not-a-dir") + "/spare");  // every open fails (ENOTDIR)
  std::thread stocker([&spares] { spares.RunStocker(std::chrono::milliseconds(1), 8); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // past the idle time
  const double cpu0 = ProcessCpuSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used = ProcessCpuSeconds() - cpu0;
  EXPECT_LT(used, 0.05) << "the stocker retried in a loop";
  EXPECT_EQ(spares.count(), 0u);
  spares.Stop();
  stocker.join();
}

}  // namespace
}  // namespace onionmail::store
