#include "ctl/output_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace onionmail::ctl {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class OutputFilesTest : public ::testing::TestWithParam<WriterMode> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/om-ctl-out-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf " + dir_).c_str()), 0); }
  std::string dir_;
};

TEST_P(OutputFilesTest, WritesPrivateFilesWithExactlyTheBytes) {
  auto out = OutputFiles::Prepare({dir_ + "/kctl.pem", dir_ + "/shares.txt"}, GetParam());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(Exists(dir_ + "/kctl.pem"));  // nothing before Write
  ASSERT_TRUE((*out)->Write(0, Bytes("key bytes\n")).ok());
  ASSERT_TRUE((*out)->Write(1, Bytes("share 1\nshare 2\n")).ok());
  EXPECT_EQ(Slurp(dir_ + "/kctl.pem"), "key bytes\n");
  EXPECT_EQ(Slurp(dir_ + "/shares.txt"), "share 1\nshare 2\n");
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/kctl.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Only the two files: the temporary file is gone.
  EXPECT_EQ(std::system(("test $(ls -A " + dir_ + " | wc -l) -eq 2").c_str()), 0);
}

TEST_P(OutputFilesTest, AnExistingFileIsRefusedBeforeAnythingIsWritten) {
  std::ofstream(dir_ + "/exists") << "keep me";
  auto out = OutputFiles::Prepare({dir_ + "/new", dir_ + "/exists"}, GetParam());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(Slurp(dir_ + "/exists"), "keep me");
  EXPECT_FALSE(Exists(dir_ + "/new"));
}

TEST_P(OutputFilesTest, AFileCreatedAfterPrepareIsNotOverwritten) {
  auto out = OutputFiles::Prepare({dir_ + "/late"}, GetParam());
  ASSERT_TRUE(out.ok());
  std::ofstream(dir_ + "/late") << "someone else's";
  auto written = (*out)->Write(0, Bytes("ours"));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(Slurp(dir_ + "/late"), "someone else's");
}

TEST_P(OutputFilesTest, AMissingDirectoryAndTwiceTheSamePathAreRefused) {
  EXPECT_EQ(OutputFiles::Prepare({dir_ + "/no/such/file"}, GetParam()).error().code,
            ErrorCode::kNotFound);
  EXPECT_FALSE(OutputFiles::Prepare({dir_ + "/a", dir_ + "/a"}, GetParam()).ok());
  EXPECT_FALSE(OutputFiles::Prepare({dir_ + "/"}, GetParam()).ok());
}

TEST_P(OutputFilesTest, RemoveDeletesAWrittenFileAndOnlyThat) {
  auto out = OutputFiles::Prepare({dir_ + "/shares"}, GetParam());
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE((*out)->Remove(0).ok());  // not written yet
  ASSERT_TRUE((*out)->Write(0, Bytes("secret")).ok());
  EXPECT_FALSE((*out)->Write(0, Bytes("again")).ok());
  ASSERT_TRUE((*out)->Remove(0).ok());
  EXPECT_FALSE(Exists(dir_ + "/shares"));
}

TEST_P(OutputFilesTest, RelativePathsAreResolvedAtPrepare) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(::chdir(dir_.c_str()), 0);
  auto out = OutputFiles::Prepare({"rel.pem"}, GetParam());
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ((*out)->path(0), dir_ + "/rel.pem");
  ASSERT_TRUE((*out)->Write(0, Bytes("x")).ok());
  EXPECT_EQ(Slurp(dir_ + "/rel.pem"), "x");
}

INSTANTIATE_TEST_SUITE_P(BothWriters, OutputFilesTest,
                         ::testing::Values(WriterMode::kInProcess, WriterMode::kChild));

TEST(ReadSecretFileTest, ReadsTheWholeFileAndReportsLooseModes) {
  char tmpl[] = "/tmp/om-ctl-in-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "PEM\n", 4), 4);
  ::close(fd);
  bool loose = true;
  auto s = ReadSecretFile(tmpl, 100, &loose);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->RevealString(SecretAccess::Grant()), "PEM\n");
  EXPECT_FALSE(loose);  // mkstemp: 0600
  ASSERT_EQ(::chmod(tmpl, 0644), 0);
  ASSERT_TRUE(ReadSecretFile(tmpl, 100, &loose).ok());
  EXPECT_TRUE(loose);
  EXPECT_FALSE(ReadSecretFile(tmpl, 3, &loose).ok());      // larger than the limit
  EXPECT_FALSE(ReadSecretFile("/tmp", 100, &loose).ok());  // not a regular file
  ::unlink(tmpl);
}

}  // namespace
}  // namespace onionmail::ctl
