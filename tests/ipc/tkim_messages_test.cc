// Codec tests for the TKIM messages of src/ipc/messages.h (ServerKeyRequest
// ... TkimCheckReply, TkimVouchRequest ... TkimProvenRequest): every message
// round-trips, a vouch is exactly kTkimVouchBytes, the exact layout of the
// check request, bounds on both sides, and replies that carry fields with a
// failure status are refused.
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

std::vector<uint8_t> Vouch(uint8_t fill) { return std::vector<uint8_t>(kTkimVouchBytes, fill); }

mail::ChannelBinding Cb(uint8_t fill) {
  mail::ChannelBinding cb{};
  cb.fill(fill);
  return cb;
}

TEST(TkimMessagesTest, EveryTkimMessageRoundTrips) {
  (void)RoundTrip(ServerKeyRequest{});
  EXPECT_EQ(RoundTrip(ServerKeyReply{Status::kOk, {1, 2, 3}}).spki_der,
            (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(RoundTrip(ServerKeyReply{Status::kUnavailable, {}}).status, Status::kUnavailable);
  auto proof_request = RoundTrip(TkimProofRequest{kOnion, Cb(9)});
  EXPECT_EQ(proof_request.receiver_domain, kOnion);
  EXPECT_EQ(proof_request.channel_binding, Cb(9));
  EXPECT_EQ(RoundTrip(TkimProofReply{Status::kOk, {7, 7}}).proof, (std::vector<uint8_t>{7, 7}));
  EXPECT_EQ(RoundTrip(TkimProofReply{Status::kInvalidArgument, {}}).status,
            Status::kInvalidArgument);
  auto check = RoundTrip(TkimCheckRequest{Cb(3), {4, 5}});
  EXPECT_EQ(check.channel_binding, Cb(3));
  EXPECT_EQ(check.proof, (std::vector<uint8_t>{4, 5}));
  EXPECT_EQ(RoundTrip(TkimCheckReply{Status::kOk, kOnion, {}}).sender_domain, kOnion);
  EXPECT_EQ(RoundTrip(TkimCheckReply{Status::kOk, kOnion, Vouch(6)}).vouch, Vouch(6));
  EXPECT_EQ(RoundTrip(TkimCheckReply{Status::kUnauthenticated, "", {}}).status,
            Status::kUnauthenticated);
  EXPECT_EQ(RoundTrip(TkimVouchRequest{kOnion}).sender_domain, kOnion);
  auto vouch = RoundTrip(TkimVouchReply{Status::kOk, kOnion, Vouch(1)});
  EXPECT_EQ(vouch.sender_domain, kOnion);
  EXPECT_EQ(vouch.vouch, Vouch(1));
  EXPECT_EQ(RoundTrip(TkimVouchReply{Status::kInvalidArgument, kOnion, {}}).status,
            Status::kInvalidArgument);
  auto proven = RoundTrip(TkimProvenRequest{kOnion, Vouch(2)});
  EXPECT_EQ(proven.sender_domain, kOnion);
  EXPECT_EQ(proven.vouch, Vouch(2));
}

TEST(TkimMessagesTest, ProtocolVersionAndWireNumbersOfTheVouches) {
  EXPECT_GE(kProtocolVersion, 7);  // 7 brought the vouches
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kTkimVouchRequest), 67);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kTkimVouchReply), 68);
  EXPECT_EQ(static_cast<uint16_t>(MsgType::kTkimProvenRequest), 69);
  EXPECT_EQ(kTkimVouchBytes, 40u);
}

TEST(TkimMessagesTest, AVouchIsExactlyFortyBytesOrAbsentWhereItMayBe) {
  for (size_t size : {size_t{1}, kTkimVouchBytes - 1, kTkimVouchBytes + 1}) {
    std::vector<uint8_t> odd(size, 3);
    EXPECT_FALSE(Encode(TkimCheckReply{Status::kOk, kOnion, odd}).ok()) << size;
    EXPECT_FALSE(Encode(TkimVouchReply{Status::kOk, kOnion, odd}).ok()) << size;
    EXPECT_FALSE(Encode(TkimProvenRequest{kOnion, odd}).ok()) << size;
  }
  EXPECT_FALSE(Encode(TkimVouchReply{Status::kOk, kOnion, {}}).ok());
  EXPECT_FALSE(Encode(TkimProvenRequest{kOnion, {}}).ok());
  EXPECT_FALSE(Encode(TkimProvenRequest{"", Vouch(1)}).ok());
  EXPECT_FALSE(Encode(TkimVouchRequest{""}).ok());
  // The decoder: a check reply whose vouch is one byte short (length patched).
  auto bytes = Encode(TkimCheckReply{Status::kOk, kOnion, Vouch(4)});
  ASSERT_TRUE(bytes.ok());
  std::vector<uint8_t> payload(bytes->begin() + 8, bytes->end() - 1);
  const size_t len_at = payload.size() - (kTkimVouchBytes - 1) - 2;
  payload[len_at + 1] = static_cast<uint8_t>(kTkimVouchBytes - 1);
  auto d = Decode(Frame(MsgType::kTkimCheckReply, payload));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
}

TEST(TkimMessagesTest, CheckRequestIsTheBindingThenTheLengthPrefixedProof) {
  auto bytes = Encode(TkimCheckRequest{Cb(0xab), {0x01, 0x02}});
  ASSERT_TRUE(bytes.ok());
  std::vector<uint8_t> payload(bytes->begin() + 8, bytes->end());  // after the frame header
  std::vector<uint8_t> expected(32, 0xab);
  for (uint8_t b : {0, 2, 1, 2}) expected.push_back(b);  // u16 length, bytes
  EXPECT_EQ(payload, expected);
}

TEST(TkimMessagesTest, FieldsOutOfBoundsAreRefusedByTheEncoder) {
  EXPECT_FALSE(Encode(TkimProofRequest{"", Cb(1)}).ok());
  EXPECT_FALSE(Encode(TkimProofRequest{std::string(kMaxRelayDomainBytes + 1, 'a'), Cb(1)}).ok());
  EXPECT_FALSE(Encode(TkimProofRequest{"a\r\nb.onion", Cb(1)}).ok());
  EXPECT_FALSE(Encode(TkimCheckRequest{Cb(1), {}}).ok());
  EXPECT_FALSE(
      Encode(TkimCheckRequest{Cb(1), std::vector<uint8_t>(mail::kMaxTormBlobBytes + 1, 1)}).ok());
  EXPECT_TRUE(
      Encode(TkimCheckRequest{Cb(1), std::vector<uint8_t>(mail::kMaxTormBlobBytes, 1)}).ok());
  EXPECT_FALSE(
      Encode(ServerKeyReply{Status::kOk, std::vector<uint8_t>(kMaxPublicKeyBytes + 1)}).ok());
}

TEST(TkimMessagesTest, FailureRepliesWithFieldsAreRefusedBothWays) {
  EXPECT_FALSE(Encode(ServerKeyReply{Status::kInternal, {1}}).ok());
  EXPECT_FALSE(Encode(TkimProofReply{Status::kInternal, {1}}).ok());
  EXPECT_FALSE(Encode(TkimCheckReply{Status::kUnauthenticated, kOnion, {}}).ok());
  EXPECT_FALSE(Encode(TkimCheckReply{Status::kUnauthenticated, "", Vouch(1)}).ok());
  EXPECT_FALSE(Encode(TkimVouchReply{Status::kInternal, kOnion, Vouch(1)}).ok());
  // The decoder: an encoded kOk reply whose status is patched to a failure.
  auto bytes = Encode(TkimCheckReply{Status::kOk, kOnion, {}});
  ASSERT_TRUE(bytes.ok());
  (*bytes)[9] = static_cast<uint8_t>(Status::kUnauthenticated);  // status: u16 after the header
  auto d = Decode(*bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace onionmail::ipc
