// SessionTlsKeys (server/session_tls.h): the certificates as a TLS client
// checks them (this process's OpenSSL is initialised normally, so that it can
// verify certificates; that the key role makes them with its own
// initialisation is in key_role_openssl_test). The "token" here is a P-256 key in this process that
// counts its signatures: a stand-in above the token interface; the real tokens' TlsSign is tested
// in tests/hsm and, with session keys, end to end in tests/integration/test_session_tls.py.
#include "server/session_tls.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/ec_p256.h"
#include "ctl/tls_cert.h"

namespace onionmail::server {
namespace {

using namespace std::chrono_literals;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::vector<X509Ptr> ParseChain(const std::string& pem) {
  std::vector<X509Ptr> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(c, X509_free);
  }
  ERR_clear_error();
  return out;
}

std::vector<uint8_t> Spki(EVP_PKEY* key) {
  auto der = crypto::SpkiDer(key);
  EXPECT_TRUE(der.ok());
  return der.ok() ? *der : std::vector<uint8_t>{};
}

// r || s under the key of `cert`.
bool Verifies(X509* cert, const std::vector<uint8_t>& digest, const std::vector<uint8_t>& rs) {
  if (rs.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(rs.data(), 32, nullptr), BN_bin2bn(rs.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(X509_get0_pubkey(cert), nullptr);
  const bool ok =
      ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 &&
      EVP_PKEY_verify(ctx, der, static_cast<size_t>(n), digest.data(), digest.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

// Chain verification as a TLS client that trusts only `ca` does it.
int VerifyChain(X509* leaf, X509* ca, const char* host, time_t at) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set1_host(param, host, 0);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set_time(param, at);
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  ERR_clear_error();
  return err;
}

class SessionTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_.reset(EVP_EC_gen("P-256"));
    ASSERT_NE(token_, nullptr);
    char dir[] = "/tmp/om-session-tls-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    const std::string path = dir_ + "/cert.pem";
    ASSERT_TRUE(ctl::CreateCertificateForKey("abcdef.onion", path, token_.get()).ok());
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    server_pem_ = text.str();
    std::remove(path.c_str());
    ::rmdir(dir_.c_str());
  }

  SessionTlsKeys::TokenSign Token() {
    return [this](std::span<const uint8_t> digest) -> Result<std::vector<uint8_t>> {
      ++token_signatures_;
      if (token_fails_) return MakeError(ErrorCode::kUnavailable, "token gone");
      return crypto::EcdsaP256SignRaw(token_.get(), digest);
    };
  }

  std::unique_ptr<SessionTlsKeys> Make(std::chrono::seconds lifetime) {
    auto keys = SessionTlsKeys::Create(server_pem_, Spki(token_.get()), Token(), lifetime,
                                       [this] { return now_; });
    EXPECT_TRUE(keys.ok()) << keys.error().message;
    return keys.ok() ? std::move(*keys) : nullptr;
  }

  time_t Now() const { return std::chrono::system_clock::to_time_t(now_); }

  PkeyPtr token_{nullptr, EVP_PKEY_free};
  std::string dir_;
  std::string server_pem_;
  std::atomic<int> token_signatures_{0};
  std::atomic<bool> token_fails_{false};
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

TEST_F(SessionTlsTest, IssuingCertificateIsACaForTheTokensKeyWithTheServersSubject) {
  auto keys = Make(24h);
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ(token_signatures_, 2);  // the issuing certificate and the first session key's
  auto ca = ParseChain(keys->ca_pem());
  auto server = ParseChain(server_pem_);
  ASSERT_EQ(ca.size(), 1u);
  ASSERT_EQ(server.size(), 1u);
  EXPECT_EQ(Spki(X509_get0_pubkey(ca[0].get())), Spki(token_.get()));
  EXPECT_EQ(
      X509_NAME_cmp(X509_get_subject_name(ca[0].get()), X509_get_subject_name(server[0].get())), 0);
  EXPECT_EQ(X509_check_ca(ca[0].get()), 1);
  EXPECT_EQ(X509_verify(ca[0].get(), token_.get()), 1);  // self-signed by the token

  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(ca[0].get()), X509_get0_notAfter(server[0].get())),
            0);
}

TEST_F(SessionTlsTest, ChainOfTheFirstKeyVerifiesForTheServersNameUnderTheIssuer) {
  auto keys = Make(24h);
  ASSERT_NE(keys, nullptr);
  auto current = keys->Current();
  ASSERT_TRUE(current.ok());
  EXPECT_GE(current->generation, 1u);  // random, never 0 (the token's own key)
  EXPECT_LT(current->generation, 1u << 31);
  auto chain = ParseChain(current->chain_pem);
  ASSERT_EQ(chain.size(), 2u);  // the session certificate, then the issuing one
  EXPECT_EQ(Spki(X509_get0_pubkey(chain[0].get())), current->public_key);
  EXPECT_NE(current->public_key, Spki(token_.get()));
  EXPECT_EQ(Spki(X509_get0_pubkey(chain[1].get())), Spki(token_.get()));
  EXPECT_EQ(VerifyChain(chain[0].get(), chain[1].get(), "abcdef.onion", Now()), X509_V_OK);
  EXPECT_EQ(VerifyChain(chain[0].get(), chain[1].get(), "localhost", Now()), X509_V_OK);
  EXPECT_EQ(VerifyChain(chain[0].get(), chain[1].get(), "other.onion", Now()),
            X509_V_ERR_HOSTNAME_MISMATCH);
  EXPECT_EQ(X509_check_ca(chain[0].get()), 0);
  // The server's own certificate (CA:FALSE) cannot be the issuer.
  auto server = ParseChain(server_pem_);
  EXPECT_NE(VerifyChain(chain[0].get(), server[0].get(), "abcdef.onion", Now()), X509_V_OK);
}

TEST_F(SessionTlsTest, SessionCertificateIsValidFromAnHourBeforeForTwoLifetimesAndAnHour) {
  auto keys = Make(10h);
  ASSERT_NE(keys, nullptr);
  auto chain = ParseChain(keys->Current()->chain_pem);
  ASSERT_EQ(chain.size(), 2u);
  X509* leaf = chain[0].get();
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf), X509_get0_notAfter(leaf)),
            1);
  EXPECT_EQ(days * 86400 + seconds, 2 * 10 * 3600 + 2 * 3600);
  EXPECT_EQ(VerifyChain(leaf, chain[1].get(), "abcdef.onion", Now() + 21 * 3600 - 60), X509_V_OK);
  EXPECT_EQ(VerifyChain(leaf, chain[1].get(), "abcdef.onion", Now() + 21 * 3600 + 60),
            X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(SessionTlsTest, HandshakeSignatureIsMadeInProcessAndVerifiesUnderTheSessionCertificate) {
  auto keys = Make(24h);
  ASSERT_NE(keys, nullptr);
  const uint32_t g = keys->Current()->generation;
  auto chain = ParseChain(keys->Current()->chain_pem);
  ASSERT_EQ(chain.size(), 2u);
  const int before = token_signatures_;
  std::vector<uint8_t> digest(32);
  SHA256(reinterpret_cast<const unsigned char*>("transcript"), 10, digest.data());
  for (int i = 0; i < 20; ++i) {
    auto sig = keys->Sign(g, digest);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    EXPECT_TRUE(Verifies(chain[0].get(), digest, *sig));
  }
  EXPECT_EQ(token_signatures_, before);  // no token signature per handshake
  EXPECT_EQ(keys->Sign(g, std::vector<uint8_t>(31, 1)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(keys->Sign(g + 1, digest).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(keys->Sign(g - 1, digest).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(keys->Sign(0, digest).error().code, ErrorCode::kNotFound);
}

TEST_F(SessionTlsTest, RotationAfterTheLifetimeKeepsThePreviousKeyAndRetiresTheOneBefore) {
  auto keys = Make(1h);
  ASSERT_NE(keys, nullptr);
  std::vector<uint8_t> digest(32, 5);
  const uint32_t g = keys->Current()->generation;
  now_ += 1h - 1s;
  EXPECT_EQ(keys->Current()->generation, g);
  EXPECT_EQ(token_signatures_, 2);
  now_ += 1s;
  auto second = keys->Current();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->generation, g + 1);
  EXPECT_EQ(token_signatures_, 3);  // one per new key
  auto chain = ParseChain(second->chain_pem);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(VerifyChain(chain[0].get(), chain[1].get(), "abcdef.onion", Now()), X509_V_OK);
  EXPECT_TRUE(keys->Sign(g, digest).ok());  // a handshake begun with the first key
  auto sig2 = keys->Sign(g + 1, digest);
  ASSERT_TRUE(sig2.ok());
  EXPECT_TRUE(Verifies(chain[0].get(), digest, *sig2));
  now_ += 1h;
  EXPECT_EQ(keys->Current()->generation, g + 2);
  EXPECT_EQ(keys->Sign(g, digest).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(keys->Sign(g + 1, digest).ok());
  EXPECT_TRUE(keys->Sign(g + 2, digest).ok());
}

TEST_F(SessionTlsTest, FailedRotationKeepsTheCurrentKeyAndIsRetriedAMinuteLater) {
  auto keys = Make(1h);
  ASSERT_NE(keys, nullptr);
  const uint32_t g = keys->Current()->generation;
  token_fails_ = true;
  now_ += 2h;
  auto current = keys->Current();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->generation, g);
  EXPECT_TRUE(keys->Sign(g, std::vector<uint8_t>(32, 1)).ok());
  const int tried = token_signatures_;
  token_fails_ = false;
  // Every connection asks: a lost device is not asked again at each one.
  now_ += 59s;
  EXPECT_EQ(keys->Current()->generation, g);
  EXPECT_EQ(token_signatures_, tried);
  now_ += 1s;
  EXPECT_EQ(keys->Current()->generation, g + 1);
}

TEST_F(SessionTlsTest, FirstGenerationsOfTwoStartsDiffer) {
  // A front end that outlived a restart of the key role must not name a key
  // of the new one by chance (2^-31 for a repeat).
  auto a = Make(1h);
  auto b = Make(1h);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->Current()->generation, b->Current()->generation);
}

TEST_F(SessionTlsTest, CertificateOfAnotherKeyOrABadLifetimeIsRefused) {
  PkeyPtr other(EVP_EC_gen("P-256"), EVP_PKEY_free);
  auto wrong = SessionTlsKeys::Create(server_pem_, Spki(other.get()), Token(), 1h);
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SessionTlsKeys::Create(server_pem_, Spki(token_.get()), Token(), 0s).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(SessionTlsKeys::Create(server_pem_, Spki(token_.get()), Token(), 169h).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      SessionTlsKeys::Create("not a certificate", Spki(token_.get()), Token(), 1h).error().code,
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(token_signatures_, 0);
}

TEST_F(SessionTlsTest, TokenFailureAtCreationIsReturned) {
  token_fails_ = true;
  auto keys = SessionTlsKeys::Create(server_pem_, Spki(token_.get()), Token(), 1h);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace onionmail::server
