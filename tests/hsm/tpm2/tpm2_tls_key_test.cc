// Tpm2Token's ECDSA P-256 TLS key against a real swtpm (started by the suite;
// a missing swtpm is a failure, not a skip). One provisioning is shared by
// the suite; tests that change key blobs use their own key_dir. Each test
// opens its own token (swtpm serves one client at a time).
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "hsm/tpm2/esys_support.h"
#include "hsm/tpm2/tpm2_token.h"
#include "tests/crypto/ecdsa_test_util.h"
#include "tests/hsm/tpm2/swtpm_harness.h"
#include "tests/hsm/tpm2/swtpm_suite.h"

namespace onionmail::hsm::tpm2 {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  chmod(path.c_str(), 0600);
}

using onionmail::testing::Sha256Digest;

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PkeyPtr ParseSpki(const std::vector<uint8_t>& der) {
  const uint8_t* p = der.data();
  return PkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())), &EVP_PKEY_free);
}

class Tpm2TlsKeyTest : public testing::SwtpmSuite<Tpm2TlsKeyTest> {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = StartSwtpm("correct horse battery\n");
    if (setup_error_.empty()) setup_error_ = OpenAndProvision(Options(), 1024);
  }
  void TearDown() override { EXPECT_EQ(testing::RelaxDictionaryAttack(swtpm_->tcti()), ""); }
};

TEST_F(Tpm2TlsKeyTest, ProvisionCreatesAnEcdsaP256TlsKey) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto der = token->TlsPublicKey();
  ASSERT_TRUE(der.ok()) << der.error().message;
  PkeyPtr key = ParseSpki(*der);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  char group[64] = {};
  size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof(group), &group_len),
            1);
  EXPECT_EQ(std::string(group), "prime256v1");
  // Named-curve SPKI with an uncompressed point: 26-byte prefix + 04||x||y.
  ASSERT_EQ(der->size(), 91u);
  EXPECT_EQ((*der)[26], 0x04);
  // The re-encoding by OpenSSL of the parsed key is byte-identical.
  uint8_t* again = nullptr;
  const int again_len = i2d_PUBKEY(key.get(), &again);
  ASSERT_EQ(again_len, 91);
  EXPECT_EQ(std::vector<uint8_t>(again, again + again_len), *der);
  OPENSSL_free(again);

  auto blob = ReadKeyBlob(token->tls_blob_path());
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  const TPMT_PUBLIC& p = blob->pub.publicArea;
  EXPECT_EQ(p.type, TPM2_ALG_ECC);
  EXPECT_EQ(p.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
  EXPECT_EQ(p.parameters.eccDetail.scheme.scheme, TPM2_ALG_ECDSA);
  EXPECT_EQ(p.parameters.eccDetail.scheme.details.ecdsa.hashAlg, TPM2_ALG_SHA256);
  EXPECT_EQ(p.parameters.eccDetail.kdf.scheme, TPM2_ALG_NULL);
  const TPMA_OBJECT want = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                           TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                           TPMA_OBJECT_USERWITHAUTH;
  EXPECT_EQ(p.objectAttributes, want);  // in particular neither restricted nor decrypt
  EXPECT_EQ(p.authPolicy.size, 0);
  struct stat st {};
  ASSERT_EQ(stat(token->tls_blob_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Provisioning again creates nothing and keeps the key.
  const std::string before = ReadFile(token->tls_blob_path());
  const uint64_t ops = token->operations();
  ASSERT_TRUE(token->Provision(1024).ok());
  EXPECT_EQ(token->operations(), ops);
  EXPECT_EQ(ReadFile(token->tls_blob_path()), before);
  EXPECT_EQ(*token->TlsPublicKey(), *der);
}

TEST_F(Tpm2TlsKeyTest, TlsSignVerifiesWithOpenSsl) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  std::vector<uint8_t> digest = Sha256Digest("TLS 1.3, server CertificateVerify");
  auto sig = token->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  ASSERT_EQ(sig->size(), 64u);
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
  std::vector<uint8_t> changed = digest;
  changed[31] ^= 0x01;
  EXPECT_FALSE(onionmail::testing::VerifyP256RawSignature(*spki, changed, *sig));
  std::vector<uint8_t> swapped(sig->begin() + 32, sig->end());  // s || r
  swapped.insert(swapped.end(), sig->begin(), sig->begin() + 32);
  EXPECT_FALSE(onionmail::testing::VerifyP256RawSignature(*spki, digest, swapped));
  // ECDSA is randomised: a second signature differs and verifies too.
  auto second = token->TlsSign(digest);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second, *sig);
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *second));
}

TEST_F(Tpm2TlsKeyTest, TlsSignLeftPadsShortCoordinatesTo32Bytes) {
  // r or s is below 2^248 about once in 128 signatures; the TPM then returns
  // fewer than 32 bytes. 2000 tries miss with probability ~2e-7.
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  bool found = false;
  for (int i = 0; i < 2000 && !found; ++i) {
    std::vector<uint8_t> digest = Sha256Digest("message " + std::to_string(i));
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << i << ": " << sig.error().message;
    ASSERT_EQ(sig->size(), 64u);
    if ((*sig)[0] != 0 && (*sig)[32] != 0) continue;
    found = true;
    RecordProperty("signatures_until_short_coordinate", i + 1);
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig))
        << "signature " << i;
  }
  EXPECT_TRUE(found);
}

TEST_F(Tpm2TlsKeyTest, TlsSignRejectsADigestThatIsNot32Bytes) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  const uint64_t ops = token->operations();
  for (size_t n : {0u, 1u, 20u, 31u, 33u, 48u, 64u}) {
    auto r = token->TlsSign(std::vector<uint8_t>(n, 0x5a));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << n;
  }
  EXPECT_EQ(token->operations(), ops);
  token.reset();  // one client at a time: a second Connect flushes our primary
  // The size check comes first, even on a token without any key.
  auto empty = OpenOrDie(Options("no-keys"));
  ASSERT_NE(empty, nullptr);
  auto r = empty->TlsSign(std::vector<uint8_t>(31, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Tpm2TlsKeyTest, TlsSignCountsOneOperationAndLeaksNoHandles) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  const uint64_t start = token->operations();
  ASSERT_TRUE(token->TlsPublicKey().ok());
  EXPECT_EQ(token->operations(), start);  // public key: cached, no device operation
  std::vector<uint8_t> digest = Sha256Digest("count me");
  for (int i = 0; i < 20; ++i) {
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << i << ": " << sig.error().message;
    EXPECT_EQ(token->operations(), start + static_cast<uint64_t>(i) + 1);
  }
  token.reset();  // flushes the primary and disconnects
  EXPECT_EQ(testing::LoadedHandleCount(swtpm_->tcti()), 0);
}

TEST_F(Tpm2TlsKeyTest, TlsKeySurvivesReopen) {
  std::vector<uint8_t> spki;
  {
    auto token = OpenOrDie();
    ASSERT_NE(token, nullptr);
    auto der = token->TlsPublicKey();
    ASSERT_TRUE(der.ok());
    spki = *der;
  }
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto der = token->TlsPublicKey();
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(*der, spki);
  std::vector<uint8_t> digest = Sha256Digest("after reopen");
  auto sig = token->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(spki, digest, *sig));
}

TEST_F(Tpm2TlsKeyTest, TlsSignRecoversAfterSwtpmRestart) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto spki = token->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  std::vector<uint8_t> digest = Sha256Digest("restart");
  ASSERT_TRUE(token->TlsSign(digest).ok());
  swtpm_->Stop(SIGKILL);
  auto down = token->TlsSign(digest);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable) << down.error().message;
  auto cached = token->TlsPublicKey();  // public and cached: needs no TPM
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(*cached, *spki);
  ASSERT_EQ(swtpm_->Restart(), "");
  auto up = token->TlsSign(digest);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *up));
}

TEST_F(Tpm2TlsKeyTest, UnprovisionedTokenTlsCallsAreFailedPrecondition) {
  auto token = OpenOrDie(Options("empty-keys"));
  ASSERT_NE(token, nullptr);
  auto pub = token->TlsPublicKey();
  ASSERT_FALSE(pub.ok());
  EXPECT_EQ(pub.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(pub.error().message.find("tls-ec.tpm2"), std::string::npos) << pub.error().message;
  auto sig = token->TlsSign(Sha256Digest("x"));
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(Tpm2TlsKeyTest, ProvisionAddsTheTlsKeyToAnOlderToken) {
  const Tpm2Options o = Options("older-keys");
  std::vector<uint8_t> rsa_spki, old_tls_spki;
  std::array<uint8_t, 32> mac{};
  std::string rsa_blob, hmac_blob;
  {
    auto token = OpenOrDie(o);
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->Provision(1024).ok());
    rsa_spki = *token->ServerPublicKey();
    old_tls_spki = *token->TlsPublicKey();
    mac = *token->Hmac(Sha256Digest("label"));
    rsa_blob = ReadFile(token->rsa_blob_path());
    hmac_blob = ReadFile(token->hmac_blob_path());
    // What a key_dir provisioned before the TLS key existed looks like.
    ASSERT_TRUE(std::filesystem::remove(token->tls_blob_path()));
  }
  auto token = OpenOrDie(o);
  ASSERT_NE(token, nullptr);
  auto missing = token->TlsPublicKey();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().message;
  auto no_sig = token->TlsSign(Sha256Digest("x"));
  ASSERT_FALSE(no_sig.ok());
  EXPECT_EQ(no_sig.error().code, ErrorCode::kNotFound);
  // The older keys still work.
  EXPECT_EQ(*token->ServerPublicKey(), rsa_spki);
  auto mac_again = token->Hmac(Sha256Digest("label"));
  ASSERT_TRUE(mac_again.ok()) << mac_again.error().message;
  EXPECT_EQ(*mac_again, mac);
  PkeyPtr rsa = ParseSpki(rsa_spki);
  ASSERT_NE(rsa, nullptr);
  std::vector<uint8_t> m(128, 0x33);
  std::vector<uint8_t> c(128);
  {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(rsa.get(), nullptr), &EVP_PKEY_CTX_free);
    size_t len = c.size();
    ASSERT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING), 1);
    ASSERT_EQ(EVP_PKEY_encrypt(ctx.get(), c.data(), &len, m.data(), m.size()), 1);
  }
  auto raw = token->RsaPrivateRaw(c);
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  EXPECT_EQ(*raw, m);

  const uint64_t ops = token->operations();
  ASSERT_TRUE(token->Provision(1024).ok());
  EXPECT_EQ(token->operations(), ops + 1);  // only the TLS key was created
  auto added = token->TlsPublicKey();
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_NE(*added, old_tls_spki);  // a fresh key, not the deleted one
  std::vector<uint8_t> digest = Sha256Digest("added");
  auto sig = token->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*added, digest, *sig));
  EXPECT_EQ(*token->ServerPublicKey(), rsa_spki);
  EXPECT_EQ(ReadFile(token->rsa_blob_path()), rsa_blob);
  EXPECT_EQ(ReadFile(token->hmac_blob_path()), hmac_blob);
  EXPECT_EQ(*token->Hmac(Sha256Digest("label")), mac);
  const std::vector<uint8_t> added_spki = *added;
  token.reset();
  token = OpenOrDie(o);
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(*token->TlsPublicKey(), added_spki);
  EXPECT_EQ(*token->ServerPublicKey(), rsa_spki);
}

TEST_F(Tpm2TlsKeyTest, TlsBlobThatIsNotAnEcP256KeyIsDataLoss) {
  const Tpm2Options o = Options("wrong-tls-blob");
  std::string rsa_blob_path, tls_blob_path;
  {
    auto token = OpenOrDie(o);
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->Provision(1024).ok());
    rsa_blob_path = token->rsa_blob_path();
    tls_blob_path = token->tls_blob_path();
  }
  WriteFile(tls_blob_path, ReadFile(rsa_blob_path));  // an RSA key where the EC key belongs
  auto token = Tpm2Token::Open(o);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kDataLoss) << token.error().message;
  EXPECT_NE(token.error().message.find("tls-ec.tpm2"), std::string::npos);
  WriteFile(tls_blob_path, "OMT1 truncated");
  auto damaged = Tpm2Token::Open(o);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code, ErrorCode::kDataLoss) << damaged.error().message;
}

TEST_F(Tpm2TlsKeyTest, TlsPrivateKeyExportIsRefused) {
  auto token = OpenOrDie();
  ASSERT_NE(token, nullptr);
  auto r = token->AttemptPrivateKeyExport(Tpm2Token::ExportTarget::kTls);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().message;
  EXPECT_NE(r.error().message.find("TLS key"), std::string::npos) << r.error().message;
  auto rsa = token->AttemptPrivateKeyExport(Tpm2Token::ExportTarget::kRsa);
  ASSERT_FALSE(rsa.ok());
  EXPECT_EQ(rsa.error().code, ErrorCode::kPermissionDenied) << rsa.error().message;
  std::vector<uint8_t> digest = Sha256Digest("still usable");
  auto sig = token->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*token->TlsPublicKey(), digest, *sig));
}

TEST_F(Tpm2TlsKeyTest, TlsSignWorksWithAPcrPolicy) {
  Tpm2Options o = Options("pcr-keys");
  o.pcrs = {23};
  std::vector<uint8_t> spki;
  std::string blob_path;
  {
    auto token = OpenOrDie(o);
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->Provision(1024).ok());
    blob_path = token->tls_blob_path();
    auto der = token->TlsPublicKey();
    ASSERT_TRUE(der.ok()) << der.error().message;
    spki = *der;
    std::vector<uint8_t> digest = Sha256Digest("under policy");
    auto sig = token->TlsSign(digest);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(spki, digest, *sig));
  }
  auto blob = ReadKeyBlob(blob_path);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->pub.publicArea.authPolicy.size, 32);  // PolicyPCR + PolicyAuthValue
  EXPECT_EQ(blob->pub.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH, 0u);

  // Only the TLS blob in a key_dir of its own: Open runs no RSA self-test, so
  // the TLS key's own policy check is what fails once the PCR changes.
  Tpm2Options alone = o;
  alone.key_dir = swtpm_->dir() + "/pcr-tls-only";
  std::filesystem::create_directories(alone.key_dir);
  WriteFile(alone.key_dir + "/tls-ec.tpm2", ReadFile(blob_path));
  ASSERT_EQ(testing::ExtendPcr(swtpm_->tcti(), 23), "");
  auto token = OpenOrDie(alone);
  ASSERT_NE(token, nullptr);
  auto pub = token->TlsPublicKey();
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, spki);
  auto denied = token->TlsSign(Sha256Digest("after the PCR changed"));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied) << denied.error().message;
}

}  // namespace
}  // namespace onionmail::hsm::tpm2
