// onionmailctl voucher (ctl/voucher_commands.h): argument parsing, and what
// add, count and clear print on stdout and stderr over a real key service.
#include "ctl/voucher_commands.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "keys/local_key_service.h"
#include "mail/registration.h"
#include "tests/store/test_util.h"

namespace onionmail::ctl {
namespace {

using onionmail::testing::TempDir;

std::optional<VoucherCommand> Parse(std::vector<std::string> args, std::string* why = nullptr) {
  std::string ignored;
  return ParseVoucherCommand(args, why != nullptr ? why : &ignored);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ParseVoucherCommandTest, AddCountClear) {
  auto add = Parse({"add"});
  ASSERT_TRUE(add);
  EXPECT_EQ(add->op, VoucherCommand::Op::kAdd);
  EXPECT_EQ(add->count, 1u);
  auto many = Parse({"add", "1000"});
  ASSERT_TRUE(many);
  EXPECT_EQ(many->count, 1000u);
  EXPECT_EQ(Parse({"add", "7"})->count, 7u);
  EXPECT_EQ(Parse({"count"})->op, VoucherCommand::Op::kCount);
  EXPECT_EQ(Parse({"clear"})->op, VoucherCommand::Op::kClear);
}

TEST(ParseVoucherCommandTest, BadArgumentsAreUsageErrors) {
  std::string why;
  EXPECT_FALSE(Parse({"add", "0"}, &why));
  EXPECT_NE(why.find("1 to 1000"), std::string::npos) << why;
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{},
                                             {"add", "1001"},
                                             {"add", "-1"},
                                             {"add", "+1"},
                                             {"add", "1e3"},
                                             {"add", " 5"},
                                             {"add", "99999999999999999999"},
                                             {"add", ""},
                                             {"add", "1", "2"},
                                             {"count", "1"},
                                             {"clear", "all"},
                                             {"list"},
                                             {"ADD"}}) {
    EXPECT_FALSE(Parse(bad)) << (bad.empty() ? "" : bad[0]) << " " << bad.size();
  }
}

class VoucherCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    keys::LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    service_ = std::make_unique<keys::LocalKeyService>(*key_store_, o);
  }
  // Runs the command; returns its exit status, stdout and stderr.
  int Run(VoucherCommand::Op op, size_t count, std::string* out, std::string* err) {
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int rc = RunVoucherCommand(*service_, VoucherCommand{op, count});
    *out = ::testing::internal::GetCapturedStdout();
    *err = ::testing::internal::GetCapturedStderr();
    return rc;
  }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<keys::LocalKeyService> service_;
};

TEST_F(VoucherCommandsTest, AddPrintsOnlyTheVouchersOnStdout) {
  std::string out, err;
  ASSERT_EQ(Run(VoucherCommand::Op::kAdd, 5, &out, &err), 0) << err;
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 5u) << out;
  for (const std::string& v : lines) {
    EXPECT_EQ(mail::CanonicalVoucher(v), v);
    EXPECT_EQ(err.find(v), std::string::npos);
  }
  EXPECT_NE(err.find("one-time"), std::string::npos) << err;
  EXPECT_NE(err.find("privately"), std::string::npos) << err;
  EXPECT_EQ(*service_->CountVouchers(), 5u);
  // They work.
  EXPECT_TRUE(service_->RegisterUser(lines[0], "dave").ok());
}

TEST_F(VoucherCommandsTest, CountAndClear) {
  std::string out, err;
  ASSERT_EQ(Run(VoucherCommand::Op::kCount, 1, &out, &err), 0) << err;
  EXPECT_EQ(out, "0 unused voucher(s)\n");
  ASSERT_EQ(Run(VoucherCommand::Op::kAdd, 3, &out, &err), 0) << err;
  ASSERT_EQ(Run(VoucherCommand::Op::kCount, 1, &out, &err), 0) << err;
  EXPECT_EQ(out, "3 unused voucher(s)\n");
  ASSERT_EQ(Run(VoucherCommand::Op::kClear, 1, &out, &err), 0) << err;
  EXPECT_EQ(out, "deleted 3 unused voucher(s)\n");
  EXPECT_EQ(*service_->CountVouchers(), 0u);
}

TEST_F(VoucherCommandsTest, AFailureIsExitStatusOneWithTheError) {
  std::string out, err;
  // <state>/vouchers a file: nothing can be made.
  onionmail::testing::WriteFileBytes(dir_.path() + "/vouchers", {'x'});
  EXPECT_EQ(Run(VoucherCommand::Op::kAdd, 2, &out, &err), 1);
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find("onionmailctl: "), std::string::npos) << err;
}

}  // namespace
}  // namespace onionmail::ctl
