// Codec tests for the mailing-list messages of src/ipc/messages.h
// (ListRequest, ListReply): round trips of every op, the wire layout and
// numbers, the op's range, the bounds of a name, a user and a member (local
// or remote, up to kMaxListMemberBytes), the owner and the member count, and the reply's shape
// rules (no owner or members unless kOk; the owner among the members), each refused both ways.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "ipc/codec.h"
#include "ipc/messages.h"
#include "mail/mailing_list.h"
#include "tests/ipc/message_round_trip.h"

namespace onionmail::ipc {
namespace {

using Members = std::vector<std::string>;

// A remote member "<local>@<v3 onion>" of `size` bytes (65..kMaxListMemberBytes).
std::string RemoteMember(size_t size, char fill = 'l') {
  const std::string domain = "@aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
  return std::string(size - domain.size(), fill) + domain;
}

std::vector<uint8_t> ReplyFrame(const std::vector<uint8_t>& payload) {
  return Frame(MsgType::kListReply, payload);
}

TEST(ListMessagesTest, ProtocolVersionAndWireNumbers) {
  EXPECT_GE(kProtocolVersion, 5);  // 5 brought the list messages
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kListRequest), 63);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kListReply), 64);
  EXPECT_EQ(kMaxListMembers, mail::kMaxListMembers);
  EXPECT_EQ(kMaxListMemberBytes, mail::kMaxListMemberBytes);
  EXPECT_EQ(kMaxListMemberBytes, 127u);  // a local part, '@', a v3 onion name
  EXPECT_GE(kMaxListNameBytes, mail::kMaxListNameBytes);
}

TEST(ListMessagesTest, EveryOpRoundTrips) {
  for (uint16_t op = 0; op <= mail::kMaxListOp; ++op) {
    auto got = RoundTrip(ListRequest{op, "team", op == 2 ? "bob" : ""});
    EXPECT_EQ(got.op, op);
    EXPECT_EQ(got.name, "team");
  }
  auto add = RoundTrip(ListRequest{static_cast<uint16_t>(mail::ListOp::kAdd), "team", "bob"});
  EXPECT_EQ(add.user, "bob");
}

TEST(ListMessagesTest, RequestWireLayout) {
  auto bytes = Encode(ListRequest{static_cast<uint16_t>(mail::ListOp::kRemove), "ab", "cde"});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ((*bytes)[5], 63);
  EXPECT_EQ(FramePayload(*bytes),
            (std::vector<uint8_t>{0, 3, 0, 2, 'a', 'b', 0, 3, 'c', 'd', 'e'}));
}

TEST(ListMessagesTest, ReplyRoundTripsAndWireLayout) {
  auto shown = RoundTrip(ListReply{Status::kOk, "bob", {"alice", "bob"}});
  EXPECT_EQ(shown.owner, "bob");
  EXPECT_EQ(shown.members, (Members{"alice", "bob"}));
  auto destroyed = RoundTrip(ListReply{Status::kOk, "", {}});
  EXPECT_TRUE(destroyed.owner.empty());
  EXPECT_TRUE(destroyed.members.empty());
  for (Status s : {Status::kPermissionDenied, Status::kNotFound, Status::kAlreadyExists,
                   Status::kResourceExhausted, Status::kDataLoss, Status::kRefused}) {
    EXPECT_EQ(RoundTrip(ListReply{s, "", {}}).status, s);
  }
  auto bytes = Encode(ListReply{Status::kOk, "a", {"a"}});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ((*bytes)[5], 64);
  EXPECT_EQ(FramePayload(*bytes),
            (std::vector<uint8_t>{0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 0, 0, 0}));
  auto announce = Encode(ListReply{Status::kOk, "a", {"a"}, true});
  ASSERT_TRUE(announce.ok());
  EXPECT_EQ(FramePayload(*announce),
            (std::vector<uint8_t>{0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 1, 0, 0}));
  auto moderated = Encode(ListReply{Status::kOk, "a", {"a"}, false, true});
  ASSERT_TRUE(moderated.ok());
  EXPECT_EQ(FramePayload(*moderated),
            (std::vector<uint8_t>{0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 0, 0, 1}));
  EXPECT_TRUE(RoundTrip(ListReply{Status::kOk, "a", {"a"}, true}).announce);
  EXPECT_FALSE(RoundTrip(ListReply{Status::kOk, "a", {"a"}, false}).announce);
  auto held = RoundTrip(ListReply{Status::kOk, "a", {"a"}, false, true});
  EXPECT_TRUE(held.moderated);
  EXPECT_FALSE(held.announce);
}

TEST(ListMessagesTest, FlagsAreZeroOrOneNeverBothAndNeverWithoutARecord) {
  EXPECT_FALSE(Encode(ListReply{Status::kOk, "", {}, true}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kOk, "", {}, false, true}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kNotFound, "", {}, true}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kOk, "a", {"a"}, true, true}).ok());
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 2, 0, 0})).ok());
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 1, 1, 0, 0})).ok());
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 0, 0, 2})).ok());
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 1, 0, 1})).ok());
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 0})).ok());  // no moderated
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 0, 0, 0, 0, 1, 0, 0})).ok());  // no list, announce
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 0, 0, 0, 0, 0, 0, 1})).ok());  // no list, moderated
  EXPECT_TRUE(Decode(ReplyFrame({0, 0, 0, 0, 0, 0, 0, 0, 0, 0})).ok());
}

TEST(ListMessagesTest, AnOpPastTheLastIsRefusedBothWays) {
  EXPECT_FALSE(Encode(ListRequest{mail::kMaxListOp + 1, "team", ""}).ok());
  EXPECT_FALSE(Encode(ListRequest{0xffff, "team", ""}).ok());
  auto bytes = Encode(ListRequest{mail::kMaxListOp, "team", ""});
  ASSERT_TRUE(bytes.ok());
  (*bytes)[9] = mail::kMaxListOp + 1;  // op: u16 after the 8-byte frame header
  EXPECT_FALSE(Decode(*bytes).ok());
  (*bytes)[8] = 1;  // op 256 + 7
  EXPECT_FALSE(Decode(*bytes).ok());
}

TEST(ListMessagesTest, NameBoundsAreEnforcedBothWays) {
  EXPECT_TRUE(Encode(ListRequest{0, std::string(kMaxListNameBytes, 'n'), ""}).ok());
  EXPECT_FALSE(Encode(ListRequest{0, std::string(kMaxListNameBytes + 1, 'n'), ""}).ok());
  EXPECT_FALSE(Encode(ListRequest{0, "", ""}).ok());
  EXPECT_FALSE(Encode(ListRequest{0, "te\r\nam", ""}).ok());
  EXPECT_FALSE(Encode(ListRequest{0, std::string("te\0am", 5), ""}).ok());
  // An oversize name on the wire: length 65 and 65 bytes.
  std::vector<uint8_t> payload = {0, 0, 0, static_cast<uint8_t>(kMaxListNameBytes + 1)};
  payload.insert(payload.end(), kMaxListNameBytes + 1, 'n');
  payload.insert(payload.end(), {0, 0});
  EXPECT_FALSE(Decode(Frame(MsgType::kListRequest, payload)).ok());
  // An empty name on the wire.
  EXPECT_FALSE(Decode(Frame(MsgType::kListRequest, {0, 0, 0, 0, 0, 0})).ok());
  EXPECT_TRUE(Decode(Frame(MsgType::kListRequest, {0, 0, 0, 1, 't', 0, 0})).ok());
}

TEST(ListMessagesTest, UserBoundsAreEnforced) {
  EXPECT_TRUE(Encode(ListRequest{2, "team", std::string(kMaxListMemberBytes, 'u')}).ok());
  EXPECT_FALSE(Encode(ListRequest{2, "team", std::string(kMaxListMemberBytes + 1, 'u')}).ok());
  // The longest remote member round-trips; one byte more is refused on the wire.
  const std::string remote = RemoteMember(kMaxListMemberBytes);
  EXPECT_EQ(RoundTrip(ListRequest{2, "team", remote}).user, remote);
  std::vector<uint8_t> payload = {0,   2,   0,   4, 't',
                                  'e', 'a', 'm', 0, static_cast<uint8_t>(kMaxListMemberBytes + 1)};
  payload.insert(payload.end(), kMaxListMemberBytes + 1, 'u');
  EXPECT_FALSE(Decode(Frame(MsgType::kListRequest, payload)).ok());
  payload.pop_back();
  payload[9] = static_cast<uint8_t>(kMaxListMemberBytes);
  EXPECT_TRUE(Decode(Frame(MsgType::kListRequest, payload)).ok());
  EXPECT_FALSE(Encode(ListRequest{2, "team", "bob\x7f"}).ok());
  // A request whose user field claims more bytes than it has.
  auto bytes = Encode(ListRequest{2, "team", "bob"});
  ASSERT_TRUE(bytes.ok());
  bytes->pop_back();
  (*bytes)[3] -= 1;  // the frame length follows, the user's does not
  EXPECT_FALSE(Decode(*bytes).ok());
  bytes->push_back(0x01);  // a control byte
  (*bytes)[3] += 1;
  EXPECT_FALSE(Decode(*bytes).ok());
  bytes->back() = 'b';
  EXPECT_TRUE(Decode(*bytes).ok());
}

TEST(ListMessagesTest, MemberBoundsAreEnforcedBothWays) {
  Members full;
  for (size_t i = 0; i < kMaxListMembers; ++i) {
    std::string m = std::to_string(1000 + i);
    m.resize(kMaxLocalPartBytes, 'm');
    full.push_back(m);
  }
  auto got = RoundTrip(ListReply{Status::kOk, full[0], full});
  EXPECT_EQ(got.members.size(), kMaxListMembers);
  Members too_many = full;
  too_many.push_back("x");
  EXPECT_FALSE(Encode(ListReply{Status::kOk, full[0], too_many}).ok());
  // Remote members of up to kMaxListMemberBytes.
  const std::string longest = RemoteMember(kMaxListMemberBytes);
  EXPECT_EQ(RoundTrip(ListReply{Status::kOk, "a", {"a", longest}}).members,
            (Members{"a", longest}));
  EXPECT_FALSE(
      Encode(ListReply{Status::kOk, "a", {"a", RemoteMember(kMaxListMemberBytes + 1)}}).ok());
  EXPECT_FALSE(
      Encode(ListReply{Status::kOk, "a", {"a", std::string(kMaxListMemberBytes + 1, 'm')}}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kOk, "a", {"a", ""}}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kOk, "a", {"a", "b\nc"}}).ok());
  std::string long_owner(kMaxLocalPartBytes + 1, 'o');  // the owner is a local part
  EXPECT_FALSE(Encode(ListReply{Status::kOk, long_owner, {long_owner}}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kOk, longest, {longest}}).ok());

  // On the wire: a count past kMaxListMembers is refused before any member.
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, static_cast<uint8_t>(kMaxListMembers + 1), 0,
                                  1, 'a', 0, 0, 0, 0}))
                   .ok());
  // A member longer than kMaxListMemberBytes, and one just at it.
  std::vector<uint8_t> payload = {0, 0, 0, 1,   'a', 0,
                                  2, 0, 1, 'a', 0,   static_cast<uint8_t>(kMaxListMemberBytes + 1)};
  payload.insert(payload.end(), kMaxListMemberBytes + 1, 'm');
  payload.insert(payload.end(), {0, 0, 0, 0});  // not announce, not moderated
  EXPECT_FALSE(Decode(ReplyFrame(payload)).ok());
  payload.erase(payload.end() - 5);
  payload[11] = static_cast<uint8_t>(kMaxListMemberBytes);
  EXPECT_TRUE(Decode(ReplyFrame(payload)).ok());
  // An owner longer than a local part, though a member may be.
  std::vector<uint8_t> owner_payload = {0, 0, 0, static_cast<uint8_t>(kMaxLocalPartBytes + 1)};
  owner_payload.insert(owner_payload.end(), kMaxLocalPartBytes + 1, 'o');
  owner_payload.insert(owner_payload.end(),
                       {0, 1, 0, static_cast<uint8_t>(kMaxLocalPartBytes + 1)});
  owner_payload.insert(owner_payload.end(), kMaxLocalPartBytes + 1, 'o');
  EXPECT_FALSE(Decode(ReplyFrame(owner_payload)).ok());
  // A count that promises more members than follow, and trailing bytes.
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 2, 0, 1, 'a', 0, 0, 0, 0})).ok());
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 0, 0, 0, 0})).ok());
  EXPECT_FALSE(
      Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 0, 0})).ok());  // half a flag
  EXPECT_TRUE(Decode(ReplyFrame({0, 0, 0, 1, 'a', 0, 1, 0, 1, 'a', 0, 0, 0, 0})).ok());
}

TEST(ListMessagesTest, FailureReplyWithARecordIsRefusedBothWays) {
  EXPECT_FALSE(Encode(ListReply{Status::kInternal, "a", {"a"}}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kPermissionDenied, "", {"a"}}).ok());
  auto bytes = Encode(ListReply{Status::kOk, "a", {"a"}});
  ASSERT_TRUE(bytes.ok());
  (*bytes)[9] = static_cast<uint8_t>(Status::kPermissionDenied);  // status: u16 after the header
  EXPECT_FALSE(Decode(*bytes).ok());
  (*bytes)[9] = static_cast<uint8_t>(Status::kRefused) + 1;
  EXPECT_FALSE(Decode(*bytes).ok());
}

TEST(ListMessagesTest, OwnerMustBeAMemberAndMembersNeedAnOwner) {
  EXPECT_FALSE(Encode(ListReply{Status::kOk, "carol", {"alice", "bob"}}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kOk, "", {"alice"}}).ok());
  EXPECT_FALSE(Encode(ListReply{Status::kOk, "alice", {}}).ok());
  // Owner "a" among {"a"}: then the member renamed "b" on the wire.
  auto bytes = Encode(ListReply{Status::kOk, "a", {"a"}});
  ASSERT_TRUE(bytes.ok());
  (*bytes)[bytes->size() - 3] = 'b';  // the member's one byte, before the announce flag
  EXPECT_FALSE(Decode(*bytes).ok());
  EXPECT_FALSE(Decode(ReplyFrame({0, 0, 0, 0, 0, 1, 0, 1, 'a', 0, 0})).ok());  // no owner
}

}  // namespace
}  // namespace onionmail::ipc
