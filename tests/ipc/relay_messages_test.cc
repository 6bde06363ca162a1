// Codec tests for the relay messages of src/ipc/messages.h (SMTP front end
// <-> relay role: RelayBeginRequest ... RelayReply): exact layout, every
// message round-trips, bounds on both sides, refusal of bad reply codes and
// malformed enhanced codes, truncation and trailing bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ipc/codec.h"
#include "ipc/messages.h"
#include "tests/ipc/message_round_trip.h"

namespace onionmail::ipc {
namespace {

constexpr char kOnion[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

void AppendField(std::vector<uint8_t>& to, std::string_view s) {
  to.push_back(static_cast<uint8_t>(s.size() >> 8));
  to.push_back(static_cast<uint8_t>(s.size()));
  for (char c : s) to.push_back(static_cast<uint8_t>(c));
}

void ExpectInvalid(const std::vector<uint8_t>& frame) {
  auto d = Decode(frame);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
}

std::vector<uint8_t> ReplyPayload(uint16_t status, uint16_t code, std::string_view enhanced) {
  std::vector<uint8_t> p = {static_cast<uint8_t>(status >> 8), static_cast<uint8_t>(status),
                            static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
  AppendField(p, enhanced);
  return p;
}

TEST(RelayMessagesTest, BeginLayoutIsDomainReversePathThenSize) {
  auto bytes = Encode(RelayBeginRequest{kOnion, "alice@a.onion", 0x0102030405060708, true});
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  std::vector<uint8_t> payload;
  AppendField(payload, kOnion);
  AppendField(payload, "alice@a.onion");
  for (uint8_t b : {1, 2, 3, 4, 5, 6, 7, 8, 0, 1}) payload.push_back(b);  // size, u16 8BITMIME
  EXPECT_EQ(*bytes, Frame(MsgType::kRelayBeginRequest, payload));
  auto got = RoundTrip(RelayBeginRequest{kOnion, "alice@a.onion", 1234});
  EXPECT_EQ(got.domain, kOnion);
  EXPECT_EQ(got.reverse_path, "alice@a.onion");
  EXPECT_EQ(got.declared_size, 1234u);
  EXPECT_FALSE(got.body_8bitmime);
  EXPECT_TRUE(RoundTrip(RelayBeginRequest{kOnion, "alice@a.onion", 0, true}).body_8bitmime);
  payload[payload.size() - 1] = 2;  // a boolean is 0 or 1
  ExpectInvalid(Frame(MsgType::kRelayBeginRequest, payload));
}

TEST(RelayMessagesTest, EveryRelayMessageRoundTrips) {
  EXPECT_EQ(RoundTrip(RelayRcptRequest{"bob@b.onion"}).forward_path, "bob@b.onion");
  (void)RoundTrip(RelayDataRequest{});
  (void)RoundTrip(RelayEndRequest{});
  EXPECT_EQ(Encode(RelayDataRequest{})->size(), kFrameHeaderBytes);
  EXPECT_EQ(Encode(RelayEndRequest{})->size(), kFrameHeaderBytes);
  auto append = RoundTrip(RelayAppendRequest{std::vector<uint8_t>(kMaxChunkBytes, 'm')});
  EXPECT_EQ(append.data, std::vector<uint8_t>(kMaxChunkBytes, 'm'));
  auto reply = RoundTrip(RelayReply{Status::kOk, 550, "5.1.1"});
  EXPECT_EQ(reply.status, Status::kOk);
  EXPECT_EQ(reply.code, 550);
  EXPECT_EQ(reply.enhanced, "5.1.1");
  EXPECT_EQ(RoundTrip(RelayReply{Status::kOk, 354, ""}).code, 354);
  EXPECT_EQ(RoundTrip(RelayReply{Status::kOk, 250, "2.123.456"}).enhanced, "2.123.456");
  EXPECT_EQ(RoundTrip(RelayReply{Status::kUnavailable, 0, ""}).status, Status::kUnavailable);
  EXPECT_EQ(Encode(RelayReply{Status::kOk, 451, "4.4.1"}).value(),
            Frame(MsgType::kRelayReply, ReplyPayload(0, 451, "4.4.1")));
}

TEST(RelayMessagesTest, RelayRoleHelloIsValid) {
  auto h = RoundTrip(Hello{Role::kRelay, kProtocolVersion});
  EXPECT_EQ(h.role, Role::kRelay);
}

TEST(RelayMessagesTest, AnEmptyReversePathIsTheNullSender) {
  EXPECT_EQ(RoundTrip(RelayBeginRequest{kOnion, "", 10}).reverse_path, "");
  EXPECT_EQ(RoundTrip(RelayBeginRequest{kOnion, "", 10}).declared_size, 10u);
}

TEST(RelayMessagesTest, OversizeOrEmptyFieldsAreRefusedByEncoderAndDecoder) {
  const std::string long_domain(kMaxRelayDomainBytes + 1, 'a');
  const std::string long_path(kMaxPathBytes + 1, 'p');
  EXPECT_TRUE(Encode(RelayBeginRequest{std::string(kMaxRelayDomainBytes, 'a'),
                                       std::string(kMaxPathBytes, 'p'), 0})
                  .ok());
  EXPECT_FALSE(Encode(RelayBeginRequest{long_domain, "a@b", 0}).ok());
  EXPECT_FALSE(Encode(RelayBeginRequest{"", "a@b", 0}).ok());
  EXPECT_FALSE(Encode(RelayBeginRequest{kOnion, long_path, 0}).ok());
  EXPECT_FALSE(Encode(RelayBeginRequest{kOnion, "a@b\r\nRCPT", 0}).ok());
  EXPECT_FALSE(Encode(RelayRcptRequest{long_path}).ok());
  EXPECT_FALSE(Encode(RelayRcptRequest{""}).ok());
  EXPECT_FALSE(Encode(RelayAppendRequest{std::vector<uint8_t>(kMaxChunkBytes + 1, 'm')}).ok());
  EXPECT_FALSE(Encode(RelayAppendRequest{}).ok());
  EXPECT_FALSE(Encode(RelayReply{Status::kOk, 250, "2.0.0.0"}).ok());

  std::vector<uint8_t> begin;
  AppendField(begin, long_domain);
  AppendField(begin, "a@b");
  begin.resize(begin.size() + 10, 0);
  ExpectInvalid(Frame(MsgType::kRelayBeginRequest, begin));
  std::vector<uint8_t> rcpt;
  AppendField(rcpt, long_path);
  ExpectInvalid(Frame(MsgType::kRelayRcptRequest, rcpt));
  std::vector<uint8_t> bad_name;
  AppendField(bad_name, std::string("bob@b\0", 6));
  ExpectInvalid(Frame(MsgType::kRelayRcptRequest, bad_name));
  std::vector<uint8_t> append;
  AppendField(append, std::string(kMaxChunkBytes + 1, 'm'));
  ExpectInvalid(Frame(MsgType::kRelayAppendRequest, append));
  ExpectInvalid(Frame(MsgType::kRelayAppendRequest, {0, 0}));
  ExpectInvalid(Frame(MsgType::kRelayReply, ReplyPayload(0, 250, "2.0.0.0.0")));
}

TEST(RelayMessagesTest, ReplyCodesOutsideTwoHundredToFiveNinetyNineAreRefused) {
  for (uint16_t code : {0, 1, 199, 600, 999, 0xffff}) {
    EXPECT_FALSE(Encode(RelayReply{Status::kOk, code, ""}).ok()) << code;
    ExpectInvalid(Frame(MsgType::kRelayReply, ReplyPayload(0, code, "")));
  }
  for (uint16_t code : {200, 599}) {
    EXPECT_TRUE(Decode(Frame(MsgType::kRelayReply, ReplyPayload(0, code, ""))).ok()) << code;
  }
}

TEST(RelayMessagesTest, FailureRepliesCarryNoCodeAndNoEnhancedCode) {
  const uint16_t unavailable = static_cast<uint16_t>(Status::kUnavailable);
  EXPECT_FALSE(Encode(RelayReply{Status::kUnavailable, 451, ""}).ok());
  EXPECT_FALSE(Encode(RelayReply{Status::kUnavailable, 0, "4.4.1"}).ok());
  ExpectInvalid(Frame(MsgType::kRelayReply, ReplyPayload(unavailable, 451, "")));
  ExpectInvalid(Frame(MsgType::kRelayReply, ReplyPayload(unavailable, 0, "4.4.1")));
  const uint16_t unknown = static_cast<uint16_t>(Status::kRefused) + 1;
  ExpectInvalid(Frame(MsgType::kRelayReply, ReplyPayload(unknown, 0, "")));  // unknown status
  EXPECT_FALSE(Encode(RelayReply{static_cast<Status>(unknown), 0, ""}).ok());
}

TEST(RelayMessagesTest, MalformedEnhancedCodesAreRefused) {
  for (const char* bad :
       {"5", "5.1", "5.1.", "5..1", ".1.1", "5.1.1.", "5.1111.1", "5.1.1111", "4.1.1", "2.0.0",
        "x.1.1", "5.a.1", "5.1.a", "5 1 1", "5.1.1 ", "5.-1.1", "5.1.+1", "55.1.1"}) {
    EXPECT_FALSE(Encode(RelayReply{Status::kOk, 550, bad}).ok()) << bad;
    ExpectInvalid(Frame(MsgType::kRelayReply, ReplyPayload(0, 550, bad)));
  }
  for (const char* good : {"5.1.1", "5.7.1", "5.0.0", "5.123.123", "5.1.123"}) {
    EXPECT_TRUE(Decode(Frame(MsgType::kRelayReply, ReplyPayload(0, 550, good))).ok()) << good;
  }
}

TEST(RelayMessagesTest, TruncatedOrExtendedFramesAreRefused) {
  for (const Message& m :
       {Message{RelayBeginRequest{kOnion, "a@b", 7}}, Message{RelayRcptRequest{"c@d"}},
        Message{RelayDataRequest{}}, Message{RelayAppendRequest{{1, 2, 3}}},
        Message{RelayEndRequest{}}, Message{RelayReply{Status::kOk, 250, "2.0.0"}}}) {
    auto good = Encode(m);
    ASSERT_TRUE(good.ok());
    std::vector<uint8_t> payload(good->begin() + kFrameHeaderBytes, good->end());
    for (size_t n = 0; n < payload.size(); ++n) {
      ExpectInvalid(Frame(TypeOf(m), std::vector<uint8_t>(payload.begin(), payload.begin() + n)));
    }
    payload.push_back(0);
    ExpectInvalid(Frame(TypeOf(m), payload));
  }
}

}  // namespace
}  // namespace onionmail::ipc
