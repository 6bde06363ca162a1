// Tests for server::IsSignatureBlock (sign_guard.h) with real OpenSSL keys
// and real encodings: PKCS#1 v1.5 signature blocks and EMSA-PSS encodings
// (salt = hash length, MGF1 SHA-256/384/512) pass; everything an attacker
// would submit to use the key role as a decryption oracle (random blocks,
// ciphertexts, blinded ciphertexts, type-2 and OAEP encodings) is refused.
#define OPENSSL_SUPPRESS_DEPRECATED 1  // RSA_padding_add_* build the encodings
#include "server/sign_guard.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace onionmail::server {
namespace {

using Bytes = std::vector<uint8_t>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PkeyPtr GenerateRsaOnce(unsigned bits) {
  PkeyPtr key(nullptr, EVP_PKEY_free);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr);
  EVP_PKEY* k = nullptr;
  if (ctx != nullptr && EVP_PKEY_keygen_init(ctx) == 1 &&
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, static_cast<int>(bits)) == 1 &&
      EVP_PKEY_keygen(ctx, &k) == 1) {
    key.reset(k);
  }
  EVP_PKEY_CTX_free(ctx);
  return key;
}

// Exactly `bits` long (OpenSSL 3 was seen returning 2048 bits when asked for
// 2049): retry a few times, null if it never is.
PkeyPtr GenerateRsa(unsigned bits) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    PkeyPtr key = GenerateRsaOnce(bits);
    if (key && EVP_PKEY_get_bits(key.get()) == static_cast<int>(bits)) return key;
  }
  return PkeyPtr(nullptr, EVP_PKEY_free);
}

// Keys are expensive (RSA-3072 takes seconds): each is made once per
// process, and only if a test uses it.
#define ONIONMAIL_TEST_KEY(name, bits)                          \
  const PkeyPtr& name() {                                       \
    static const PkeyPtr* key = new PkeyPtr(GenerateRsa(bits)); \
    if (!*key) std::abort(); /* OpenSSL cannot make the key */  \
    return *key;                                                \
  }
ONIONMAIL_TEST_KEY(Rsa1024, 1024)
ONIONMAIL_TEST_KEY(Rsa1025, 1025)  // emBits = 1024: the block has a leading 00
ONIONMAIL_TEST_KEY(Rsa2048, 2048)
ONIONMAIL_TEST_KEY(Rsa3072, 3072)
#undef ONIONMAIL_TEST_KEY

const RSA* Rsa(const PkeyPtr& k) { return EVP_PKEY_get0_RSA(k.get()); }
size_t Bits(const PkeyPtr& k) { return static_cast<size_t>(EVP_PKEY_get_bits(k.get())); }
size_t Len(const PkeyPtr& k) { return static_cast<size_t>(EVP_PKEY_get_size(k.get())); }

Bytes Digest(const EVP_MD* md, const char* text) {
  Bytes out(static_cast<size_t>(EVP_MD_get_size(md)));
  unsigned int n = 0;
  EXPECT_EQ(EVP_Digest(text, std::strlen(text), out.data(), &n, md, nullptr), 1);
  return out;
}

// DigestInfo (RFC 8017 9.2 note 1) prefix for SHA-256.
Bytes Sha256DigestInfo(const char* text) {
  Bytes t = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
             0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  for (uint8_t b : Digest(EVP_sha256(), text)) t.push_back(b);
  return t;
}

Bytes Pkcs1Type1(const PkeyPtr& key, const Bytes& t) {
  Bytes block(Len(key));
  EXPECT_EQ(RSA_padding_add_PKCS1_type_1(block.data(), static_cast<int>(block.size()), t.data(),
                                         static_cast<int>(t.size())),
            1);
  return block;
}

Bytes Pss(const PkeyPtr& key, const EVP_MD* md, int salt_len, const EVP_MD* mgf1 = nullptr) {
  Bytes em(Len(key));
  Bytes hash = Digest(md, "tls 1.3 certificate verify transcript");
  int ok = RSA_padding_add_PKCS1_PSS_mgf1(const_cast<RSA*>(Rsa(key)), em.data(), hash.data(), md,
                                          mgf1 != nullptr ? mgf1 : md, salt_len);
  EXPECT_EQ(ok, 1) << "OpenSSL could not make this PSS encoding";
  return em;
}

Bytes RawPrivate(const PkeyPtr& key, const Bytes& block) {
  Bytes out(block.size());
  int n = RSA_private_encrypt(static_cast<int>(block.size()), block.data(), out.data(),
                              const_cast<RSA*>(Rsa(key)), RSA_NO_PADDING);
  EXPECT_EQ(n, static_cast<int>(block.size()));
  return out;
}

// What an attacker asking for c^d would send: an RSA-OAEP ciphertext.
Bytes OaepCiphertext(const PkeyPtr& key) {
  Bytes out(Len(key));
  size_t out_len = out.size();
  const uint8_t secret[32] = {1, 2, 3, 4, 5, 6, 7, 8};
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.get(), nullptr);
  EXPECT_NE(ctx, nullptr);
  EXPECT_EQ(EVP_PKEY_encrypt_init(ctx), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
  EXPECT_EQ(EVP_PKEY_encrypt(ctx, out.data(), &out_len, secret, sizeof(secret)), 1);
  EVP_PKEY_CTX_free(ctx);
  out.resize(out_len);
  return out;
}

// c * r^e mod n for a random r (the blinding of a Bleichenbacher/oracle attack).
Bytes Blind(const PkeyPtr& key, const Bytes& c) {
  const BIGNUM *n = nullptr, *e = nullptr;
  RSA_get0_key(Rsa(key), &n, &e, nullptr);
  BN_CTX* bctx = BN_CTX_new();
  BIGNUM* r = BN_new();
  BIGNUM* re = BN_new();
  BIGNUM* cb = BN_bin2bn(c.data(), static_cast<int>(c.size()), nullptr);
  EXPECT_EQ(BN_rand_range(r, n), 1);
  EXPECT_EQ(BN_mod_exp(re, r, e, n, bctx), 1);
  EXPECT_EQ(BN_mod_mul(cb, cb, re, n, bctx), 1);
  Bytes out(Len(key));
  EXPECT_EQ(BN_bn2binpad(cb, out.data(), static_cast<int>(out.size())),
            static_cast<int>(out.size()));
  BN_free(cb);
  BN_free(re);
  BN_free(r);
  BN_CTX_free(bctx);
  return out;
}

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  EXPECT_EQ(RAND_bytes(b.data(), static_cast<int>(n)), 1);
  return b;
}

// Random block below the modulus, as a raw RSA input would be.
Bytes RandomBlock(const PkeyPtr& key) {
  Bytes b = RandomBytes(Len(key));
  b[0] = 0;
  return b;
}

class SignGuardTest : public ::testing::Test {};

TEST_F(SignGuardTest, Pkcs1V15SignatureBlocksAreAcceptedFor2048And3072BitKeys) {
  for (const PkeyPtr* key : {&Rsa2048(), &Rsa3072(), &Rsa1025(), &Rsa1024()}) {
    Bytes block = Pkcs1Type1(*key, Sha256DigestInfo("hello"));
    EXPECT_TRUE(IsSignatureBlock(block, Bits(*key))) << Bits(*key) << " bits";
  }
}

TEST_F(SignGuardTest, AcceptedPkcs1V15BlockIsARealVerifiableSignature) {
  const PkeyPtr& key = Rsa2048();
  Bytes block = Pkcs1Type1(key, Sha256DigestInfo("transcript"));
  ASSERT_TRUE(IsSignatureBlock(block, Bits(key)));
  Bytes sig = RawPrivate(key, block);
  Bytes hash = Digest(EVP_sha256(), "transcript");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.get(), nullptr);
  ASSERT_EQ(EVP_PKEY_verify_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
  EXPECT_EQ(EVP_PKEY_verify(ctx, sig.data(), sig.size(), hash.data(), hash.size()), 1);
  EVP_PKEY_CTX_free(ctx);
}

TEST_F(SignGuardTest, Tls12Md5Sha1AndSha512DigestInfoBlocksAreAccepted) {
  const PkeyPtr& key = Rsa2048();
  EXPECT_TRUE(IsSignatureBlock(Pkcs1Type1(key, Bytes(36, 0xab)), Bits(key)));  // MD5||SHA-1
  // The longest DigestInfo (SHA-512) is 83 bytes: the upper bound.
  EXPECT_TRUE(IsSignatureBlock(Pkcs1Type1(key, Bytes(83, 0x5a)), Bits(key)));
}

TEST_F(SignGuardTest, Pkcs1V15BlockWithPayloadOver83BytesIsRefused) {
  const PkeyPtr& key = Rsa2048();
  EXPECT_FALSE(IsSignatureBlock(Pkcs1Type1(key, Bytes(84, 0x5a)), Bits(key)));
  EXPECT_FALSE(IsSignatureBlock(Pkcs1Type1(key, Bytes(200, 0x5a)), Bits(key)));
}

TEST_F(SignGuardTest, Pkcs1V15BlockWithEmptyPayloadIsRefused) {
  const PkeyPtr& key = Rsa2048();
  Bytes block(Len(key), 0xff);
  block[0] = 0x00;
  block[1] = 0x01;
  block.back() = 0x00;  // 00 01 FF..FF 00 and nothing after it
  EXPECT_FALSE(IsSignatureBlock(block, Bits(key)));
}

TEST_F(SignGuardTest, Pkcs1V15BlockWithBrokenPaddingIsRefused) {
  const PkeyPtr& key = Rsa2048();
  Bytes good = Pkcs1Type1(key, Sha256DigestInfo("x"));
  Bytes b = good;
  b[0] = 0x01;  // leading byte not 00
  EXPECT_FALSE(IsSignatureBlock(b, Bits(key)));
  b = good;
  b[1] = 0x00;  // block type 0
  EXPECT_FALSE(IsSignatureBlock(b, Bits(key)));
  b = good;
  b[40] = 0xfe;  // a PS byte that is not FF
  EXPECT_FALSE(IsSignatureBlock(b, Bits(key)));
  b = good;
  for (size_t i = 2; i < b.size(); ++i) b[i] = 0xff;  // no 00 separator at all
  EXPECT_FALSE(IsSignatureBlock(b, Bits(key)));
}

TEST_F(SignGuardTest, PssEncodingsWithSha256Sha384Sha512AreAccepted) {
  for (const PkeyPtr* key : {&Rsa2048(), &Rsa3072()}) {
    for (const EVP_MD* md : {EVP_sha256(), EVP_sha384(), EVP_sha512()}) {
      Bytes em = Pss(*key, md, RSA_PSS_SALTLEN_DIGEST);
      EXPECT_TRUE(IsSignatureBlock(em, Bits(*key)))
          << Bits(*key) << " bits, " << EVP_MD_get0_name(md);
    }
  }
}

TEST_F(SignGuardTest, PssEncodingIsAcceptedWhenEmHasALeadingZeroByte) {
  // modulus_bits = 1025: emBits = 1024, so the block is one byte longer than
  // EM and starts with 00. (SHA-512 with a 64-byte salt does not fit.)
  const PkeyPtr& key = Rsa1025();
  for (const EVP_MD* md : {EVP_sha256(), EVP_sha384()}) {
    Bytes em = Pss(key, md, RSA_PSS_SALTLEN_DIGEST);
    ASSERT_EQ(em.size(), 129u);
    EXPECT_EQ(em[0], 0);
    EXPECT_TRUE(IsSignatureBlock(em, 1025)) << EVP_MD_get0_name(md);
  }
}

TEST_F(SignGuardTest, PssEncodingOnMinimumModulusIsAccepted) {
  const PkeyPtr& key = Rsa1024();
  EXPECT_TRUE(IsSignatureBlock(Pss(key, EVP_sha256(), RSA_PSS_SALTLEN_DIGEST), 1024));
  EXPECT_TRUE(IsSignatureBlock(Pss(key, EVP_sha384(), RSA_PSS_SALTLEN_DIGEST), 1024));
}

TEST_F(SignGuardTest, AcceptedPssEncodingIsARealVerifiableSignature) {
  const PkeyPtr& key = Rsa3072();
  Bytes em = Pss(key, EVP_sha384(), RSA_PSS_SALTLEN_DIGEST);
  ASSERT_TRUE(IsSignatureBlock(em, Bits(key)));
  Bytes sig = RawPrivate(key, em);
  Bytes hash = Digest(EVP_sha384(), "tls 1.3 certificate verify transcript");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.get(), nullptr);
  ASSERT_EQ(EVP_PKEY_verify_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha384()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST), 1);
  EXPECT_EQ(EVP_PKEY_verify(ctx, sig.data(), sig.size(), hash.data(), hash.size()), 1);
  EVP_PKEY_CTX_free(ctx);
}

TEST_F(SignGuardTest, PssWithSaltNotEqualToHashLengthIsRefused) {
  const PkeyPtr& key = Rsa2048();
  EXPECT_FALSE(IsSignatureBlock(Pss(key, EVP_sha256(), 0), Bits(key)));
  EXPECT_FALSE(IsSignatureBlock(Pss(key, EVP_sha256(), 20), Bits(key)));
  EXPECT_FALSE(IsSignatureBlock(Pss(key, EVP_sha256(), 64), Bits(key)));
}

TEST_F(SignGuardTest, PssWithSha1IsRefused) {
  const PkeyPtr& key = Rsa2048();
  EXPECT_FALSE(IsSignatureBlock(Pss(key, EVP_sha1(), RSA_PSS_SALTLEN_DIGEST), Bits(key)));
}

TEST_F(SignGuardTest, PssWithBadTrailerOrTopBitIsRefused) {
  const PkeyPtr& key = Rsa2048();
  Bytes good = Pss(key, EVP_sha256(), RSA_PSS_SALTLEN_DIGEST);
  ASSERT_TRUE(IsSignatureBlock(good, Bits(key)));
  Bytes b = good;
  b.back() = 0xbd;
  EXPECT_FALSE(IsSignatureBlock(b, Bits(key)));
  b = good;
  b[0] |= 0x80;  // a bit above emBits
  EXPECT_FALSE(IsSignatureBlock(b, Bits(key)));
  b = good;
  b[10] ^= 0x01;  // maskedDB changed: PS no longer all zero after unmasking
  EXPECT_FALSE(IsSignatureBlock(b, Bits(key)));
}

TEST_F(SignGuardTest, LeadingByteOf1025BitPssBlockMustBeZero) {
  const PkeyPtr& key = Rsa1025();
  Bytes em = Pss(key, EVP_sha256(), RSA_PSS_SALTLEN_DIGEST);
  ASSERT_TRUE(IsSignatureBlock(em, 1025));
  em[0] = 0x01;
  EXPECT_FALSE(IsSignatureBlock(em, 1025));
}

TEST_F(SignGuardTest, RandomBlocksAreRefused) {
  for (const PkeyPtr* key : {&Rsa2048(), &Rsa3072()}) {
    for (int i = 0; i < 200; ++i) {
      EXPECT_FALSE(IsSignatureBlock(RandomBlock(*key), Bits(*key)));
    }
  }
}

TEST_F(SignGuardTest, OaepCiphertextIsRefused) {
  for (const PkeyPtr* key : {&Rsa2048(), &Rsa3072()}) {
    for (int i = 0; i < 20; ++i) {
      EXPECT_FALSE(IsSignatureBlock(OaepCiphertext(*key), Bits(*key)));
    }
  }
}

TEST_F(SignGuardTest, BlindedCiphertextIsRefused) {
  for (const PkeyPtr* key : {&Rsa2048(), &Rsa3072()}) {
    Bytes c = OaepCiphertext(*key);
    for (int i = 0; i < 50; ++i) EXPECT_FALSE(IsSignatureBlock(Blind(*key, c), Bits(*key)));
  }
}

TEST_F(SignGuardTest, Pkcs1V15EncryptionBlockIsRefused) {
  for (const PkeyPtr* key : {&Rsa2048(), &Rsa3072()}) {
    Bytes block(Len(*key));
    const uint8_t secret[48] = {3, 3};  // a TLS RSA-kx premaster secret
    ASSERT_EQ(RSA_padding_add_PKCS1_type_2(block.data(), static_cast<int>(block.size()), secret,
                                           sizeof(secret)),
              1);
    ASSERT_EQ(block[1], 0x02);
    EXPECT_FALSE(IsSignatureBlock(block, Bits(*key)));
  }
}

TEST_F(SignGuardTest, OaepPaddedBlockIsRefused) {
  for (const PkeyPtr* key : {&Rsa2048(), &Rsa3072()}) {
    for (const EVP_MD* md : {EVP_sha1(), EVP_sha256(), EVP_sha512()}) {
      Bytes block(Len(*key));
      const uint8_t secret[32] = {7};
      ASSERT_EQ(RSA_padding_add_PKCS1_OAEP_mgf1(block.data(), static_cast<int>(block.size()),
                                                secret, sizeof(secret), nullptr, 0, md, md),
                1);
      EXPECT_FALSE(IsSignatureBlock(block, Bits(*key))) << EVP_MD_get0_name(md);
    }
  }
}

TEST_F(SignGuardTest, BlockOfWrongSizeIsRefused) {
  const PkeyPtr& key = Rsa2048();
  Bytes block = Pkcs1Type1(key, Sha256DigestInfo("x"));
  EXPECT_FALSE(IsSignatureBlock(block, 3072));
  EXPECT_FALSE(IsSignatureBlock(block, 2056));  // 257 bytes expected
  Bytes shorter(block.begin() + 1, block.end());
  EXPECT_FALSE(IsSignatureBlock(shorter, 2048));
  Bytes longer = block;
  longer.insert(longer.begin(), 0x00);
  EXPECT_FALSE(IsSignatureBlock(longer, 2048));
  EXPECT_FALSE(IsSignatureBlock({}, 2048));
  // A 1025-bit PSS block (with its leading 00) is not a 1024-bit one.
  EXPECT_FALSE(IsSignatureBlock(Pss(Rsa1025(), EVP_sha256(), RSA_PSS_SALTLEN_DIGEST), 1024));
}

TEST_F(SignGuardTest, ModulusUnder1024BitsIsRefused) {
  // Well-formed encodings, but the key is too small to be the server key.
  Bytes t = Sha256DigestInfo("x");
  Bytes b96(96);
  ASSERT_EQ(RSA_padding_add_PKCS1_type_1(b96.data(), 96, t.data(), static_cast<int>(t.size())), 1);
  EXPECT_FALSE(IsSignatureBlock(b96, 768));
  Bytes b128(128);
  ASSERT_EQ(RSA_padding_add_PKCS1_type_1(b128.data(), 128, t.data(), static_cast<int>(t.size())),
            1);
  EXPECT_FALSE(IsSignatureBlock(b128, 1023));
  EXPECT_TRUE(IsSignatureBlock(b128, 1024));  // the boundary itself is allowed
  EXPECT_FALSE(IsSignatureBlock(b128, 0));
}

}  // namespace
}  // namespace onionmail::server
