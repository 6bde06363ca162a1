// Tests for store/durable_file.{h,cc}.
#include "store/durable_file.h"

#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tests/store/test_util.h"

namespace onionmail::store {
namespace {

using onionmail::testing::Bytes;
using onionmail::testing::FilesUnder;
using onionmail::testing::ModeOf;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

class DurableFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = dir_.path() + "/tmp";
    ASSERT_TRUE(EnsurePrivateDir(tmp_).ok());
  }
  TempDir dir_;
  std::string tmp_;

  // Files victim<i> holding contents(i), each with a second name witness<i>
  // (same inode), through which a test sees what deletion did to the bytes.
  struct Victims {
    std::vector<std::string> paths;
    std::vector<std::string> witnesses;
    std::vector<size_t> sizes;
  };
  Victims MakeVictims(int n, const std::function<std::vector<uint8_t>(int)>& contents) {
    Victims v;
    for (int i = 0; i < n; ++i) {
      v.paths.push_back(dir_.path() + "/victim" + std::to_string(i));
      v.witnesses.push_back(dir_.path() + "/witness" + std::to_string(i));
      const std::vector<uint8_t> bytes = contents(i);
      v.sizes.push_back(bytes.size());
      WriteFileBytes(v.paths.back(), bytes);
      EXPECT_EQ(::link(v.paths.back().c_str(), v.witnesses.back().c_str()), 0);
    }
    return v;
  }
  // Every victim is gone and its bytes (all 'S' before) were overwritten.
  static void ExpectOverwrittenAndRemoved(const Victims& v) {
    for (size_t i = 0; i < v.paths.size(); ++i) {
      EXPECT_NE(::access(v.paths[i].c_str(), F_OK), 0) << v.paths[i];
      auto after = ReadFileBytes(v.witnesses[i]);
      ASSERT_EQ(after.size(), v.sizes[i]) << v.witnesses[i];
      EXPECT_LT(std::count(after.begin(), after.end(), 'S'),
                1 + static_cast<long>(after.size()) / 32)
          << v.witnesses[i];
    }
  }
};

TEST_F(DurableFileTest, WriteFileDurablyPublishesContentWithMode0600AndNoTempLeft) {
  const std::string path = dir_.path() + "/record";
  ASSERT_TRUE(WriteFileDurably(tmp_, path, Bytes("hello"), /*replace=*/false).ok());
  EXPECT_EQ(ReadFileBytes(path), Bytes("hello"));
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_TRUE(FilesUnder(tmp_).empty());
}

TEST_F(DurableFileTest, WriteWithoutReplaceRefusesExistingFileAndKeepsIt) {
  const std::string path = dir_.path() + "/record";
  ASSERT_TRUE(WriteFileDurably(tmp_, path, Bytes("first"), false).ok());
  auto again = WriteFileDurably(tmp_, path, Bytes("second"), false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(ReadFileBytes(path), Bytes("first"));
  EXPECT_TRUE(FilesUnder(tmp_).empty());
}

TEST_F(DurableFileTest, WriteWithReplaceReplacesContent) {
  const std::string path = dir_.path() + "/record";
  ASSERT_TRUE(WriteFileDurably(tmp_, path, Bytes("first"), false).ok());
  ASSERT_TRUE(WriteFileDurably(tmp_, path, Bytes("second!"), true).ok());
  EXPECT_EQ(ReadFileBytes(path), Bytes("second!"));
}

TEST_F(DurableFileTest, ReplacingOverwritesTheOldVersionsBytes) {
  const std::string path = dir_.path() + "/record";
  const std::string witness = dir_.path() + "/witness";  // keeps the old inode
  ASSERT_TRUE(WriteFileDurably(tmp_, path, std::vector<uint8_t>(5000, 'O'), false).ok());
  ASSERT_EQ(::link(path.c_str(), witness.c_str()), 0);
  ASSERT_TRUE(WriteFileDurably(tmp_, path, Bytes("new"), true).ok());
  EXPECT_EQ(ReadFileBytes(path), Bytes("new"));
  auto old_bytes = ReadFileBytes(witness);
  ASSERT_EQ(old_bytes.size(), 5000u);
  EXPECT_LT(std::count(old_bytes.begin(), old_bytes.end(), 'O'), 200);
  EXPECT_TRUE(FilesUnder(tmp_).empty());
}

TEST_F(DurableFileTest, WriteIntoMissingDirectoryFailsWithoutLeavingTemp) {
  auto r = WriteFileDurably(tmp_, dir_.path() + "/nope/record", Bytes("x"), true);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(FilesUnder(tmp_).empty());
}

TEST_F(DurableFileTest, CreateExclusiveRefusesExistingFilesAndSymlinks) {
  const std::string path = dir_.path() + "/f";
  auto fd = CreateExclusive(path);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  auto again = CreateExclusive(path);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  const std::string link = dir_.path() + "/dangling";
  ASSERT_EQ(::symlink((dir_.path() + "/target").c_str(), link.c_str()), 0);
  EXPECT_FALSE(CreateExclusive(link).ok());
  EXPECT_NE(::access((dir_.path() + "/target").c_str(), F_OK), 0);
}

TEST_F(DurableFileTest, SecureDeleteOverwritesTheBytesBeforeUnlinking) {
  const std::string path = dir_.path() + "/victim";
  const std::string witness = dir_.path() + "/witness";  // second name, same inode
  const std::vector<uint8_t> secret(100000, 'S');
  WriteFileBytes(path, secret);
  ASSERT_EQ(::link(path.c_str(), witness.c_str()), 0);
  ASSERT_TRUE(SecureDelete(path).ok());
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  auto after = ReadFileBytes(witness);
  ASSERT_EQ(after.size(), secret.size());
  EXPECT_EQ(std::count(after.begin(), after.end(), 'S') < 2000, true);
}

TEST_F(DurableFileTest, SecureDeleteOfMissingFileIsNotFound) {
  auto r = SecureDelete(dir_.path() + "/missing");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_F(DurableFileTest, SecureDeleteRemovesSymlinkWithoutWritingThroughIt) {
  const std::string target = dir_.path() + "/target";
  WriteFileBytes(target, Bytes("keep me"));
  const std::string link = dir_.path() + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  ASSERT_TRUE(SecureDelete(link).ok());
  EXPECT_EQ(ReadFileBytes(target), Bytes("keep me"));
  struct stat st;
  EXPECT_NE(::lstat(link.c_str(), &st), 0);
}

TEST_F(DurableFileTest, SecureDeleteBatchOverwritesAndRemovesEveryFile) {
  const Victims v = MakeVictims(3, [](int) { return std::vector<uint8_t>(70000, 'S'); });
  ASSERT_TRUE(SecureDeleteBatch(v.paths).ok());
  ExpectOverwrittenAndRemoved(v);
}

// The batch keeps at most 64 files open at once; more files are overwritten
// and removed group after group, every one of them.
TEST_F(DurableFileTest, SecureDeleteBatchOverwritesEveryFileOfSeveralGroups) {
  const Victims v = MakeVictims(150, [](int i) {
    return i == 100 ? std::vector<uint8_t>() : std::vector<uint8_t>(5000, 'S');
  });
  ASSERT_TRUE(SecureDeleteBatch(v.paths).ok());
  ExpectOverwrittenAndRemoved(v);
}

TEST_F(DurableFileTest, SecureDeleteBatchOffersOnlyOverwrittenFilesToKeep) {
  // Victims 0..3: 'S' bytes; keep() takes the even ones (renames them away)
  // and declines the odd ones, which are then unlinked. A symlink in the batch
  // is never offered: it was not overwritten.
  const Victims v = MakeVictims(4, [](int) { return std::vector<uint8_t>(5000, 'S'); });
  const std::string link = dir_.path() + "/link";
  ASSERT_EQ(::symlink(v.witnesses[0].c_str(), link.c_str()), 0);
  std::vector<std::string> paths = v.paths;
  paths.push_back(link);
  std::vector<std::string> offered;
  const KeepOverwritten keep = [&](const std::string& path) {
    offered.push_back(path);
    if (offered.size() % 2 == 0) return false;
    return ::rename(path.c_str(), (path + ".kept").c_str()) == 0;
  };
  ASSERT_TRUE(SecureDeleteBatch(paths, keep).ok());
  EXPECT_EQ(offered, v.paths);
  ExpectOverwrittenAndRemoved(v);  // bytes overwritten, original names gone
  EXPECT_NE(::access(link.c_str(), F_OK), 0);
  for (size_t i = 0; i < v.paths.size(); ++i) {
    // Kept: the same (overwritten) inode under its new name; declined: unlinked.
    EXPECT_EQ(::access((v.paths[i] + ".kept").c_str(), F_OK) == 0, i % 2 == 0) << i;
  }
}

// Runs SecureDeleteBatch(paths) in a forked child whose sync_file_range (and
// sync_file_range2) fail with `err` (a seccomp filter). Returns the child's
// exit status: 0 if the batch succeeded, 1 if it failed, 2 if the filter
// could not be installed.
int BatchWithSyncFileRangeFailing(int err, const std::vector<std::string>& paths) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == nullptr ||
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(sync_file_range), 0) != 0 ||
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(sync_file_range2), 0) != 0 ||
        seccomp_load(ctx) != 0) {
      ::_exit(2);
    }
    ::_exit(SecureDeleteBatch(paths).ok() ? 0 : 1);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// Where the kernel or the filesystem has no sync_file_range (ENOSYS), the
// batch falls back to an fsync per file: the files are still overwritten and
// removed.
TEST_F(DurableFileTest, SecureDeleteBatchFallsBackToFsyncWithoutSyncFileRange) {
  const Victims v = MakeVictims(3, [](int) { return std::vector<uint8_t>(5000, 'S'); });
  ASSERT_EQ(BatchWithSyncFileRangeFailing(ENOSYS, v.paths), 0);
  ExpectOverwrittenAndRemoved(v);
}

// A write error while the overwrites are written (EIO) fails the batch and
// keeps the files: a file is unlinked only once its overwrite is on the disk.
TEST_F(DurableFileTest, SecureDeleteBatchKeepsFilesWhoseOverwriteCouldNotBeWritten) {
  const Victims v = MakeVictims(3, [](int) { return std::vector<uint8_t>(5000, 'S'); });
  ASSERT_EQ(BatchWithSyncFileRangeFailing(EIO, v.paths), 1);
  for (const std::string& path : v.paths) EXPECT_EQ(::access(path.c_str(), F_OK), 0) << path;
}

TEST_F(DurableFileTest, SecureDeleteBatchDeletesTheRestWhenOneIsMissing) {
  const std::string a = dir_.path() + "/a";
  const std::string b = dir_.path() + "/b";
  WriteFileBytes(a, Bytes("a"));
  WriteFileBytes(b, Bytes("b"));
  const std::vector<std::string> paths = {a, dir_.path() + "/missing", b};
  auto r = SecureDeleteBatch(paths);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(::access(a.c_str(), F_OK), 0);
  EXPECT_NE(::access(b.c_str(), F_OK), 0);
}

TEST_F(DurableFileTest, SecureDeleteBatchRemovesSymlinkWithoutWritingThroughIt) {
  const std::string target = dir_.path() + "/target";
  WriteFileBytes(target, Bytes("keep me"));
  const std::string link = dir_.path() + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  const std::vector<std::string> paths = {link};
  ASSERT_TRUE(SecureDeleteBatch(paths).ok());
  EXPECT_EQ(ReadFileBytes(target), Bytes("keep me"));
  struct stat st;
  EXPECT_NE(::lstat(link.c_str(), &st), 0);
}

TEST_F(DurableFileTest, EnsurePrivateDirCreates0700AndRefusesNonDirectories) {
  const std::string d = dir_.path() + "/d";
  ASSERT_TRUE(EnsurePrivateDir(d).ok());
  EXPECT_EQ(ModeOf(d), 0700u);
  EXPECT_TRUE(EnsurePrivateDir(d).ok());
  const std::string link = dir_.path() + "/dlink";
  ASSERT_EQ(::symlink(d.c_str(), link.c_str()), 0);
  auto r = EnsurePrivateDir(link);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(DurableFileTest, EnsurePrivateDirRefusesARegularFile) {
  const std::string file = dir_.path() + "/f";
  WriteFileBytes(file, Bytes("x"));
  auto r = EnsurePrivateDir(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("is not a directory"), std::string::npos);
}

// lstat fails with something other than ENOENT (here ENOTDIR: a path
// component is a file): reported as such, and no mkdir is attempted.
TEST_F(DurableFileTest, EnsurePrivateDirReportsAStatErrorOtherThanMissing) {
  const std::string file = dir_.path() + "/f";
  WriteFileBytes(file, Bytes("x"));
  auto r = EnsurePrivateDir(file + "/d");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("cannot stat"), std::string::npos);
  EXPECT_NE(r.error().message.find(std::strerror(ENOTDIR)), std::string::npos);
  EXPECT_EQ(ReadFileBytes(file), Bytes("x"));
}

TEST_F(DurableFileTest, ReadSmallFileRefusesOversizedFiles) {
  const std::string path = dir_.path() + "/big";
  WriteFileBytes(path, std::vector<uint8_t>(101, 1));
  auto r = ReadSmallFile(path, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  auto ok = ReadSmallFile(path, 101);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 101u);
}

}  // namespace
}  // namespace onionmail::store
