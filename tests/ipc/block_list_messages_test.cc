// Codec tests for the block-list messages of src/ipc/messages.h
// (BlockListRequest, BlockListReply, and the sender CheckRecipientRequest
// carries for the recipient's list): round trips, the op's range, the bounds
// of an entry and of the list, and a failure reply with entries is refused
// both ways.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ipc/codec.h"
#include "ipc/messages.h"
#include "tests/ipc/message_round_trip.h"

namespace onionmail::ipc {
namespace {

TEST(BlockListMessagesTest, RequestAndReplyRoundTrip) {
  auto add = RoundTrip(BlockListRequest{1, "spam@x.onion"});
  EXPECT_EQ(add.op, 1);
  EXPECT_EQ(add.entry, "spam@x.onion");
  EXPECT_EQ(RoundTrip(BlockListRequest{0, ""}).op, 0);
  auto reply = RoundTrip(BlockListReply{Status::kOk, {"@a.onion", "b@c.onion"}});
  EXPECT_EQ(reply.entries, (std::vector<std::string>{"@a.onion", "b@c.onion"}));
  EXPECT_EQ(RoundTrip(BlockListReply{Status::kPermissionDenied, {}}).status,
            Status::kPermissionDenied);
  EXPECT_EQ(RoundTrip(BlockListReply{Status::kRefused, {}}).status, Status::kRefused);
}

TEST(BlockListMessagesTest, AnOpOutsideZeroToThreeIsRefusedBothWays) {
  EXPECT_FALSE(Encode(BlockListRequest{4, ""}).ok());
  auto bytes = Encode(BlockListRequest{3, ""});
  ASSERT_TRUE(bytes.ok());
  (*bytes)[9] = 4;  // op: u16 after the 8-byte frame header
  EXPECT_FALSE(Decode(*bytes).ok());
}

TEST(BlockListMessagesTest, EntryAndListBoundsAreEnforced) {
  EXPECT_TRUE(Encode(BlockListRequest{1, std::string(kMaxBlockEntryBytes, 'a')}).ok());
  EXPECT_FALSE(Encode(BlockListRequest{1, std::string(kMaxBlockEntryBytes + 1, 'a')}).ok());
  EXPECT_FALSE(Encode(BlockListRequest{1, "a@b\r\nc"}).ok());
  std::vector<std::string> full(kMaxBlockEntries, std::string(kMaxBlockEntryBytes, 'e'));
  EXPECT_EQ(RoundTrip(BlockListReply{Status::kOk, full}).entries.size(), kMaxBlockEntries);
  full.push_back("x");
  EXPECT_FALSE(Encode(BlockListReply{Status::kOk, full}).ok());
  EXPECT_FALSE(Encode(BlockListReply{Status::kOk, {""}}).ok());
}

TEST(BlockListMessagesTest, FailureReplyWithEntriesIsRefusedBothWays) {
  EXPECT_FALSE(Encode(BlockListReply{Status::kInternal, {"a@b.onion"}}).ok());
  auto bytes = Encode(BlockListReply{Status::kOk, {"a@b.onion"}});
  ASSERT_TRUE(bytes.ok());
  (*bytes)[9] = static_cast<uint8_t>(Status::kInternal);  // status: u16 after the header
  EXPECT_FALSE(Decode(*bytes).ok());
}

TEST(BlockListMessagesTest, CheckRecipientRequestCarriesTheSenderLastAndBoundsIt) {
  auto got = RoundTrip(CheckRecipientRequest{"bob", 7, "x@y.onion"});
  EXPECT_EQ(got.sender, "x@y.onion");
  auto bytes = Encode(CheckRecipientRequest{"bob", 7, "x@y.onion"});
  ASSERT_TRUE(bytes.ok());
  // After the 8-byte header: u16 length + "bob", u64 size, u16 length + sender.
  std::vector<uint8_t> payload(bytes->begin() + 8, bytes->end());
  std::vector<uint8_t> expected = {0, 3, 'b', 'o', 'b', 0, 0, 0, 0, 0, 0, 0, 7, 0, 9};
  for (char c : std::string("x@y.onion")) expected.push_back(static_cast<uint8_t>(c));
  EXPECT_EQ(payload, expected);
  EXPECT_TRUE(Encode(CheckRecipientRequest{"bob", 0, std::string(kMaxPathBytes, 'a')}).ok());
  EXPECT_FALSE(Encode(CheckRecipientRequest{"bob", 0, std::string(kMaxPathBytes + 1, 'a')}).ok());
  EXPECT_FALSE(Encode(CheckRecipientRequest{"bob", 0, "x@y\r\nRCPT"}).ok());
}

TEST(BlockListMessagesTest, StatusPastRefusedIsMalformed) {
  auto bytes = Encode(BlockListReply{Status::kOk, {}});
  ASSERT_TRUE(bytes.ok());
  (*bytes)[9] = static_cast<uint8_t>(Status::kRefused) + 1;
  EXPECT_FALSE(Decode(*bytes).ok());
}

}  // namespace
}  // namespace onionmail::ipc
