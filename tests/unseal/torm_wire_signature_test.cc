// TORM request signatures (torm_wire.h): the signing input, RSA-PSS signing
// and verification with real keys, and the refusal of signatures for another
// channel, verb, body or key, of other paddings, and of unfit or non-canonical
// keys.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>
#include <vector>

#include "crypto/kdf.h"
#include "tests/unseal/torm_test_keys.h"
#include "tests/unseal/torm_wire_test_util.h"
#include "unseal/torm_wire.h"

namespace onionmail::unseal {
namespace {

using Bytes = std::vector<uint8_t>;

// A raw signature over `input` with any key, padding and salt length (to build
// requests that SignRequestWithKey would refuse to make).
Bytes RawSign(EVP_PKEY* key, const Bytes& input, int padding, int salt_len = 32) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit_ex(md.get(), &pctx, "SHA256", nullptr, nullptr, key, nullptr), 1);
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    EXPECT_GT(EVP_PKEY_CTX_set_rsa_padding(pctx, padding), 0);
    if (padding == RSA_PKCS1_PSS_PADDING) {
      EXPECT_GT(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len), 0);
    }
  }
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(md.get(), nullptr, &len, input.data(), input.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(EVP_DigestSign(md.get(), sig.data(), &len, input.data(), input.size()), 1);
  sig.resize(len);
  return sig;
}

std::array<uint8_t, 32> Cb(uint8_t fill) {
  std::array<uint8_t, 32> cb{};
  cb.fill(fill);
  return cb;
}

// ---------------------------------------------------------------- signatures

TEST(TormSignatureTest, SigningInputHasTheDocumentedLayout) {
  const Bytes body = {0xde, 0xad};
  const auto cb = Cb(0x07);
  const Bytes input = SigningInput(Verb::kDerk, cb, body);
  Bytes expected;
  expected.reserve(128);  // (also avoids a GCC 12 -Wstringop-overflow false positive)
  expected.insert(expected.end(), kTormSigningLabel.begin(), kTormSigningLabel.end());
  expected.push_back(0x00);
  expected.push_back(0x02);
  expected.insert(expected.end(), cb.begin(), cb.end());
  expected.insert(expected.end(), body.begin(), body.end());
  EXPECT_EQ(input, expected);
  EXPECT_EQ(SigningDigest(Verb::kDerk, cb, body), crypto::Sha256(expected));
}

TEST(TormSignatureTest, SignedRequestVerifiesAndNamesThePartner) {
  const auto cb = Cb(0x11);
  const Bytes body = {9, 8, 7};
  for (Verb verb : {Verb::kPush, Verb::kDerk, Verb::kStat}) {
    auto request = SignRequestWithKey(ServerKey(), verb, cb, body);
    ASSERT_TRUE(request.ok()) << request.error().message;
    EXPECT_EQ(request->spki_der, SpkiOf(ServerKey()));
    EXPECT_EQ(request->signature.size(), 256u);
    // Through the wire and back.
    auto wire = EncodeSignedRequest(*request);
    ASSERT_TRUE(wire.ok());
    auto parsed = ParseSignedRequest(*wire);
    ASSERT_TRUE(parsed.ok());
    auto partner = VerifyRequest(*parsed, cb);
    ASSERT_TRUE(partner.ok()) << partner.error().message;
    EXPECT_EQ(*partner, crypto::Sha256(SpkiOf(ServerKey())));
    EXPECT_EQ(*partner, PartnerIdOf(request->spki_der));
  }
}

void ExpectBadSignature(const SignedRequest& request, const std::array<uint8_t, 32>& cb) {
  auto r = VerifyRequest(request, cb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated) << r.error().message;
  EXPECT_EQ(r.error().message, "torm: bad request signature");
}

TEST(TormSignatureTest, SignatureForAnotherChannelIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kDerk, Cb(0x11), Bytes{1});
  ASSERT_TRUE(request.ok());
  ExpectBadSignature(*request, Cb(0x12));
  auto cb = Cb(0x11);
  cb[31] ^= 0x80;
  ExpectBadSignature(*request, cb);
}

TEST(TormSignatureTest, SignatureForAnotherVerbIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kStat, Cb(0x11), Bytes{});
  ASSERT_TRUE(request.ok());
  request->verb = Verb::kDerk;
  ExpectBadSignature(*request, Cb(0x11));
}

TEST(TormSignatureTest, ModifiedBodyOrSignatureIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kPush, Cb(0x11), Bytes{1, 2, 3});
  ASSERT_TRUE(request.ok());
  SignedRequest changed = *request;
  changed.body[2] ^= 0x01;
  ExpectBadSignature(changed, Cb(0x11));
  changed = *request;
  changed.body.push_back(0);
  ExpectBadSignature(changed, Cb(0x11));
  changed = *request;
  changed.signature[10] ^= 0x01;
  ExpectBadSignature(changed, Cb(0x11));
  changed = *request;
  changed.signature.pop_back();
  ExpectBadSignature(changed, Cb(0x11));
}

TEST(TormSignatureTest, SignatureUnderAnotherKeyIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kDerk, Cb(0x11), Bytes{1});
  ASSERT_TRUE(request.ok());
  request->spki_der = SpkiOf(OtherServerKey());
  ExpectBadSignature(*request, Cb(0x11));
}

TEST(TormSignatureTest, PkcsV15OrOtherSaltLengthIsRefused) {
  const auto cb = Cb(0x11);
  const Bytes body = {1};
  const Bytes input = SigningInput(Verb::kDerk, cb, body);
  SignedRequest request{Verb::kDerk, body, SpkiOf(ServerKey()),
                        RawSign(ServerKey(), input, RSA_PKCS1_PADDING)};
  ExpectBadSignature(request, cb);
  request.signature = RawSign(ServerKey(), input, RSA_PKCS1_PSS_PADDING, 20);
  ExpectBadSignature(request, cb);
  request.signature = RawSign(ServerKey(), input, RSA_PKCS1_PSS_PADDING, 32);
  EXPECT_TRUE(VerifyRequest(request, cb).ok());
}

TEST(TormSignatureTest, SignatureOverTheDigestAsATokenMakesItVerifies) {
  // A token signing the precomputed digest (CKM_RSA_PKCS_PSS) must interoperate.
  const auto cb = Cb(0x33);
  const Bytes body = {4, 5, 6};
  const auto digest = SigningDigest(Verb::kPush, cb, body);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, ServerKey(), nullptr), EVP_PKEY_CTX_free);
  ASSERT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  ASSERT_GT(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING), 0);
  ASSERT_GT(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()), 0);
  ASSERT_GT(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()), 0);
  ASSERT_GT(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), 32), 0);
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()), 1);
  Bytes signature(len);
  ASSERT_EQ(EVP_PKEY_sign(ctx.get(), signature.data(), &len, digest.data(), digest.size()), 1);
  signature.resize(len);
  auto wire = BuildSignedRequest(Verb::kPush, body, SpkiOf(ServerKey()), signature);
  ASSERT_TRUE(wire.ok());
  auto parsed = ParseSignedRequest(*wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(VerifyRequest(*parsed, cb).ok());
}

TEST(TormSignatureTest, Rsa1024KeyIsRefused) {
  PkeyPtr small = RsaKey(1024);
  ExpectInvalid(SignRequestWithKey(small.get(), Verb::kDerk, Cb(1), Bytes{1}).error());
  const Bytes body = {1};
  const SignedRequest request{
      Verb::kDerk, body, SpkiOf(small.get()),
      RawSign(small.get(), SigningInput(Verb::kDerk, Cb(1), body), RSA_PKCS1_PSS_PADDING)};
  auto r = VerifyRequest(request, Cb(1));
  ASSERT_FALSE(r.ok());
  ExpectInvalid(r.error());
  EXPECT_EQ(r.error().message, "torm: request RSA key size out of range");
}

TEST(TormSignatureTest, NonRsaKeyIsRefused) {
  PkeyPtr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(ec != nullptr);
  ExpectInvalid(SignRequestWithKey(ec.get(), Verb::kDerk, Cb(1), Bytes{1}).error());
  const Bytes body = {1};
  const SignedRequest request{Verb::kDerk, body, SpkiOf(ec.get()),
                              RawSign(ec.get(), SigningInput(Verb::kDerk, Cb(1), body), 0)};
  auto r = VerifyRequest(request, Cb(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: request key is not an RSA key");

  PkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed != nullptr);
  const SignedRequest ed_request{Verb::kDerk, body, SpkiOf(ed.get()), Bytes(64, 1)};
  ExpectInvalid(VerifyRequest(ed_request, Cb(1)).error());
}

TEST(TormSignatureTest, MalformedOrNonCanonicalKeyIsRefused) {
  auto request = SignRequestWithKey(ServerKey(), Verb::kDerk, Cb(1), Bytes{1});
  ASSERT_TRUE(request.ok());
  const Bytes der = request->spki_der;

  SignedRequest changed = *request;
  changed.spki_der.push_back(0x00);  // trailing byte after the DER
  ExpectInvalid(VerifyRequest(changed, Cb(1)).error());

  changed = *request;
  changed.spki_der.resize(der.size() / 2);  // truncated DER
  ExpectInvalid(VerifyRequest(changed, Cb(1)).error());

  // The same key with the outer length in a non-minimal long form (BER, not DER):
  // it would give the key a second partner_id.
  ASSERT_EQ(der[0], 0x30);
  ASSERT_EQ(der[1], 0x82);
  changed = *request;
  changed.spki_der = {0x30, 0x83, 0x00, der[2], der[3]};
  changed.spki_der.insert(changed.spki_der.end(), der.begin() + 4, der.end());
  auto r = VerifyRequest(changed, Cb(1));  // OpenSSL's d2i_PUBKEY accepts this form
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: spki_der is not canonical DER");

  changed = *request;
  changed.spki_der = {0x30, 0x00};
  ExpectInvalid(VerifyRequest(changed, Cb(1)).error());
}

}  // namespace
}  // namespace onionmail::unseal
