// TKIM proofs (unseal/tkim_wire.h): the body encoding and its refusals, and
// CheckTkimRequest with real RSA-PSS signatures: accepted for this server,
// this channel and a time inside the window; refused for another channel,
// another receiver, itself as sender, a time outside the window, another verb
// or a tampered signature. The fixed bytes of docs/PROTOCOL.md are checked in
// torm_vectors_test.cc.
#include "unseal/tkim_wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unseal/torm_test_keys.h"

namespace onionmail::unseal {
namespace {

using Bytes = std::vector<uint8_t>;

const std::string kSender = "sender2example7onion4name5for6tkim7tests2aaaaaaaaaaaaaaaaa.onion";
const std::string kReceiver = "receiver3example5onion6name7for2tkim4tests5bbbbbbbbbbbbbbb.onion";
constexpr uint64_t kNow = 1800000000;

std::array<uint8_t, kChannelBindingSize> Cb(uint8_t fill) {
  std::array<uint8_t, kChannelBindingSize> cb{};
  cb.fill(fill);
  return cb;
}

Bytes Body(const TkimBody& body) {
  auto encoded = EncodeTkimBody(body);
  EXPECT_TRUE(encoded.ok()) << encoded.error().message;
  return encoded.ok() ? *encoded : Bytes{};
}

Bytes Proof(const TkimBody& body, uint8_t cb_fill = 7, Verb verb = Verb::kTkim,
            EVP_PKEY* key = ServerKey()) {
  auto signed_request = SignRequestWithKey(key, verb, Cb(cb_fill), Body(body));
  EXPECT_TRUE(signed_request.ok()) << signed_request.error().message;
  auto wire = EncodeSignedRequest(*signed_request);
  EXPECT_TRUE(wire.ok());
  return *wire;
}

TkimBody Good() { return TkimBody{kSender, kReceiver, kNow}; }

TEST(TkimWireTest, BodyIsTwoLengthPrefixedDomainsThenTheTimeBigEndian) {
  auto wire = EncodeTkimBody(TkimBody{"a.onion", "bc.onion", 0x0102030405060708});
  ASSERT_TRUE(wire.ok());
  const std::string expected = std::string(
                                   "\x07"
                                   "a.onion"
                                   "\x08"
                                   "bc.onion") +
                               std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  EXPECT_EQ(*wire, Bytes(expected.begin(), expected.end()));
  auto back = ParseTkimBody(*wire);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (TkimBody{"a.onion", "bc.onion", 0x0102030405060708}));
}

TEST(TkimWireTest, EveryTruncationAndATrailingByteAreRefused) {
  const Bytes wire = Body(Good());
  for (size_t len = 0; len < wire.size(); ++len) {
    auto r = ParseTkimBody(std::span<const uint8_t>(wire.data(), len));
    ASSERT_FALSE(r.ok()) << "prefix of length " << len << " accepted";
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  Bytes longer = wire;
  longer.push_back(0);
  auto r = ParseTkimBody(longer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "TKIM: trailing bytes");
}

TEST(TkimWireTest, DomainsOutsideLowerCaseNameCharactersAreRefusedBothWays) {
  for (const std::string& bad :
       {std::string(), std::string("Upper.onion"), std::string("sp ace.onion"),
        std::string("nul\0.onion", 10), std::string("crlf\r\n.onion"), std::string(256, 'a')}) {
    EXPECT_FALSE(EncodeTkimBody(TkimBody{bad, kReceiver, kNow}).ok());
    EXPECT_FALSE(EncodeTkimBody(TkimBody{kSender, bad, kNow}).ok());
    Bytes wire{static_cast<uint8_t>(bad.size() & 0xff)};
    wire.insert(wire.end(), bad.begin(), bad.end());
    wire.push_back(static_cast<uint8_t>(kReceiver.size()));
    wire.insert(wire.end(), kReceiver.begin(), kReceiver.end());
    wire.resize(wire.size() + 8, 0);
    EXPECT_FALSE(ParseTkimBody(wire).ok());
  }
  EXPECT_TRUE(EncodeTkimBody(TkimBody{std::string(255, 'a'), kReceiver, 0}).ok());
}

TEST(TkimWireTest, ProofForThisServerChannelAndTimeIsAcceptedAndNamesSenderAndKey) {
  auto proof = CheckTkimRequest(Proof(Good()), Cb(7), kReceiver, kNow);
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  EXPECT_EQ(proof->sender_domain, kSender);
  EXPECT_EQ(proof->key_id, PartnerIdOf(SpkiOf(ServerKey())));
  for (uint64_t now : {kNow - kTkimMaxSkewSeconds, kNow + kTkimMaxSkewSeconds}) {
    EXPECT_TRUE(CheckTkimRequest(Proof(Good()), Cb(7), kReceiver, now).ok()) << now;
  }
}

TEST(TkimWireTest, ProofOnAnotherTlsConnectionIsUnauthenticated) {
  auto r = CheckTkimRequest(Proof(Good(), /*cb_fill=*/7), Cb(8), kReceiver, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

TEST(TkimWireTest, ProofMadeForAnotherServerOrByThisServerIsPermissionDenied) {
  TkimBody other = Good();
  other.receiver_domain = "someone.else.onion";
  auto r = CheckTkimRequest(Proof(other), Cb(7), kReceiver, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  TkimBody self{kReceiver, kReceiver, kNow};
  r = CheckTkimRequest(Proof(self), Cb(7), kReceiver, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
}

TEST(TkimWireTest, ProofOutsideTheTimeWindowIsDeadlineExceeded) {
  for (uint64_t now :
       {kNow - kTkimMaxSkewSeconds - 1, kNow + kTkimMaxSkewSeconds + 1, uint64_t{0}, UINT64_MAX}) {
    auto r = CheckTkimRequest(Proof(Good()), Cb(7), kReceiver, now);
    ASSERT_FALSE(r.ok()) << now;
    EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
  }
}

TEST(TkimWireTest, TormRequestIsNotAProofAndTamperedSignatureIsRefused) {
  auto derk = CheckTkimRequest(Proof(Good(), 7, Verb::kDerk), Cb(7), kReceiver, kNow);
  ASSERT_FALSE(derk.ok());
  EXPECT_EQ(derk.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(derk.error().message, "TKIM: not a TKIM request");
  Bytes tampered = Proof(Good());
  tampered.back() ^= 1;  // the last byte of the signature
  auto r = CheckTkimRequest(tampered, Cb(7), kReceiver, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  auto garbage = CheckTkimRequest(Bytes{1, 4, 0}, Cb(7), kReceiver, kNow);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
}

TEST(TkimWireTest, ProofWithAnotherKeyNamesThatKey) {
  auto proof =
      CheckTkimRequest(Proof(Good(), 7, Verb::kTkim, OtherServerKey()), Cb(7), kReceiver, kNow);
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  EXPECT_EQ(proof->key_id, PartnerIdOf(SpkiOf(OtherServerKey())));
  EXPECT_NE(proof->key_id, PartnerIdOf(SpkiOf(ServerKey())));
}

}  // namespace
}  // namespace onionmail::unseal
