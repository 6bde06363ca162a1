#include "crypto/private_key_info.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace onionmail::crypto {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PkeyPtr Generate(const char* type) {
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, type), EVP_PKEY_free);
}

TEST(PrivateKeyInfoTest, DerDecodesToTheSameKey) {
  for (const char* type : {"X25519", "ED25519"}) {
    PkeyPtr key = Generate(type);
    ASSERT_NE(key, nullptr) << type;
    auto der = EncodePrivateKeyInfo(key.get(), KeyEncoding::kDer);
    ASSERT_TRUE(der.ok()) << der.error().message;
    const auto bytes = der->Reveal(SecretAccess::Grant());
    ASSERT_EQ(bytes[0], 0x30) << "a DER SEQUENCE";
    const unsigned char* p = bytes.data();
    PkeyPtr back(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(bytes.size())), EVP_PKEY_free);
    ASSERT_NE(back, nullptr) << type;
    EXPECT_EQ(p, bytes.data() + bytes.size()) << "the whole encoding is one key";
    EXPECT_EQ(EVP_PKEY_eq(key.get(), back.get()), 1) << type;
  }
}

TEST(PrivateKeyInfoTest, PemIsAnUnencryptedPkcs8Block) {
  PkeyPtr key = Generate("ED25519");
  ASSERT_NE(key, nullptr);
  auto pem = EncodePrivateKeyInfo(key.get(), KeyEncoding::kPem);
  ASSERT_TRUE(pem.ok()) << pem.error().message;
  const auto bytes = pem->Reveal(SecretAccess::Grant());
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_EQ(text.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << text;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  PkeyPtr back(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(key.get(), back.get()), 1);
}

TEST(PrivateKeyInfoTest, PublicOnlyOrMissingKeyIsInternalError) {
  EXPECT_EQ(EncodePrivateKeyInfo(nullptr, KeyEncoding::kDer).error().code, ErrorCode::kInternal);
  PkeyPtr key = Generate("X25519");
  ASSERT_NE(key, nullptr);
  unsigned char pub[32];
  size_t len = sizeof(pub);
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(key.get(), pub, &len), 1);
  PkeyPtr public_only(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, pub, len),
                      EVP_PKEY_free);
  ASSERT_NE(public_only, nullptr);
  auto r = EncodePrivateKeyInfo(public_only.get(), KeyEncoding::kDer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace onionmail::crypto
