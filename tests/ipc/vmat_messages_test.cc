// Codec tests for the VMAT messages of src/ipc/messages.h (VmatLookupRequest,
// VmatLookupReply, VmatOwnRequest, VmatSenderRequest, VmatServerRequest,
// RelayVmatRequest; mail/vmat.h): wire numbers, round trips and layout, a
// target exactly when kOk, and the bounds, each refused both ways.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ipc/codec.h"
#include "ipc/messages.h"
#include "tests/ipc/message_round_trip.h"

namespace onionmail::ipc {
namespace {

const std::string kTarget = "alice@" + std::string(56, 'a') + ".onion";

std::vector<uint8_t> Field(const std::string& s) {
  std::vector<uint8_t> out;
  out.push_back(static_cast<uint8_t>(s.size() >> 8));
  out.push_back(static_cast<uint8_t>(s.size()));
  for (char c : s) out.push_back(static_cast<uint8_t>(c));
  return out;
}

std::vector<uint8_t> ReplyPayload(Status status, const std::string& target) {
  const auto code = static_cast<uint16_t>(status);
  std::vector<uint8_t> p;
  p.push_back(static_cast<uint8_t>(code >> 8));
  p.push_back(static_cast<uint8_t>(code));
  for (uint8_t b : Field(target)) p.push_back(b);
  return p;
}

TEST(VmatMessagesTest, WireNumbers) {
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kVmatLookupRequest), 72);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kVmatLookupReply), 73);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kVmatOwnRequest), 74);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kVmatSenderRequest), 75);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kVmatServerRequest), 76);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kRelayVmatRequest), 77);
  EXPECT_EQ(kProtocolVersion, 12);
}

TEST(VmatMessagesTest, RequestIsTheAliasAsAField) {
  EXPECT_EQ(RoundTrip(VmatLookupRequest{"alice"}).alias, "alice");
  auto bytes = Encode(VmatLookupRequest{"bob"});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(FramePayload(*bytes), Field("bob"));
  EXPECT_FALSE(Encode(VmatLookupRequest{""}).ok());
  EXPECT_FALSE(Encode(VmatLookupRequest{std::string(kMaxLocalPartBytes + 1, 'a')}).ok());
  EXPECT_FALSE(Encode(VmatLookupRequest{"a\r\nb"}).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kVmatLookupRequest, Field(""))).ok());
  EXPECT_FALSE(
      Decode(Frame(MsgType::kVmatLookupRequest, Field(std::string(kMaxLocalPartBytes + 1, 'a'))))
          .ok());
}

TEST(VmatMessagesTest, ReplyCarriesATargetExactlyWhenOk) {
  auto ok = RoundTrip(VmatLookupReply{Status::kOk, kTarget});
  EXPECT_EQ(ok.status, Status::kOk);
  EXPECT_EQ(ok.target, kTarget);
  auto bytes = Encode(VmatLookupReply{Status::kOk, kTarget});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(FramePayload(*bytes), ReplyPayload(Status::kOk, kTarget));
  EXPECT_EQ(RoundTrip(VmatLookupReply{Status::kNotFound, ""}).status, Status::kNotFound);

  EXPECT_FALSE(Encode(VmatLookupReply{Status::kOk, ""}).ok());
  EXPECT_FALSE(Encode(VmatLookupReply{Status::kOk, "alice"}).ok());
  EXPECT_FALSE(Encode(VmatLookupReply{Status::kNotFound, kTarget}).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kVmatLookupReply, ReplyPayload(Status::kOk, ""))).ok());
  EXPECT_FALSE(
      Decode(Frame(MsgType::kVmatLookupReply, ReplyPayload(Status::kNotFound, kTarget))).ok());
  EXPECT_FALSE(Encode(VmatLookupReply{Status::kOk, std::string(kMaxPathBytes, 'a') + "@"}).ok());
}

TEST(VmatMessagesTest, OwnRequestIsAnOpOf0To2) {
  for (uint16_t op : {0, 1, 2}) EXPECT_EQ(RoundTrip(VmatOwnRequest{op}).op, op);
  auto bytes = Encode(VmatOwnRequest{2});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(FramePayload(*bytes), (std::vector<uint8_t>{0, 2}));
  EXPECT_FALSE(Encode(VmatOwnRequest{3}).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kVmatOwnRequest, {0, 3})).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kVmatOwnRequest, {0, 1, 0})).ok());
}

TEST(VmatMessagesTest, SenderRequestIsThePathAsAField) {
  EXPECT_EQ(RoundTrip(VmatSenderRequest{kTarget}).sender, kTarget);
  auto bytes = Encode(VmatSenderRequest{kTarget});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(FramePayload(*bytes), Field(kTarget));
  EXPECT_FALSE(Encode(VmatSenderRequest{""}).ok());
  EXPECT_FALSE(Encode(VmatSenderRequest{std::string(kMaxPathBytes + 1, 'a')}).ok());
  EXPECT_FALSE(Encode(VmatSenderRequest{"a\nb@c"}).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kVmatSenderRequest, Field(""))).ok());
  EXPECT_FALSE(
      Decode(Frame(MsgType::kVmatSenderRequest, Field(std::string(kMaxPathBytes + 1, 'a')))).ok());
}

TEST(VmatMessagesTest, ServerRequestIsTheOpThenUserAndAliasFields) {
  auto back = RoundTrip(VmatServerRequest{1, "dave", "dave.b"});
  EXPECT_EQ(back.op, 1);
  EXPECT_EQ(back.user, "dave");
  EXPECT_EQ(back.alias, "dave.b");
  EXPECT_EQ(RoundTrip(VmatServerRequest{0, "dave", ""}).alias, "");
  auto bytes = Encode(VmatServerRequest{2, "ab", "c"});
  ASSERT_TRUE(bytes.ok());
  std::vector<uint8_t> want = {0, 2};
  for (uint8_t b : Field("ab")) want.push_back(b);
  for (uint8_t b : Field("c")) want.push_back(b);
  EXPECT_EQ(FramePayload(*bytes), want);
  const std::string long_name(kMaxLocalPartBytes + 1, 'a');
  EXPECT_FALSE(Encode(VmatServerRequest{3, "dave", ""}).ok());
  EXPECT_FALSE(Encode(VmatServerRequest{0, "", ""}).ok());
  EXPECT_FALSE(Encode(VmatServerRequest{1, long_name, "x"}).ok());
  EXPECT_FALSE(Encode(VmatServerRequest{1, "dave", long_name}).ok());
  EXPECT_FALSE(Encode(VmatServerRequest{1, "dave", "a\r\nb"}).ok());
  auto frame = [](uint8_t op, const std::string& user, const std::string& alias) {
    std::vector<uint8_t> p = {0, op};
    for (uint8_t b : Field(user)) p.push_back(b);
    for (uint8_t b : Field(alias)) p.push_back(b);
    return Frame(MsgType::kVmatServerRequest, p);
  };
  EXPECT_TRUE(Decode(frame(1, "dave", "dave.b")).ok());
  EXPECT_FALSE(Decode(frame(3, "dave", "dave.b")).ok());
  EXPECT_FALSE(Decode(frame(1, "", "dave.b")).ok());
  EXPECT_FALSE(Decode(frame(1, long_name, "")).ok());
  EXPECT_FALSE(Decode(frame(1, "dave", long_name)).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kVmatServerRequest, {0, 1})).ok()) << "fields missing";
}

TEST(VmatMessagesTest, RelayRequestHasTheServerRequestsLayoutAndBounds) {
  auto back = RoundTrip(RelayVmatRequest{1, "dave", "dave.b"});
  EXPECT_EQ(back.op, 1);
  EXPECT_EQ(back.user, "dave");
  EXPECT_EQ(back.alias, "dave.b");
  auto relay = Encode(RelayVmatRequest{2, "ab", "c"});
  auto server = Encode(VmatServerRequest{2, "ab", "c"});
  ASSERT_TRUE(relay.ok() && server.ok());
  EXPECT_EQ(FramePayload(*relay), FramePayload(*server));
  EXPECT_FALSE(Encode(RelayVmatRequest{3, "dave", ""}).ok());
  EXPECT_FALSE(Encode(RelayVmatRequest{0, "", ""}).ok());
  EXPECT_FALSE(Encode(RelayVmatRequest{1, "dave", std::string(kMaxLocalPartBytes + 1, 'a')}).ok());
  EXPECT_FALSE(Decode(Frame(MsgType::kRelayVmatRequest, {0, 3, 0, 1, 'd', 0, 0})).ok());
  EXPECT_TRUE(Decode(Frame(MsgType::kRelayVmatRequest, {0, 0, 0, 1, 'd', 0, 0})).ok());
}

}  // namespace
}  // namespace onionmail::ipc
