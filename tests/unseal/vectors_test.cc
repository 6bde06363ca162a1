// Fixed interoperability vectors of docs/PROTOCOL.md ("Master-key unseal: maths
// and encodings"). The expected values were computed independently of this code
// base by tests/unseal/gen_vectors.py (pure-Python P-256 and GF(2^8) arithmetic,
// cross-checked against OpenSSL through the Python `cryptography` package, whose
// HKDF it uses). If a test here fails, the implementation changed the protocol.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "unseal/ecmr.h"
#include "unseal/shamir.h"

namespace onionmail::unseal {
namespace {

constexpr char kPeerId[] = "peer-1";
constexpr char kS[] = "4ddb7802f5e8b981d3e3b4d5228b679b0c9067635dd30f6f9cdd323655ff03c6";
constexpr char kC[] = "ab09cac69de43e510f9d7ad047b4c0e71922fc4a3f154b205228b684f880a3d7";
constexpr char kE[] = "c7bb5783cf391a6de3701b21ebedb9069f540f148ceb994ffaeb45bd3025f290";
constexpr char kPubS[] =
    "042e4c366a5458191a62801ac2bcc629ef644faee1400d6f9caca1ede638042fc5"
    "19878ebe7180eff5451e06724a65336be7d315e883b9f56be42b3f2ac1779ff4";
constexpr char kPubC[] =
    "040f486a51cc0b65c58e26cbaf9b15eb0d3fc2b0b6f69634540026a7b842250fc6"
    "59fd6752bc8b96e459e5be34005a01fe5bf6af5a9d00ccd3a55544e47705d85d";
constexpr char kX[] =
    "04a5d8ae2065f2a172b237529c25a188e55599628bb434545618ab76fc1249a52a"
    "8706ba479300fc8f5e3e6bb98ded036dd9c6641db72ee054d16af7771319eb54";
constexpr char kY[] =
    "040081b3701c2a47005880ccd3cec096dbdefd1b7fc0e2724d334f502b0998e34b"
    "ebb2c068d7e78e9488ca9834638e4b82e8b23e57811c246a642be51a46b3d386";
constexpr char kK[] = "fd7c5d22fb0f657563e496efa39e825a8535562d5a6a85d1f2fb0e515780630a";

constexpr char kSecret[] = "0f94e29b2eeb747794c2f7f726e53338d6e4f4dc8b47a34f101cc6a8355b0efb";
constexpr char kStream[] =
    "c47b15c1db99d1f91fb32673bbbc2f4cf5c80e4436f4c1ed9128c8fe05a6976d"
    "c054ea0bec8967b461932d6083ceb386c0aaf03c341ab197831da58e1e0e5017";
constexpr const char* kShares[] = {
    "010bbb1d5119fbc23aeae2fce41e97aff2e3860aa489a9d3350229abd82ef3c981",
    "02b1294d2e1ed04a7835c50f8a7193978e0af105a437dcc8e41338ef414734607d",
    "03b506b2e429c0fc354be5049949e10b443f93fbdc3532b89e010d82315c9ca707",
    "04865494022df1370ba2cb897a14774aab9ba7553a3e016f658a777545da15133f",
    "05827b6bc81ae18146dceb82692c05d661aec5ab423cef1f1f98421835c1bdd445",
};

std::vector<uint8_t> Hex(std::string_view h) { return crypto::FromHex(h).value(); }

SecretBytes SecretHex(std::string_view h) {
  auto b = Hex(h);
  return SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(b));
}

std::string HexOf(const SecretBytes& s) { return crypto::ToHex(s.Reveal(SecretAccess::Grant())); }

Point PointHex(std::string_view h) {
  auto p = ParsePoint(Hex(h));
  EXPECT_TRUE(p.ok()) << p.error().message;
  return p.ok() ? *p : Point{};
}

TEST(UnsealVectorsTest, EcmrExchangeProducesTheDocumentedBytes) {
  auto peer = PeerKeyFromScalar(SecretHex(kS));
  ASSERT_TRUE(peer.ok()) << peer.error().message;
  EXPECT_EQ(crypto::ToHex(peer->S), kPubS);

  auto enrolment = ServerEnrollWithScalar(peer->S, kPeerId, SecretHex(kC));
  ASSERT_TRUE(enrolment.ok()) << enrolment.error().message;
  EXPECT_EQ(crypto::ToHex(enrolment->C), kPubC);
  EXPECT_EQ(HexOf(enrolment->K), kK);

  auto blinded = ServerBlindWithScalar(enrolment->C, peer->S, SecretHex(kE));
  ASSERT_TRUE(blinded.ok()) << blinded.error().message;
  EXPECT_EQ(crypto::ToHex(blinded->X), kX);

  auto y = PeerAnswer(peer->s, blinded->X);
  ASSERT_TRUE(y.ok()) << y.error().message;
  EXPECT_EQ(crypto::ToHex(*y), kY);

  auto k = ServerUnblind(*y, SecretHex(kE), peer->S, kPeerId);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(HexOf(*k), kK);
}

TEST(UnsealVectorsTest, EachStepAcceptsTheDocumentedInputs) {
  // Every step fed only the documented wire bytes (no state carried over).
  auto y = PeerAnswer(SecretHex(kS), PointHex(kX));
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(crypto::ToHex(*y), kY);
  auto k = ServerUnblind(PointHex(kY), SecretHex(kE), PointHex(kPubS), kPeerId);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(HexOf(*k), kK);
  auto blinded = ServerBlindWithScalar(PointHex(kPubC), PointHex(kPubS), SecretHex(kE));
  ASSERT_TRUE(blinded.ok());
  EXPECT_EQ(crypto::ToHex(blinded->X), kX);
}

TEST(UnsealVectorsTest, ShamirSplitProducesTheDocumentedShares) {
  const std::vector<uint8_t> stream = Hex(kStream);
  auto shares = Split(SecretHex(kSecret), 3, 5, [&](std::span<uint8_t> out) {
    ASSERT_EQ(out.size(), stream.size());
    std::copy(stream.begin(), stream.end(), out.begin());
  });
  ASSERT_TRUE(shares.ok()) << shares.error().message;
  ASSERT_EQ(shares->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    auto wire = EncodeShare((*shares)[i]);
    ASSERT_TRUE(wire.ok());
    EXPECT_EQ(HexOf(*wire), kShares[i]) << "share " << i + 1;
  }
}

TEST(UnsealVectorsTest, EveryThreeOfTheDocumentedSharesGiveTheSecret) {
  for (int a = 0; a < 5; ++a) {
    for (int b = a + 1; b < 5; ++b) {
      for (int c = b + 1; c < 5; ++c) {
        std::vector<Share> picked;
        for (int i : {c, a, b}) {
          auto share = DecodeShare(SecretHex(kShares[i]));
          ASSERT_TRUE(share.ok());
          picked.push_back(std::move(*share));
        }
        auto secret = Combine(picked, 3);
        ASSERT_TRUE(secret.ok()) << secret.error().message;
        EXPECT_EQ(HexOf(*secret), kSecret);
      }
    }
  }
}

}  // namespace
}  // namespace onionmail::unseal
