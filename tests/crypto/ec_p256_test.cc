// crypto/ec_p256: SPKI encoding, P-256 points, r || s signatures.
#include "crypto/ec_p256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <vector>

#include "tests/crypto/ecdsa_test_util.h"

namespace onionmail::crypto {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::vector<uint8_t> PointOf(EVP_PKEY* key) {
  std::vector<uint8_t> point(kP256PointBytes);
  size_t len = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(key, "pub", point.data(), point.size(), &len), 1);
  point.resize(len);
  return point;
}

TEST(EcP256Test, SpkiFromThePointOfAKeyIsThatKeysSpki) {
  PkeyPtr key(EVP_EC_gen("prime256v1"), EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  auto from_point = P256SpkiFromPoint(PointOf(key.get()));
  auto direct = SpkiDer(key.get());
  ASSERT_TRUE(from_point.ok()) << from_point.error().message;
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*from_point, *direct);
  EXPECT_EQ(direct->size(), 91u);  // SEQUENCE { P-256 algorithm, 65-byte point }
}

TEST(EcP256Test, PointOffTheCurveOrOfAnotherFormIsInvalidArgument) {
  PkeyPtr key(EVP_EC_gen("prime256v1"), EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  std::vector<uint8_t> point = PointOf(key.get());
  std::vector<uint8_t> off = point;
  off[64] ^= 1;  // y changed: not on the curve
  std::vector<uint8_t> compressed(point.begin(), point.begin() + 33);
  compressed[0] = 0x02;
  for (const auto& bad :
       {off, compressed, std::vector<uint8_t>(kP256PointBytes, 0), std::vector<uint8_t>()}) {
    auto r = P256SpkiFromPoint(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(EcP256Test, SignRawGivesRAndSThatVerifyOnlyForTheirDigest) {
  PkeyPtr key(EVP_EC_gen("prime256v1"), EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  auto spki = SpkiDer(key.get());
  ASSERT_TRUE(spki.ok());
  std::vector<uint8_t> digest(kP256DigestBytes, 0x5a);
  auto sig = EcdsaP256SignRaw(key.get(), digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  ASSERT_EQ(sig->size(), kP256SignatureBytes);
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
  digest[0] ^= 1;
  EXPECT_FALSE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
}

TEST(EcP256Test, SignRawRefusesOtherDigestSizesAndNonEcKeys) {
  PkeyPtr key(EVP_EC_gen("prime256v1"), EVP_PKEY_free);
  PkeyPtr rsa(EVP_RSA_gen(2048), EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  ASSERT_NE(rsa, nullptr);
  for (size_t n : {0u, 20u, 31u, 33u, 48u}) {
    auto r = EcdsaP256SignRaw(key.get(), std::vector<uint8_t>(n, 1));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << n;
  }
  auto r = EcdsaP256SignRaw(rsa.get(), std::vector<uint8_t>(kP256DigestBytes, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace onionmail::crypto
