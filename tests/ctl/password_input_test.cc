// Tests for src/ctl/password_input: password files (one trailing newline dropped, empty, long
// and multi-line content refused), generated passwords, and the minimum length of a password
// being set.
#include "ctl/password_input.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "base/secret_bytes.h"

namespace onionmail::ctl {
namespace {

std::string Text(const SecretBytes& s) {
  auto bytes = s.Reveal(SecretAccess::Grant());
  return std::string(bytes.begin(), bytes.end());
}

class PasswordFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/om-password-test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string Write(const std::string& content) {
    path_ = dir_ + "/pw";
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << content;
    ::chmod(path_.c_str(), 0600);
    return path_;
  }
  std::string dir_;
  std::string path_;
};

TEST_F(PasswordFileTest, OneTrailingNewlineIsDropped) {
  auto pw = ReadPasswordFile(Write("correct horse battery\n"));
  ASSERT_TRUE(pw.ok()) << pw.error().message;
  EXPECT_EQ(Text(*pw), "correct horse battery");
  pw = ReadPasswordFile(Write("with crlf line end\r\n"));
  ASSERT_TRUE(pw.ok()) << pw.error().message;
  EXPECT_EQ(Text(*pw), "with crlf line end");
}

TEST_F(PasswordFileTest, EmptyMultiLineAndOverlongPasswordsAreRefused) {
  for (const std::string& content :
       {std::string("\n"), std::string(""), std::string("two\nlines\n"),
        std::string("nul\0inside", 10), std::string(1025, 'x')}) {
    auto pw = ReadPasswordFile(Write(content));
    ASSERT_FALSE(pw.ok()) << content.size();
    EXPECT_EQ(pw.error().code, ErrorCode::kInvalidArgument) << pw.error().message;
  }
}

TEST(GeneratePasswordTest, IsTwentyFourCharactersOfTheUnambiguousAlphabet) {
  const std::string alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  std::string first = Text(GeneratePassword());
  ASSERT_EQ(first.size(), 24u);
  for (char c : first) EXPECT_NE(alphabet.find(c), std::string::npos) << c;
  EXPECT_NE(first, Text(GeneratePassword()));
  EXPECT_TRUE(CheckNewPassword(GeneratePassword()).ok());
}

TEST(CheckNewPasswordTest, ElevenCharactersAreTooFewTwelveAreEnough) {
  auto short_pw = CheckNewPassword(SecretBytes(SecretAccess::Grant(), "elevenchars"));
  ASSERT_FALSE(short_pw.ok());
  EXPECT_EQ(short_pw.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(short_pw.error().message.find("at least 12 characters"), std::string::npos);
  EXPECT_TRUE(CheckNewPassword(SecretBytes(SecretAccess::Grant(), "twelve chars")).ok());
}

}  // namespace
}  // namespace onionmail::ctl
