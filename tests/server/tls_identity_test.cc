// server::LoadTlsIdentity and server::MoveTlsToOwnKey over real state
// directories (file backend): which key the certificate is for, the layout of
// state directories made before the ECDSA TLS key, and the move to it.
#include "server/tls_identity.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ctl/tls_cert.h"
#include "server/state.h"
#include "tests/crypto/ecdsa_test_util.h"
#include "tests/store/test_util.h"

namespace onionmail::server {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

class TlsIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.state_dir = dir_.path() + "/state";
    config_.domain = "tls.test";
    ASSERT_TRUE(InitState(config_).ok());
  }

  std::unique_ptr<State> Open() {
    auto state = State::Open(config_);
    EXPECT_TRUE(state.ok()) << state.error().message;
    return state.ok() ? std::move(*state) : nullptr;
  }

  // Replaces the certificate with one for `key`.
  void ReplaceCertificate(EVP_PKEY* key) {
    ASSERT_EQ(::unlink(config_.tls_cert_path().c_str()), 0);
    ASSERT_TRUE(ctl::CreateCertificateForKey(config_.domain, config_.tls_cert_path(), key).ok());
  }

  // Turns the directory into the layout made before the ECDSA TLS key: no
  // ecdsa-key.pem, a certificate for the RSA server key.
  void MakeOldLayout() {
    ASSERT_EQ(::unlink(config_.tls_ecdsa_key_path().c_str()), 0);
    FILE* f = std::fopen(config_.tls_key_path().c_str(), "r");
    ASSERT_NE(f, nullptr);
    PkeyPtr rsa(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr), EVP_PKEY_free);
    std::fclose(f);
    ASSERT_NE(rsa, nullptr);
    ReplaceCertificate(rsa.get());
  }

  onionmail::testing::TempDir dir_;
  config::Config config_;
};

TEST_F(TlsIdentityTest, NewStateDirectoryServesItsEcdsaTlsKey) {
  auto state = Open();
  ASSERT_NE(state, nullptr);
  auto id = LoadTlsIdentity(*state);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->kind, TlsKeyKind::kEcdsaP256);
  auto tls_key = state->TlsPublicKey();
  auto server_key = state->ServerPublicKey();
  ASSERT_TRUE(tls_key.ok() && server_key.ok());
  EXPECT_EQ(id->public_key, *tls_key);
  EXPECT_NE(id->public_key, *server_key);
  EXPECT_NE(id->certificate_pem.find("BEGIN CERTIFICATE"), std::string::npos);
}

TEST_F(TlsIdentityTest, FileBackendTlsSignIsAVerifiableP256Signature) {
  auto state = Open();
  ASSERT_NE(state, nullptr);
  std::vector<uint8_t> digest(32, 0x42);
  auto sig = state->TlsSign(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  ASSERT_EQ(sig->size(), 64u);
  auto spki = state->TlsPublicKey();
  ASSERT_TRUE(spki.ok());
  EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
  digest[5] ^= 1;
  EXPECT_FALSE(onionmail::testing::VerifyP256RawSignature(*spki, digest, *sig));
  auto bad = state->TlsSign(std::vector<uint8_t>(48, 1));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(TlsIdentityTest, CertificateOfTheServerKeyIsServedAsRsaForOldStateDirectories) {
  MakeOldLayout();
  auto state = Open();
  ASSERT_NE(state, nullptr);
  auto tls_key = state->TlsPublicKey();
  ASSERT_FALSE(tls_key.ok());
  EXPECT_EQ(tls_key.error().code, ErrorCode::kNotFound);
  auto id = LoadTlsIdentity(*state);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->kind, TlsKeyKind::kRsa);
  EXPECT_EQ(id->rsa_modulus_bits, 2048u);
  EXPECT_EQ(id->public_key, *state->ServerPublicKey());
}

TEST_F(TlsIdentityTest, TlsKeyCommandMovesAnOldStateDirectoryOnceAndKeepsTheServerKey) {
  MakeOldLayout();
  std::vector<uint8_t> server_key;
  {
    auto state = Open();
    ASSERT_NE(state, nullptr);
    server_key = *state->ServerPublicKey();
  }
  auto moved = MoveTlsToOwnKey(config_);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_TRUE(*moved);
  auto state = Open();
  ASSERT_NE(state, nullptr);
  auto id = LoadTlsIdentity(*state);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->kind, TlsKeyKind::kEcdsaP256);
  EXPECT_EQ(*state->ServerPublicKey(), server_key);
  EXPECT_EQ(::access((config_.tls_cert_path() + ".new").c_str(), F_OK), -1);
  auto again = MoveTlsToOwnKey(config_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(*again);
  auto same = LoadTlsIdentity(*Open());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->certificate_pem, id->certificate_pem);  // nothing rewritten
}

TEST_F(TlsIdentityTest, TlsKeyCommandReplacesALeftoverNewCertificate) {
  MakeOldLayout();
  const std::string leftover = config_.tls_cert_path() + ".new";
  onionmail::testing::WriteFileBytes(leftover, {'o', 'l', 'd'});
  auto moved = MoveTlsToOwnKey(config_);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_TRUE(*moved);
  EXPECT_EQ(::access(leftover.c_str(), F_OK), -1);
  auto id = LoadTlsIdentity(*Open());
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->kind, TlsKeyKind::kEcdsaP256);
}

TEST_F(TlsIdentityTest, TlsKeyCommandRefusesAnUnusableKeyFileAndKeepsTheCertificate) {
  MakeOldLayout();
  const std::vector<uint8_t> before = onionmail::testing::ReadFileBytes(config_.tls_cert_path());
  onionmail::testing::WriteFileBytes(config_.tls_ecdsa_key_path(), {'n', 'o', 'p', 'e'});
  auto moved = MoveTlsToOwnKey(config_);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(moved.error().message.find("ecdsa-key.pem"), std::string::npos);
  EXPECT_EQ(onionmail::testing::ReadFileBytes(config_.tls_cert_path()), before);
}

TEST_F(TlsIdentityTest, CertificateOfAnRsaServerKeyUnder2048BitsIsRefused) {
  // A server key file of 1024 bits with its own certificate (never made by
  // init; a hand-edited state directory).
  ASSERT_EQ(::unlink(config_.tls_key_path().c_str()), 0);
  ASSERT_EQ(::unlink(config_.tls_ecdsa_key_path().c_str()), 0);
  PkeyPtr small(EVP_RSA_gen(1024), EVP_PKEY_free);
  ASSERT_NE(small, nullptr);
  FILE* f = std::fopen(config_.tls_key_path().c_str(), "w");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(PEM_write_PrivateKey(f, small.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(f);
  ReplaceCertificate(small.get());
  auto state = Open();
  ASSERT_NE(state, nullptr);
  auto id = LoadTlsIdentity(*state);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(id.error().message.find("2048"), std::string::npos) << id.error().message;
}

TEST_F(TlsIdentityTest, CertificateOfAForeignKeyIsRefused) {
  PkeyPtr foreign(EVP_EC_gen("prime256v1"), EVP_PKEY_free);
  ASSERT_NE(foreign, nullptr);
  ReplaceCertificate(foreign.get());
  auto state = Open();
  ASSERT_NE(state, nullptr);
  auto id = LoadTlsIdentity(*state);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(id.error().message.find("neither"), std::string::npos) << id.error().message;
}

TEST_F(TlsIdentityTest, UnparsableCertificateIsInvalidArgument) {
  onionmail::testing::WriteFileBytes(config_.tls_cert_path(), {'n', 'o', 'p', 'e'});
  auto state = Open();
  ASSERT_NE(state, nullptr);
  auto id = LoadTlsIdentity(*state);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace onionmail::server
