#include "crypto/inbox_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <vector>

#include "crypto/hex.h"
#include "crypto/hpke.h"
#include "crypto/random.h"

namespace onionmail::crypto {
namespace {

class RsaTest : public ::testing::Test {
 protected:
  // Key generation is slow: two keys shared by the whole suite.
  static void SetUpTestSuite() {
    auto a = InboxPrivateKey::GenerateRsa(2048);
    auto b = InboxPrivateKey::GenerateRsa(2048);
    ASSERT_TRUE(a.ok() && b.ok());
    key_ = new InboxPrivateKey(std::move(a).value());
    other_ = new InboxPrivateKey(std::move(b).value());
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_;
    key_ = other_ = nullptr;
  }
  static InboxPrivateKey* key_;
  static InboxPrivateKey* other_;
};
InboxPrivateKey* RsaTest::key_ = nullptr;
InboxPrivateKey* RsaTest::other_ = nullptr;

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
    auto r = InboxPrivateKey::GenerateRsa(bits);
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
  auto back = InboxPrivateKey::FromDer(*der);
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
    auto r = InboxPrivateKey::FromDer(*in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  auto empty = InboxPrivateKey::FromDer(SecretBytes());
  ASSERT_FALSE(empty.ok());
  // A public key is not a private key.
  auto pub = key_->Public().ToDer();
  auto from_pub = InboxPrivateKey::FromDer(SecretBytes(SecretAccess::Grant(), pub));
  ASSERT_FALSE(from_pub.ok());
}

TEST_F(RsaTest, PublicKeyDerRoundTripsAndWraps) {
  auto der = key_->Public().ToDer();
  auto pub = InboxPublicKey::FromDer(der);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->ToDer(), der);
  EXPECT_EQ(pub->WrappedBytes(), 256u);
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
    auto r = InboxPublicKey::FromDer(in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(RsaTest, KeyIdIsStableAndDistinguishesKeys) {
  auto id = key_->Public().KeyId();
  EXPECT_EQ(id, key_->Public().KeyId());
  auto reparsed = InboxPublicKey::FromDer(key_->Public().ToDer());
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(reparsed->KeyId(), id);
  EXPECT_NE(other_->Public().KeyId(), id);
  EXPECT_NE(id, (std::array<uint8_t, 32>{}));
}

TEST(RsaStandaloneTest, LargerKeysWork) {
  auto key = InboxPrivateKey::GenerateRsa(3072);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->Public().WrappedBytes(), 384u);
  SecretBytes dek = RandomSecret(32);
  auto wrapped = key->Public().Wrap(dek);
  ASSERT_TRUE(wrapped.ok());
  auto unwrapped = key->Unwrap(*wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(unwrapped->Equals(dek));
}

// ---------------------------------------------------------------- X25519 keys

class X25519InboxKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto a = InboxPrivateKey::GenerateX25519();
    auto b = InboxPrivateKey::GenerateX25519();
    ASSERT_TRUE(a.ok() && b.ok());
    key_ = new InboxPrivateKey(std::move(a).value());
    other_ = new InboxPrivateKey(std::move(b).value());
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_;
    key_ = other_ = nullptr;
  }
  static InboxPrivateKey* key_;
  static InboxPrivateKey* other_;
};
InboxPrivateKey* X25519InboxKeyTest::key_ = nullptr;
InboxPrivateKey* X25519InboxKeyTest::other_ = nullptr;

TEST_F(X25519InboxKeyTest, WrapIsEightyBytesAndRoundTrips) {
  EXPECT_EQ(key_->type(), InboxKeyType::kX25519);
  EXPECT_EQ(key_->Public().type(), InboxKeyType::kX25519);
  EXPECT_EQ(key_->Public().WrappedBytes(), kX25519WrappedBytes);
  SecretBytes dek = RandomSecret(32);
  auto wrapped = key_->Public().Wrap(dek);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->size(), 80u);
  auto unwrapped = key_->Unwrap(*wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(unwrapped->Equals(dek));
}

TEST_F(X25519InboxKeyTest, WrapIsRandomisedAndTakesOnlyThirtyTwoByteKeys) {
  SecretBytes dek = RandomSecret(32);
  auto a = key_->Public().Wrap(dek);
  auto b = key_->Public().Wrap(dek);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  for (size_t n : {size_t{0}, size_t{16}, size_t{31}, size_t{33}}) {
    auto r = key_->Public().Wrap(RandomSecret(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(X25519InboxKeyTest, WrongKeyTamperingOrBadSizeIsDataLossWithoutDetail) {
  auto wrapped = key_->Public().Wrap(RandomSecret(32));
  ASSERT_TRUE(wrapped.ok());
  ExpectDataLoss(other_->Unwrap(*wrapped));
  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}, size_t{64}, size_t{79}}) {
    auto t = *wrapped;
    t[i] ^= 0x01;
    ExpectDataLoss(key_->Unwrap(t));
  }
  auto shorter = *wrapped;
  shorter.pop_back();
  ExpectDataLoss(key_->Unwrap(shorter));
  auto longer = *wrapped;
  longer.push_back(0);
  ExpectDataLoss(key_->Unwrap(longer));
  ExpectDataLoss(key_->Unwrap({}));
  ExpectDataLoss(key_->Unwrap(std::vector<uint8_t>(80, 0)));  // low-order ephemeral key
  // An RSA-sized wrap is not an X25519 wrap.
  ExpectDataLoss(key_->Unwrap(std::vector<uint8_t>(256, 0x5a)));
}

TEST_F(X25519InboxKeyTest, DerRoundTripsKeepTheKeyAndItsId) {
  auto der = key_->ToDer();
  ASSERT_TRUE(der.ok());
  // PKCS#8 with the id-X25519 OID 1.3.101.110 (06 03 2b 65 6e).
  EXPECT_NE(ToHex(der->Reveal(SecretAccess::Grant())).find("06032b656e"), std::string::npos);
  auto back = InboxPrivateKey::FromDer(*der);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->type(), InboxKeyType::kX25519);
  EXPECT_EQ(back->Public().KeyId(), key_->Public().KeyId());
  auto pub_der = key_->Public().ToDer();
  EXPECT_EQ(pub_der.size(), 44u);  // SubjectPublicKeyInfo of a 32-byte key
  auto pub = InboxPublicKey::FromDer(pub_der);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->type(), InboxKeyType::kX25519);
  EXPECT_EQ(pub->KeyId(), key_->Public().KeyId());
  EXPECT_NE(other_->Public().KeyId(), key_->Public().KeyId());
  SecretBytes dek = RandomSecret(32);
  auto wrapped = pub->Wrap(dek);
  ASSERT_TRUE(wrapped.ok());
  auto unwrapped = back->Unwrap(*wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(unwrapped->Equals(dek));
}

TEST(InboxKeyTypeTest, KeysOfOtherTypesAreRejected) {
  for (const char* type : {"ED25519", "X448"}) {
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
    ASSERT_NE(k, nullptr) << type;
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(k, &der);
    ASSERT_GT(len, 0);
    std::vector<uint8_t> pub(der, der + len);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    auto r = InboxPublicKey::FromDer(pub);
    ASSERT_FALSE(r.ok()) << type;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(ec, &der);
  std::vector<uint8_t> pub(der, der + len);
  OPENSSL_free(der);
  EVP_PKEY_free(ec);
  EXPECT_FALSE(InboxPublicKey::FromDer(pub).ok());
}

TEST(InboxKeyTypeTest, PrivateKeysOfOtherTypesAreRejected) {
  for (const char* type : {"ED25519", "X448"}) {
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
    ASSERT_NE(k, nullptr) << type;
    unsigned char* der = nullptr;
    const int len = i2d_PrivateKey(k, &der);  // PKCS#8 for these key types
    ASSERT_GT(len, 0);
    SecretBytes pkcs8(SecretAccess::Grant(),
                      std::span<const uint8_t>(der, static_cast<size_t>(len)));
    OPENSSL_clear_free(der, static_cast<size_t>(len));
    EVP_PKEY_free(k);
    auto r = InboxPrivateKey::FromDer(pkcs8);
    ASSERT_FALSE(r.ok()) << type;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    // Refused for its type (the DER itself is well formed).
    EXPECT_EQ(r.error().message, "not an X25519 or RSA key") << type;
  }
}

TEST(InboxKeyTypeTest, RsaKeysReportTheirType) {
  auto key = InboxPrivateKey::GenerateRsa(2048);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->type(), InboxKeyType::kRsa);
  EXPECT_EQ(key->Public().type(), InboxKeyType::kRsa);
  EXPECT_EQ(key->Public().WrappedBytes(), 256u);
}

// The data-key wrap vector of docs/store.md ("Test vectors"), computed
// independently by tests/store/gen_store_vectors.py (Python, no onionmaild code).
TEST(InboxKeyVectorTest, X25519WrapMatchesTheStoreSpecVector) {
  const std::string kInboxKeyDer =
      "302e020100300506032b656e04220420a8bea24b02c65a5a4fcb88bda8e49ffd04c58c2c6258356e42f4d8c46f"
      "8b835e";
  const std::string kKeyId = "9336a50c8333b85a0dc822998ae16b5e470715053c08917bce6236a7b2ebe290";
  const std::string kIkmE = "03d4442d9ed5d32aa103cdcb5d3c86c0680cbbbd4de21f9eed790eb9720c3595";
  const std::string kDek = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  const std::string kWrapped =
      "2466f53501b243ca7c8e94a214913aa01bd76904c400bdd794ff3317a7669548ddd15cb1a3d759cb0c8239ed5e10"
      "7eee1ff8ccc46022e29684df6acd0444eadb4cfdaef7e24e3feb7f9b2b2832c6daae";
  auto der = FromHex(kInboxKeyDer);
  ASSERT_TRUE(der.has_value());
  auto key = InboxPrivateKey::FromDer(SecretBytes(SecretAccess::Grant(), *der));
  ASSERT_TRUE(key.ok()) << key.error().message;
  ASSERT_EQ(key->type(), InboxKeyType::kX25519);
  const auto id = key->Public().KeyId();
  EXPECT_EQ(ToHex(id), kKeyId);

  // Unwrapping the published bytes gives the DEK (format and info string).
  auto wrapped = FromHex(kWrapped);
  ASSERT_TRUE(wrapped.has_value());
  auto dek = key->Unwrap(*wrapped);
  ASSERT_TRUE(dek.ok());
  EXPECT_EQ(ToHex(dek->Reveal(SecretAccess::Grant())), kDek);

  // Sealing with the vector's ephemeral key gives exactly the published bytes.
  auto ikm_e = FromHex(kIkmE);
  ASSERT_TRUE(ikm_e.has_value());
  std::unique_ptr<EVP_PKEY, EvpPkeyDeleter> ephemeral(hpke::DeriveKeyPairForTest(*ikm_e));
  ASSERT_NE(ephemeral, nullptr);
  auto dek_bytes = FromHex(kDek);
  const std::string_view info = "onionmail inbox dek v1";
  std::unique_ptr<EVP_PKEY, EvpPkeyDeleter> recipient(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, der->data() + der->size() - 32, 32));
  ASSERT_NE(recipient, nullptr);
  auto sealed = hpke::SealWithEphemeralForTest(
      hpke::Aead::kAes256Gcm, recipient.get(), ephemeral.get(),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(info.data()), info.size()), {},
      SecretBytes(SecretAccess::Grant(), *dek_bytes));
  ASSERT_TRUE(sealed.ok());
  std::vector<uint8_t> got(sealed->enc.begin(), sealed->enc.end());
  got.insert(got.end(), sealed->ciphertext.begin(), sealed->ciphertext.end());
  EXPECT_EQ(ToHex(got), kWrapped);
}

}  // namespace
}  // namespace onionmail::crypto
