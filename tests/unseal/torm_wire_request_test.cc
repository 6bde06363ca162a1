// The TORM signed request envelope (torm_wire.h): its documented layout, round
// trips, and the refusal of truncated, oversized or malformed envelopes.
#include <gtest/gtest.h>

#include <vector>

#include "tests/unseal/torm_wire_test_util.h"
#include "unseal/torm_wire.h"

namespace onionmail::unseal {
namespace {

using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------- signed requests

SignedRequest SampleRequest(Verb verb = Verb::kPush) {
  return SignedRequest{verb, {1, 2, 3}, {0x30, 0x00}, Bytes(256, 0xab)};
}

TEST(TormRequestTest, EnvelopeRoundTripsWithTheDocumentedLayout) {
  const SignedRequest request = SampleRequest(Verb::kStat);
  auto wire = EncodeSignedRequest(request);
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  ASSERT_EQ(wire->size(), 2 + 4 + 3 + 2 + 2 + 2 + 256u);
  EXPECT_EQ((*wire)[0], kTormVersion);
  EXPECT_EQ((*wire)[1], 3);
  EXPECT_EQ(Bytes(wire->begin() + 2, wire->begin() + 9), (Bytes{0, 0, 0, 3, 1, 2, 3}));
  EXPECT_EQ(Bytes(wire->begin() + 9, wire->begin() + 13), (Bytes{0, 2, 0x30, 0x00}));
  EXPECT_EQ(Bytes(wire->begin() + 13, wire->begin() + 15), (Bytes{0x01, 0x00}));
  auto parsed = ParseSignedRequest(*wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, request);

  auto built = BuildSignedRequest(request.verb, request.body, request.spki_der, request.signature);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built, *wire);
}

TEST(TormRequestTest, EnvelopeWithEmptyBodyRoundTrips) {
  SignedRequest request = SampleRequest(Verb::kStat);
  request.body.clear();
  auto wire = EncodeSignedRequest(request);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(*ParseSignedRequest(*wire), request);
}

TEST(TormRequestTest, EnvelopeTruncatedOrWithTrailingByteIsRefused) {
  auto wire = EncodeSignedRequest(SampleRequest());
  ASSERT_TRUE(wire.ok());
  ExpectEveryTruncationAndTrailingByteRefused(*wire, Discard(ParseSignedRequest));
}

TEST(TormRequestTest, WrongVersionIsRefused) {
  auto wire = EncodeSignedRequest(SampleRequest());
  ASSERT_TRUE(wire.ok());
  for (uint8_t version : {0x00, 0x02, 0xff}) {
    (*wire)[0] = version;
    auto r = ParseSignedRequest(*wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "torm: unsupported version");
  }
}

TEST(TormRequestTest, UnknownVerbIsRefusedAndTkimIsKnown) {
  auto wire = EncodeSignedRequest(SampleRequest());
  ASSERT_TRUE(wire.ok());
  for (uint8_t verb : {0x00, 0x05, 0xff}) {
    (*wire)[1] = verb;
    auto r = ParseSignedRequest(*wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "torm: unknown verb");
    ExpectInvalid(BuildSignedRequest(static_cast<Verb>(verb), {}, Bytes{1}, Bytes{1}).error());
  }
  (*wire)[1] = 0x04;  // TKIM: parsed here, refused by the TORM handler and accepted by TKIM
  auto tkim = ParseSignedRequest(*wire);
  ASSERT_TRUE(tkim.ok()) << tkim.error().message;
  EXPECT_EQ(tkim->verb, Verb::kTkim);
}

TEST(TormRequestTest, EmptyKeyOrSignatureIsRefused) {
  SignedRequest request = SampleRequest();
  request.spki_der.clear();
  ExpectInvalid(EncodeSignedRequest(request).error());
  request = SampleRequest();
  request.signature.clear();
  ExpectInvalid(EncodeSignedRequest(request).error());

  const Bytes no_key = {1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa};
  ExpectInvalid(ParseSignedRequest(no_key).error());
  const Bytes no_signature = {1, 1, 0, 0, 0, 0, 0, 1, 0x30, 0, 0};
  ExpectInvalid(ParseSignedRequest(no_signature).error());
  const Bytes minimal = {1, 1, 0, 0, 0, 0, 0, 1, 0x30, 0, 1, 0xaa};
  EXPECT_TRUE(ParseSignedRequest(minimal).ok());
}

TEST(TormRequestTest, OversizedBodyIsRefused) {
  SignedRequest request = SampleRequest();
  request.body.assign(kMaxRequestBodySize, 0x11);
  auto wire = EncodeSignedRequest(request);
  ASSERT_TRUE(wire.ok());
  EXPECT_TRUE(ParseSignedRequest(*wire).ok());

  request.body.push_back(0x11);
  ExpectInvalid(EncodeSignedRequest(request).error());
  // A length field announcing more than the limit is refused before reading.
  const Bytes huge = {1, 1, 0xff, 0xff, 0xff, 0xff};
  auto r = ParseSignedRequest(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: body length out of range");
}

}  // namespace
}  // namespace onionmail::unseal
