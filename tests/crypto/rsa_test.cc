#include "crypto/rsa.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include "crypto/hex.h"
#include "crypto/random.h"

namespace onionmail::crypto {
namespace {

class RsaTest : public ::testing::Test {
 protected:
  // Key generation is slow: two keys shared by the whole suite.
  static void SetUpTestSuite() {
    auto a = RsaPrivateKey::Generate(2048);
    auto b = RsaPrivateKey::Generate(2048);
    ASSERT_TRUE(a.ok() && b.ok());
    key_ = new RsaPrivateKey(std::move(a).value());
    other_ = new RsaPrivateKey(std::move(b).value());
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_;
    key_ = other_ = nullptr;
  }
  static RsaPrivateKey* key_;
  static RsaPrivateKey* other_;
};
RsaPrivateKey* RsaTest::key_ = nullptr;
RsaPrivateKey* RsaTest::other_ = nullptr;

void ExpectDataLoss(const Result<SecretBytes>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(r.error().message, "key unwrap failed");  // never any detail
}

TEST_F(RsaTest, WrapUnwrapRoundTrips) {
  SecretBytes dek = RandomSecret(32);
  auto wrapped = key_->Public().Wrap(dek);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->size(), 256u);
  auto unwrapped = key_->Unwrap(*wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(unwrapped->Equals(dek));
}

TEST_F(RsaTest, WrapIsRandomised) {
  SecretBytes dek = RandomSecret(32);
  auto a = key_->Public().Wrap(dek);
  auto b = key_->Public().Wrap(dek);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(RsaTest, UnwrapWithWrongKeyIsDataLoss) {
  auto wrapped = key_->Public().Wrap(RandomSecret(32));
  ASSERT_TRUE(wrapped.ok());
  ExpectDataLoss(other_->Unwrap(*wrapped));
}

TEST_F(RsaTest, TamperedOrMisSizedWrappedKeyIsDataLoss) {
  auto wrapped = key_->Public().Wrap(RandomSecret(32));
  ASSERT_TRUE(wrapped.ok());
  for (size_t i : {size_t{0}, size_t{1}, size_t{128}, wrapped->size() - 1}) {
    auto t = *wrapped;
    t[i] ^= 0x40;
    ExpectDataLoss(key_->Unwrap(t));
  }
  auto shorter = *wrapped;
  shorter.pop_back();
  ExpectDataLoss(key_->Unwrap(shorter));
  auto longer = *wrapped;
  longer.push_back(0);
  ExpectDataLoss(key_->Unwrap(longer));
  ExpectDataLoss(key_->Unwrap({}));
  ExpectDataLoss(key_->Unwrap(std::vector<uint8_t>(256, 0)));
  ExpectDataLoss(key_->Unwrap(std::vector<uint8_t>(256, 0xff)));
}

TEST_F(RsaTest, WrapRejectsEmptyAndOversizedKeys) {
  auto empty = key_->Public().Wrap(SecretBytes());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  // OAEP-SHA256 with a 2048-bit modulus carries at most 256 - 66 = 190 bytes.
  EXPECT_TRUE(key_->Public().Wrap(RandomSecret(190)).ok());
  auto big = key_->Public().Wrap(RandomSecret(191));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RsaTest, GenerateRejectsSmallKeys) {
  for (int bits : {512, 1024, 2047}) {
    auto r = RsaPrivateKey::Generate(bits);
    ASSERT_FALSE(r.ok()) << bits;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(RsaTest, PrivateKeyDerRoundTrips) {
  auto der = key_->ToDer();
  ASSERT_TRUE(der.ok());
  // PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption ...
  const std::string hex = ToHex(der->Reveal(SecretAccess::Grant()));
  EXPECT_EQ(hex.substr(0, 2), "30");
  EXPECT_NE(hex.find("020100300d06092a864886f70d0101010500"), std::string::npos);
  EXPECT_LT(hex.find("020100300d06092a864886f70d0101010500"), 16u);
  auto back = RsaPrivateKey::FromDer(*der);
  ASSERT_TRUE(back.ok()) << back.error().message;
  // Same key: identical public half, and it unwraps what the original wrapped.
  EXPECT_EQ(back->Public().ToDer(), key_->Public().ToDer());
  SecretBytes dek = RandomSecret(32);
  auto wrapped = key_->Public().Wrap(dek);
  ASSERT_TRUE(wrapped.ok());
  auto unwrapped = back->Unwrap(*wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(unwrapped->Equals(dek));
  auto again = back->ToDer();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->Equals(*der));
}

TEST_F(RsaTest, PrivateKeyFromGarbageIsInvalidArgument) {
  auto der = key_->ToDer();
  ASSERT_TRUE(der.ok());
  auto bytes = der->Reveal(SecretAccess::Grant());
  SecretBytes truncated(SecretAccess::Grant(), bytes.subspan(0, bytes.size() / 2));
  SecretBytes garbage(SecretAccess::Grant(), std::string_view("not a key at all"));
  for (const SecretBytes* in : {&truncated, &garbage}) {
    auto r = RsaPrivateKey::FromDer(*in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  auto empty = RsaPrivateKey::FromDer(SecretBytes());
  ASSERT_FALSE(empty.ok());
  // A public key is not a private key.
  auto pub = key_->Public().ToDer();
  auto from_pub = RsaPrivateKey::FromDer(SecretBytes(SecretAccess::Grant(), pub));
  ASSERT_FALSE(from_pub.ok());
}

TEST_F(RsaTest, PublicKeyDerRoundTripsAndWraps) {
  auto der = key_->Public().ToDer();
  auto pub = RsaPublicKey::FromDer(der);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->ToDer(), der);
  EXPECT_EQ(pub->ModulusBytes(), 256u);
  SecretBytes dek = RandomSecret(32);
  auto wrapped = pub->Wrap(dek);
  ASSERT_TRUE(wrapped.ok());
  auto unwrapped = key_->Unwrap(*wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(unwrapped->Equals(dek));
}

TEST_F(RsaTest, PublicKeyFromBadDerIsInvalidArgument) {
  auto der = key_->Public().ToDer();
  auto trailing = der;
  trailing.push_back(0);
  auto truncated = std::vector<uint8_t>(der.begin(), der.end() - 1);
  for (const auto& in : {trailing, truncated, std::vector<uint8_t>{}, std::vector<uint8_t>{0x30}}) {
    auto r = RsaPublicKey::FromDer(in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(RsaTest, KeyIdIsStableAndDistinguishesKeys) {
  auto id = key_->Public().KeyId();
  EXPECT_EQ(id, key_->Public().KeyId());
  auto reparsed = RsaPublicKey::FromDer(key_->Public().ToDer());
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(reparsed->KeyId(), id);
  EXPECT_NE(other_->Public().KeyId(), id);
  EXPECT_NE(id, (std::array<uint8_t, 32>{}));
}

TEST(RsaStandaloneTest, LargerKeysWork) {
  auto key = RsaPrivateKey::Generate(3072);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->Public().ModulusBytes(), 384u);
  SecretBytes dek = RandomSecret(32);
  auto wrapped = key->Public().Wrap(dek);
  ASSERT_TRUE(wrapped.ok());
  auto unwrapped = key->Unwrap(*wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(unwrapped->Equals(dek));
}

}  // namespace
}  // namespace onionmail::crypto
