// store::MailboxUsage against real directories: what counts against the
// quota, the verdicts, the kept count and when it is counted again. (The
// store's use of it is in mailbox_store_test.cc; the SMTP reply end to end in
// tests/integration/test_quota.py.)
#include "store/mailbox_usage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/store/test_util.h"

namespace onionmail::store {
namespace {

using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

const std::string kBox = std::string(64, 'a');
const std::string kUid1 = std::string(32, '1');
const std::string kUid2 = std::string(32, '2');
const std::string kUid3 = std::string(32, '3');

class MailboxUsageTest : public ::testing::Test {
 protected:
  MailboxUsageTest() : box_(dir_.path() + "/box") { ::mkdir(box_.c_str(), 0700); }

  void Put(const std::string& name, size_t bytes) {
    WriteFileBytes(box_ + "/" + name, std::vector<uint8_t>(bytes, 0x5a));
  }
  MailboxUsage::Clock Clock() {
    return [this] { return now_; };
  }

  TempDir dir_;
  std::string box_;
  std::chrono::steady_clock::time_point now_{};
};

TEST_F(MailboxUsageTest, OnlyMessageFilesCount) {
  Put(kUid1, 1000);
  Put(kUid2, 234);
  Put("lock", 0);
  Put("not-a-message", 5000);
  ::mkdir((box_ + "/" + kUid3).c_str(), 0700);  // a directory with a uid's name
  ASSERT_EQ(
      ::symlink((box_ + "/not-a-message").c_str(), (box_ + "/" + std::string(32, '4')).c_str()), 0);
  auto n = MailboxUsage::Count(box_);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1234u);
}

TEST_F(MailboxUsageTest, AMissingMailboxHoldsNothing) {
  auto n = MailboxUsage::Count(dir_.path() + "/never-made");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  MailboxUsage usage(1);
  EXPECT_TRUE(usage.Check(kBox, dir_.path() + "/never-made").ok());
}

TEST_F(MailboxUsageTest, AMailboxAtItsQuotaIsFullAndOneBelowIsNot) {
  Put(kUid1, 999);
  MailboxUsage usage(1000, std::chrono::seconds(0));  // counts on every check
  EXPECT_TRUE(usage.Check(kBox, box_).ok());
  Put(kUid2, 1);
  auto r = usage.Check(kBox, box_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kMailboxFull);
  EXPECT_NE(r.error().message.find("store.mailbox_quota_mib"), std::string::npos);
  ::unlink((box_ + "/" + kUid2).c_str());
  EXPECT_TRUE(usage.Check(kBox, box_).ok());
}

TEST_F(MailboxUsageTest, AMessageDeclaredLargerThanTheRoomLeftIsRefusedWithoutLogging) {
  Put(kUid1, 600);
  MailboxUsage usage(1000, std::chrono::seconds(0));
  EXPECT_TRUE(usage.Check(kBox, box_, 400).ok());  // exactly fits
  auto r = usage.Check(kBox, box_, 401);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kMailboxFull);
  EXPECT_NE(r.error().message.find("the sender declared"), std::string::npos);
  EXPECT_TRUE(usage.Check(kBox, box_).ok());               // a smaller or undeclared one fits
  EXPECT_FALSE(usage.Check(kBox, box_, UINT64_MAX).ok());  // no overflow
  EXPECT_TRUE(MailboxUsage(0).Check(kBox, box_, UINT64_MAX).ok());  // quota off
}

TEST_F(MailboxUsageTest, ZeroTurnsTheQuotaOff) {
  Put(kUid1, 5000);
  MailboxUsage usage(0);
  EXPECT_TRUE(usage.Check(kBox, box_).ok());
}

TEST_F(MailboxUsageTest, TheKeptCountFollowsAddedMessagesWithoutReadingTheDirectory) {
  Put(kUid1, 600);
  MailboxUsage usage(1000, std::chrono::seconds(60), Clock());
  EXPECT_TRUE(usage.Check(kBox, box_).ok());  // counted: 600
  Put(kUid2, 600);  // a file it was not told about: not seen while the count is kept
  EXPECT_TRUE(usage.Check(kBox, box_).ok());
  usage.Added(kBox, 400);  // what the store reports when it publishes a message
  EXPECT_EQ(usage.Check(kBox, box_).error().code, ErrorCode::kMailboxFull);
}

TEST_F(MailboxUsageTest, AForgottenOrOldCountIsCountedAgain) {
  Put(kUid1, 1500);
  MailboxUsage usage(1000, std::chrono::seconds(60), Clock());
  EXPECT_EQ(usage.Check(kBox, box_).error().code, ErrorCode::kMailboxFull);
  ::unlink((box_ + "/" + kUid1).c_str());      // the user deleted it (another process)
  EXPECT_FALSE(usage.Check(kBox, box_).ok());  // still the kept count
  now_ += std::chrono::seconds(61);
  EXPECT_TRUE(usage.Check(kBox, box_).ok());  // counted again after max_age

  Put(kUid2, 1500);
  EXPECT_TRUE(usage.Check(kBox, box_).ok());  // kept
  usage.Forget(kBox);                         // what the store does when it deletes
  EXPECT_EQ(usage.Check(kBox, box_).error().code, ErrorCode::kMailboxFull);
}

TEST_F(MailboxUsageTest, AMailboxThatCannotBeReadIsNoReasonToRefuseMail) {
  const std::string not_a_dir = dir_.path() + "/file";  // ENOTDIR, for root too
  WriteFileBytes(not_a_dir, std::vector<uint8_t>(5000, 1));
  MailboxUsage usage(1000, std::chrono::seconds(0));
  EXPECT_FALSE(MailboxUsage::Count(not_a_dir).ok());
  EXPECT_TRUE(usage.Check(kBox, not_a_dir).ok());
  EXPECT_TRUE(usage.Check(kBox, not_a_dir).ok());
}

TEST(SummarizeMailboxesTest, CountsEveryMailboxOfAStateAndThoseAtTheirQuota) {
  TempDir state;
  auto r = SummarizeMailboxes(state.path(), 1000);  // no mbox/ yet: nothing stored
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mailboxes, 0u);
  const std::string mbox = state.path() + "/mbox";
  ASSERT_EQ(::mkdir(mbox.c_str(), 0700), 0);
  const std::string full = mbox + "/" + std::string(64, 'a');
  const std::string half = mbox + "/" + std::string(64, 'b');
  ASSERT_EQ(::mkdir(full.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(half.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((mbox + "/not-a-mailbox").c_str(), 0700), 0);
  WriteFileBytes(full + "/" + kUid1, std::vector<uint8_t>(600, 1));
  WriteFileBytes(full + "/" + kUid2, std::vector<uint8_t>(400, 1));
  WriteFileBytes(full + "/lock", {});
  WriteFileBytes(half + "/" + kUid3, std::vector<uint8_t>(500, 1));
  r = SummarizeMailboxes(state.path(), 1000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mailboxes, 2u);
  EXPECT_EQ(r->total.messages, 3u);
  EXPECT_EQ(r->total.bytes, 1500u);
  EXPECT_EQ(r->at_quota, 1u);
  EXPECT_EQ(SummarizeMailboxes(state.path(), 0)->at_quota, 0u);  // quota off
}

}  // namespace
}  // namespace onionmail::store
