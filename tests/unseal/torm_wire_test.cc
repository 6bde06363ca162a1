// The TORM wire format (torm_wire.h): verb names and the PUSH/DERK/STAT
// bodies and replies, round trips at and beyond their limits. The signed
// request envelope is tested in torm_wire_request_test.cc, signatures in
// torm_wire_signature_test.cc.
#include "unseal/torm_wire.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/unseal/torm_wire_test_util.h"

namespace onionmail::unseal {
namespace {

using Bytes = std::vector<uint8_t>;

Point ValidPoint() {
  auto key = GeneratePeerKey();
  EXPECT_TRUE(key.ok());
  return key->S;
}

TlsPin Pin(uint8_t fill) {
  TlsPin pin{};
  pin.fill(fill);
  return pin;
}

PushBody SamplePush() {
  PushBody body;
  body.t = 2;
  body.n = 3;
  body.peer_id = "peer-1.example.onion:25";
  body.kctl_pub.fill(0x5a);
  body.credits_requested = 1000;
  body.forward_peers = {{"peer-2.example.onion:25", Pin(0x22)}, {"10.0.0.3:2525", Pin(0x33)}};
  return body;
}

// ------------------------------------------------------------------- verbs

TEST(TormVerbTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (Verb v : {Verb::kPush, Verb::kDerk, Verb::kStat}) {
    auto parsed = ParseVerbName(VerbName(v));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, v);
  }
  EXPECT_EQ(VerbName(Verb::kDerk), "DERK");
  for (const char* bad : {"", "derk", "KCTL", "DERK ", "PUSHX"}) {
    ExpectInvalid(ParseVerbName(bad).error());
  }
}

// ------------------------------------------------------------------- bodies

TEST(TormBodyTest, PushBodyRoundTrips) {
  const PushBody body = SamplePush();
  auto wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  auto parsed = ParsePushBody(*wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, body);
}

TEST(TormBodyTest, PushBodyAtTheLimitsRoundTrips) {
  PushBody body = SamplePush();
  body.t = 32;
  body.n = 32;
  body.peer_id.assign(255, 'p');
  body.credits_requested = 0xffffffff;
  body.forward_peers.clear();
  for (size_t i = 0; i < kMaxForwardPeers; ++i) {
    body.forward_peers.push_back(
        {std::string(255, static_cast<char>('a' + i % 26)), Pin(static_cast<uint8_t>(i))});
  }
  auto wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  auto parsed = ParsePushBody(*wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, body);

  body.forward_peers.clear();
  wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok());
  parsed = ParsePushBody(*wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->forward_peers.empty());
}

TEST(TormBodyTest, PushBodyTruncatedOrWithTrailingByteIsRefused) {
  auto wire = EncodePushBody(SamplePush());
  ASSERT_TRUE(wire.ok());
  ExpectEveryTruncationAndTrailingByteRefused(*wire, Discard(ParsePushBody));
}

TEST(TormBodyTest, PushBodyWithBadThresholdIsRefused) {
  for (auto [t, n] : std::vector<std::pair<int, int>>{{0, 3}, {1, 3}, {4, 3}, {2, 33}, {33, 33}}) {
    PushBody body = SamplePush();
    body.t = static_cast<uint8_t>(t);
    body.n = static_cast<uint8_t>(n);
    ExpectInvalid(EncodePushBody(body).error());
    auto wire = EncodePushBody(SamplePush());
    ASSERT_TRUE(wire.ok());
    (*wire)[0] = body.t;
    (*wire)[1] = body.n;
    ExpectInvalid(ParsePushBody(*wire).error());
  }
}

TEST(TormBodyTest, PushBodyWithEmptyOrOversizedPeerIdIsRefused) {
  PushBody body = SamplePush();
  body.peer_id = "";
  ExpectInvalid(EncodePushBody(body).error());
  body.peer_id.assign(256, 'p');
  ExpectInvalid(EncodePushBody(body).error());

  // On the wire: a zero length byte for peer_id.
  auto wire = EncodePushBody(SamplePush());
  ASSERT_TRUE(wire.ok());
  Bytes zero = {(*wire)[0], (*wire)[1], 0x00};
  zero.insert(zero.end(), wire->begin() + 3 + SamplePush().peer_id.size(), wire->end());
  auto r = ParsePushBody(zero);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: peer_id length out of range");
}

TEST(TormBodyTest, PushBodyWithEmptyOrOversizedAddressIsRefused) {
  PushBody body = SamplePush();
  body.forward_peers[1].address = "";
  ExpectInvalid(EncodePushBody(body).error());
  body.forward_peers[1].address.assign(256, 'a');
  ExpectInvalid(EncodePushBody(body).error());

  PushBody one = SamplePush();
  one.forward_peers.resize(1);
  auto wire = EncodePushBody(one);
  ASSERT_TRUE(wire.ok());
  const size_t address_len_at =
      wire->size() - kTlsPinSize - one.forward_peers[0].address.size() - 1;
  Bytes zero(wire->begin(), wire->begin() + static_cast<long>(address_len_at));
  zero.push_back(0x00);
  zero.insert(zero.end(), wire->end() - kTlsPinSize, wire->end());
  auto r = ParsePushBody(zero);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: address length out of range");
}

TEST(TormBodyTest, PushBodyWithMoreThan32ForwardPeersIsRefused) {
  PushBody body = SamplePush();
  body.forward_peers.assign(kMaxForwardPeers + 1, ForwardPeer{"p:25", Pin(1)});
  ExpectInvalid(EncodePushBody(body).error());

  // Build the 33-entry body by hand: the count byte is refused before the entries.
  body.forward_peers.resize(kMaxForwardPeers);
  auto wire = EncodePushBody(body);
  ASSERT_TRUE(wire.ok());
  const size_t count_at = 2 + 1 + body.peer_id.size() + kKctlPublicKeySize + 4;
  ASSERT_EQ((*wire)[count_at], kMaxForwardPeers);
  (*wire)[count_at] = kMaxForwardPeers + 1;
  const Bytes extra = {4, 'p', ':', '2', '5'};
  wire->insert(wire->end(), extra.begin(), extra.end());
  wire->insert(wire->end(), kTlsPinSize, 0x01);
  auto r = ParsePushBody(*wire);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: too many forward peers");
}

TEST(TormBodyTest, RepliesAndDerkBodyRoundTrip) {
  const PushReply push{ValidPoint(), 77};
  auto w1 = EncodePushReply(push);
  ASSERT_TRUE(w1.ok());
  EXPECT_EQ(w1->size(), kPointSize + 4);
  EXPECT_EQ(*ParsePushReply(*w1), push);

  const DerkBody derk{ValidPoint()};
  auto w2 = EncodeDerkBody(derk);
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(w2->size(), kPointSize);
  EXPECT_EQ(*ParseDerkBody(*w2), derk);

  const DerkReply reply{ValidPoint(), 0xfffffffe, 0x0102030405060708};
  auto w3 = EncodeDerkReply(reply);
  ASSERT_TRUE(w3.ok());
  EXPECT_EQ(w3->size(), kPointSize + 12);
  EXPECT_EQ(*ParseDerkReply(*w3), reply);

  for (bool disabled : {false, true}) {
    const StatReply stat{disabled, 5, 9, 1767225600};
    const Bytes w4 = EncodeStatReply(stat);
    EXPECT_EQ(w4.size(), 21u);
    EXPECT_EQ(w4[0], disabled ? 1 : 0);
    EXPECT_EQ(*ParseStatReply(w4), stat);
  }
  EXPECT_TRUE(EncodeStatBody().empty());
  EXPECT_TRUE(ParseStatBody({}).ok());
}

TEST(TormBodyTest, FixedSizeMessagesTruncatedOrWithTrailingByteAreRefused) {
  ExpectEveryTruncationAndTrailingByteRefused(*EncodePushReply({ValidPoint(), 1}),
                                              Discard(ParsePushReply));
  ExpectEveryTruncationAndTrailingByteRefused(*EncodeDerkBody({ValidPoint()}),
                                              Discard(ParseDerkBody));
  ExpectEveryTruncationAndTrailingByteRefused(*EncodeDerkReply({ValidPoint(), 1, 2}),
                                              Discard(ParseDerkReply));
  ExpectEveryTruncationAndTrailingByteRefused(EncodeStatReply({true, 1, 2, 3}),
                                              Discard(ParseStatReply));
}

TEST(TormBodyTest, NonEmptyStatBodyIsRefused) {
  const Bytes one = {0};
  ExpectInvalid(ParseStatBody(one).error());
}

TEST(TormBodyTest, StatReplyWithReservedFlagBitsIsRefused) {
  Bytes wire = EncodeStatReply({false, 1, 2, 3});
  for (uint8_t flags : {0x02, 0x80, 0xff}) {
    wire[0] = flags;
    auto r = ParseStatReply(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "torm: reserved flag bits set");
  }
}

TEST(TormBodyTest, BadPointsAreRefusedByParsersAndEncoders) {
  const Point good = ValidPoint();
  Point compressed_prefix = good;
  compressed_prefix[0] = 0x02;
  Point off_curve = good;
  off_curve[64] ^= 0x01;
  const Point zero{};
  for (const Point& bad : {compressed_prefix, off_curve, zero}) {
    ExpectInvalid(ParseDerkBody(bad).error());
    ExpectInvalid(EncodeDerkBody({bad}).error());
    ExpectInvalid(EncodePushReply({bad, 1}).error());
    ExpectInvalid(EncodeDerkReply({bad, 1, 1}).error());
    Bytes push(bad.begin(), bad.end());
    push.insert(push.end(), 4, 0);
    ExpectInvalid(ParsePushReply(push).error());
    Bytes derk(bad.begin(), bad.end());
    derk.insert(derk.end(), 12, 0);
    ExpectInvalid(ParseDerkReply(derk).error());
  }
}

}  // namespace
}  // namespace onionmail::unseal
