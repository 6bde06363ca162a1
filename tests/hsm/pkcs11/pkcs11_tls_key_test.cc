// Pkcs11Token's ECDSA P-256 TLS key against a real SoftHSM2 2.6 token (see
// softhsm_fixture.h). A second, raw PKCS#11 session (RawSession, opened while
// the Pkcs11Token is closed) inspects the objects and destroys some of them to
// make the token of an older version (no TLS key) or of an interrupted run.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hsm/pkcs11/pkcs11_token.h"
#include "softhsm_fixture.h"
#include "tests/crypto/ecdsa_test_util.h"

namespace onionmail::hsm {
namespace {

using softhsm::SoftHsmTest;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// SubjectPublicKeyInfo header of every P-256 key: SEQUENCE { SEQUENCE {
// id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) }; the 65-byte
// uncompressed point follows.
constexpr uint8_t kP256SpkiHeader[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                       0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                       0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

PkeyPtr ParseSpki(const std::vector<uint8_t>& der) {
  const unsigned char* p = der.data();
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (p != der.data() + der.size()) return nullptr;  // trailing bytes
  return key;
}

using onionmail::testing::Sha256Digest;

// A second PKCS#11 client of the fixture's token, logged in as the user.
// Open it only while no Pkcs11Token is open (it finalizes the module).
class RawSession {
 public:
  RawSession(const std::string& module_path, const std::string& label, const std::string& pin) {
    module_ = p11_kit_module_load(module_path.c_str(), 0);
    if (module_ == nullptr) return;
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    if (module_->C_Initialize(&args) != CKR_OK) return;
    initialized_ = true;
    CK_SLOT_ID slots[8];
    CK_ULONG count = 8;
    if (module_->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK) return;
    std::string padded = label;
    padded.resize(32, ' ');
    for (CK_ULONG i = 0; i < count; ++i) {
      CK_TOKEN_INFO info{};
      if (module_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      if (std::memcmp(info.label, padded.data(), 32) != 0) continue;
      if (module_->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                 &session_) != CKR_OK) {
        return;
      }
      std::string p = pin;
      ok_ = module_->C_Login(session_, CKU_USER, reinterpret_cast<CK_BYTE_PTR>(p.data()),
                             p.size()) == CKR_OK;
      return;
    }
  }
  ~RawSession() {
    if (session_ != CK_INVALID_HANDLE) module_->C_CloseSession(session_);
    if (initialized_) module_->C_Finalize(nullptr);
    if (module_ != nullptr) p11_kit_module_release(module_);
  }
  RawSession(const RawSession&) = delete;
  RawSession& operator=(const RawSession&) = delete;

  bool ok() const { return ok_; }

  std::vector<CK_OBJECT_HANDLE> Find(CK_OBJECT_CLASS cls, const char* label) {
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, const_cast<char*>(label), std::strlen(label)}};
    std::vector<CK_OBJECT_HANDLE> found;
    if (module_->C_FindObjectsInit(session_, tmpl, 2) != CKR_OK) return found;
    CK_OBJECT_HANDLE batch[8];
    CK_ULONG n = 0;
    while (module_->C_FindObjects(session_, batch, 8, &n) == CKR_OK && n > 0) {
      found.insert(found.end(), batch, batch + n);
    }
    module_->C_FindObjectsFinal(session_);
    return found;
  }

  CK_RV Destroy(CK_OBJECT_HANDLE object) { return module_->C_DestroyObject(session_, object); }

  // C_GetAttributeValue of one attribute: the CK_RV, the value in `out`.
  CK_RV Read(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, std::vector<uint8_t>* out) {
    CK_ATTRIBUTE attr{type, nullptr, 0};
    CK_RV rv = module_->C_GetAttributeValue(session_, object, &attr, 1);
    if (rv != CKR_OK) return rv;
    out->resize(attr.ulValueLen);
    attr.pValue = out->data();
    return module_->C_GetAttributeValue(session_, object, &attr, 1);
  }

  bool Flag(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
    std::vector<uint8_t> value;
    return Read(object, type, &value) == CKR_OK && value.size() == 1 && value[0] == CK_TRUE;
  }

 private:
  CK_FUNCTION_LIST* module_ = nullptr;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  bool initialized_ = false;
  bool ok_ = false;
};

class TlsKeyTest : public SoftHsmTest {
 protected:
  std::unique_ptr<RawSession> Raw() {
    auto raw = std::make_unique<RawSession>(module_, kLabel, kUserPin);
    EXPECT_TRUE(raw->ok()) << "raw PKCS#11 session to the test token failed";
    return raw;
  }
};

TEST_F(TlsKeyTest, TlsPublicKeyIsNotFoundBeforeProvision) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_FALSE(spki.ok());
  EXPECT_EQ(spki.error().code, ErrorCode::kNotFound);
  EXPECT_NE(spki.error().message.find(kPkcs11TlsLabel), std::string::npos);
  auto sig = token->TlsSign(Sha256Digest("x"));
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(token->operations(), 0u);
}

TEST_F(TlsKeyTest, ProvisionCreatesAnEcdsaP256TlsKey) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok()) << spki.error().message;
  PkeyPtr key = ParseSpki(*spki);
  ASSERT_NE(key, nullptr) << "the TLS SPKI does not parse";
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
  char group[64] = {};
  size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof(group), &group_len),
            1);
  EXPECT_STREQ(group, "prime256v1");
  // Named curve (no explicit parameters), uncompressed point.
  ASSERT_EQ(spki->size(), sizeof(kP256SpkiHeader) + 65);
  EXPECT_TRUE(std::equal(std::begin(kP256SpkiHeader), std::end(kP256SpkiHeader), spki->begin()));
  EXPECT_EQ((*spki)[sizeof(kP256SpkiHeader)], 0x04);
  // Apart from the identity key.
  auto rsa = token->ServerPublicKey();
  ASSERT_TRUE(rsa.ok());
  EXPECT_NE(*rsa, *spki);
}

TEST_F(TlsKeyTest, TlsSpkiCarriesThePointOfTheTokensPublicObject) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok()) << spki.error().message;
  token.reset();
  auto raw = Raw();
  std::vector<CK_OBJECT_HANDLE> pub = raw->Find(CKO_PUBLIC_KEY, kPkcs11TlsLabel);
  ASSERT_EQ(pub.size(), 1u);
  std::vector<uint8_t> point;
  ASSERT_EQ(raw->Read(pub[0], CKA_EC_POINT, &point), CKR_OK);
  ASSERT_EQ(point.size(), 67u) << "SoftHSM2 wraps CKA_EC_POINT in an OCTET STRING";
  EXPECT_TRUE(std::equal(point.begin() + 2, point.end(), spki->begin() + sizeof(kP256SpkiHeader)));
}

TEST_F(TlsKeyTest, TlsSignVerifiesWithOpenSsl) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok()) << spki.error().message;
  for (std::string_view message : {"ClientHello...ServerKeyExchange", "second handshake"}) {
    const std::vector<uint8_t> digest = Sha256Digest(message);
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    ASSERT_EQ(sig->size(), 64u);
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
    std::vector<uint8_t> flipped = digest;
    flipped[0] ^= 0x01;
    EXPECT_FALSE(onionmail::testing::VerifyP256RawSignature(*spki, flipped, *sig))
        << "a signature verified another digest";
    std::vector<uint8_t> bad_sig = *sig;
    bad_sig[63] ^= 0x01;
    EXPECT_FALSE(onionmail::testing::VerifyP256RawSignature(*spki, digest, bad_sig));
  }
}

TEST_F(TlsKeyTest, TlsSignRejectsADigestThatIsNot32Bytes) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  const uint64_t before = token->operations();
  for (size_t size : {size_t{0}, size_t{20}, size_t{31}, size_t{33}, size_t{48}, size_t{64}}) {
    auto sig = token->TlsSign(std::vector<uint8_t>(size, 0x5a));
    ASSERT_FALSE(sig.ok()) << size << "-byte digest was signed";
    EXPECT_EQ(sig.error().code, ErrorCode::kInvalidArgument) << size;
  }
  EXPECT_EQ(token->operations(), before);
  EXPECT_TRUE(token->TlsSign(Sha256Digest("still fine")).ok());
}

TEST_F(TlsKeyTest, TlsSignCountsOneOperation) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  const uint64_t before = token->operations();
  ASSERT_TRUE(token->TlsPublicKey().ok());  // public: no device operation
  EXPECT_EQ(token->operations(), before);
  ASSERT_TRUE(token->TlsSign(Sha256Digest("a")).ok());
  EXPECT_EQ(token->operations(), before + 1);
  ASSERT_TRUE(token->TlsSign(Sha256Digest("b")).ok());
  EXPECT_EQ(token->operations(), before + 2);
}

TEST_F(TlsKeyTest, TlsKeySurvivesReopen) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok()) << spki.error().message;
  token.reset();  // close, finalize
  auto reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  auto again = reopened->TlsPublicKey();  // without Provision
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *spki);
  const std::vector<uint8_t> digest = Sha256Digest("after reopen");
  auto sig = reopened->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
}

TEST_F(TlsKeyTest, ProvisionIsIdempotentForTheTlsKey) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok()) << spki.error().message;
  const uint64_t before = token->operations();
  ASSERT_TRUE(token->Provision(2048).ok());
  EXPECT_EQ(token->operations(), before) << "a second Provision generated a key";
  EXPECT_EQ(*token->TlsPublicKey(), *spki);
  EXPECT_EQ(*token->CountObjects(), 5u);
  token.reset();
  auto reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  ASSERT_TRUE(reopened->Provision(2048).ok());
  EXPECT_EQ(*reopened->TlsPublicKey(), *spki);
  EXPECT_EQ(*reopened->CountObjects(), 5u);
}

TEST_F(TlsKeyTest, ProvisionAddsTheTlsKeyToAnOlderToken) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto rsa = token->ServerPublicKey();
  auto mac = token->Hmac(std::vector<uint8_t>{'k'});
  auto first_tls = token->TlsPublicKey();
  ASSERT_TRUE(rsa.ok() && mac.ok() && first_tls.ok());
  token.reset();
  {  // What an older version left: the HMAC key and the RSA pair only.
    auto raw = Raw();
    for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
      std::vector<CK_OBJECT_HANDLE> objects = raw->Find(cls, kPkcs11TlsLabel);
      ASSERT_EQ(objects.size(), 1u);
      ASSERT_EQ(raw->Destroy(objects[0]), CKR_OK);
    }
  }
  auto older = OpenOrDie();
  ASSERT_NE(older, nullptr);
  ASSERT_EQ(*older->CountObjects(), 3u);
  EXPECT_EQ(older->TlsPublicKey().error().code, ErrorCode::kNotFound);
  EXPECT_EQ(older->TlsSign(Sha256Digest("x")).error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(older->Provision(2048).ok());
  EXPECT_EQ(*older->CountObjects(), 5u);
  auto tls = older->TlsPublicKey();
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  EXPECT_NE(*tls, *first_tls) << "a fresh key pair was expected";
  const std::vector<uint8_t> digest = Sha256Digest("new TLS key");
  auto sig = older->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*tls, digest, *sig));
  // The other keys are kept.
  EXPECT_EQ(*older->ServerPublicKey(), *rsa);
  EXPECT_EQ(*older->Hmac(std::vector<uint8_t>{'k'}), *mac);
}

TEST_F(TlsKeyTest, ProvisionReplacesAnOrphanedTlsPublicKey) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  token.reset();
  {  // An interrupted run: the public half without its private key.
    auto raw = Raw();
    std::vector<CK_OBJECT_HANDLE> priv = raw->Find(CKO_PRIVATE_KEY, kPkcs11TlsLabel);
    ASSERT_EQ(priv.size(), 1u);
    ASSERT_EQ(raw->Destroy(priv[0]), CKR_OK);
  }
  auto reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->TlsPublicKey().error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(reopened->Provision(2048).ok());
  EXPECT_EQ(*reopened->CountObjects(), 5u) << "the orphaned public key was left behind";
  auto spki = reopened->TlsPublicKey();
  ASSERT_TRUE(spki.ok()) << spki.error().message;
  const std::vector<uint8_t> digest = Sha256Digest("pair matches");
  auto sig = reopened->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
}

TEST_F(TlsKeyTest, AMissingTlsPublicHalfFailsProvisionButNotSigning) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  token.reset();
  {
    auto raw = Raw();
    std::vector<CK_OBJECT_HANDLE> pub = raw->Find(CKO_PUBLIC_KEY, kPkcs11TlsLabel);
    ASSERT_EQ(pub.size(), 1u);
    ASSERT_EQ(raw->Destroy(pub[0]), CKR_OK);
  }
  auto reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  auto provision = reopened->Provision(2048);
  ASSERT_FALSE(provision.ok());
  EXPECT_EQ(provision.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(provision.error().message.find(kPkcs11TlsLabel), std::string::npos);
  EXPECT_EQ(reopened->TlsPublicKey().error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(*reopened->CountObjects(), 4u) << "Provision must not destroy the private key";
  EXPECT_TRUE(reopened->TlsSign(Sha256Digest("x")).ok());
}

TEST_F(TlsKeyTest, TlsPrivateKeyIsSensitiveAndCannotBeExported) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto r = token->AttemptPrivateKeyExport();
  ASSERT_FALSE(r.ok()) << "key material left the token";
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  token.reset();

  auto raw = Raw();
  std::vector<CK_OBJECT_HANDLE> priv = raw->Find(CKO_PRIVATE_KEY, kPkcs11TlsLabel);
  ASSERT_EQ(priv.size(), 1u);
  std::vector<uint8_t> value;
  EXPECT_EQ(raw->Read(priv[0], CKA_VALUE, &value), CKR_ATTRIBUTE_SENSITIVE)
      << "CKA_VALUE of the TLS private key was readable";
  std::vector<uint8_t> key_type;
  ASSERT_EQ(raw->Read(priv[0], CKA_KEY_TYPE, &key_type), CKR_OK);
  CK_KEY_TYPE type = 0;
  ASSERT_EQ(key_type.size(), sizeof(type));
  std::memcpy(&type, key_type.data(), sizeof(type));
  EXPECT_EQ(type, CKK_EC);
  EXPECT_TRUE(raw->Flag(priv[0], CKA_TOKEN));
  EXPECT_TRUE(raw->Flag(priv[0], CKA_PRIVATE));
  EXPECT_TRUE(raw->Flag(priv[0], CKA_SENSITIVE));
  EXPECT_TRUE(raw->Flag(priv[0], CKA_ALWAYS_SENSITIVE));
  EXPECT_FALSE(raw->Flag(priv[0], CKA_EXTRACTABLE));
  EXPECT_TRUE(raw->Flag(priv[0], CKA_NEVER_EXTRACTABLE));
  EXPECT_TRUE(raw->Flag(priv[0], CKA_SIGN));
  EXPECT_FALSE(raw->Flag(priv[0], CKA_DECRYPT));
  EXPECT_FALSE(raw->Flag(priv[0], CKA_UNWRAP));
  EXPECT_FALSE(raw->Flag(priv[0], CKA_DERIVE));
}

// As TokenRemovedMidRunIsUnavailableThenRecovers in pkcs11_token_test.cc:
// with the token directory moved away, signing is kUnavailable (the cached
// key handle is dropped), and once it is back the same key signs again.
TEST_F(TlsKeyTest, TlsSignOnARemovedTokenIsUnavailableThenRecovers) {
  auto token = OpenProvisioned();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  ASSERT_TRUE(token->TlsSign(Sha256Digest("before")).ok());
  const std::string away = dir_ + "/tokens.away";
  std::filesystem::rename(tokens_, away);
  std::filesystem::create_directory(tokens_);
  auto gone = token->TlsSign(Sha256Digest("while gone"));
  ASSERT_FALSE(gone.ok()) << "the token's removal went unnoticed";
  EXPECT_EQ(gone.error().code, ErrorCode::kUnavailable) << gone.error().message;
  EXPECT_EQ(*token->TlsPublicKey(), *spki);  // cached: public
  std::filesystem::remove(tokens_);
  std::filesystem::rename(away, tokens_);
  const std::vector<uint8_t> digest = Sha256Digest("after");
  auto sig = token->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
}

}  // namespace
}  // namespace onionmail::hsm
