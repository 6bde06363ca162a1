// Remote keys: TLS handshakes and certificate signatures whose private
// operations go through a callback (here a software key standing in for the
// token). RSA: TLS 1.3 (RSA-PSS) and TLS 1.2 (PKCS#1 v1.5 and PSS). ECDSA
// P-256: TLS 1.3 and TLS 1.2 (ECDHE-ECDSA with SHA-256/384/512), checks of the
// callback's answers, the digest handed to the callback, refused ECDH.
#define OPENSSL_SUPPRESS_DEPRECATED 1  // EC_KEY, to reach the method directly
#include "net/remote_key.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include "ctl/tls_cert.h"
#include "net/socket_connection.h"
#include "net/tls_context.h"

namespace onionmail::net {
namespace {

std::vector<uint8_t> PublicDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  std::vector<uint8_t> out;
  if (len > 0) out.assign(der, der + len);
  OPENSSL_free(der);
  return out;
}

// A software key (`soft_key_`) stands in for the token; `remote_` is the
// remote key over it (made by the subclass's MakeKeys), and `cert_` a
// certificate signed through it. Counts the callback's calls in `calls_`.
class RemoteKeyFixture : public ::testing::Test {
 protected:
  virtual void MakeKeys() = 0;

  void SetUp() override {
    MakeKeys();
    ASSERT_NE(soft_key_, nullptr);
    ASSERT_NE(remote_, nullptr);
    dir_ = std::filesystem::temp_directory_path() /
           ("om-remote-key-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    ASSERT_TRUE(ctl::CreateCertificateForKey("test.onion", cert_, remote_).ok());
  }
  void TearDown() override {
    EVP_PKEY_free(remote_);
    EVP_PKEY_free(soft_key_);
    std::filesystem::remove_all(dir_);
  }

  struct Outcome {
    bool ok = false;
    bool resumed = false;
    int peer_digest_nid = NID_undef;  // the digest of the server's signature
    std::string cipher;
    int client_error_reason = 0;     // ERR_GET_REASON of the client's last error
    SSL_SESSION* session = nullptr;  // owned by the caller: SSL_SESSION_free
  };
  // Runs a server handshake under SocketConnection (context `tls`) and an
  // OpenSSL client offering `offer` (may be null); the server then sends one
  // line, which the client reads (TLS 1.3 delivers its ticket before it).
  Outcome HandshakeWith(const std::shared_ptr<TlsContext>& tls, int max_version,
                        const char* sigalgs, SSL_SESSION* offer) {
    Outcome out;
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    std::atomic<bool> server_ok{false};
    std::thread server([&] {
      SocketConnection conn(fds[0], tls, Timeouts{});
      server_ok = conn.StartTls().ok() && conn.Write("hello\r\n").ok() && conn.Flush().ok();
    });
    SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(cctx, max_version);
    if (sigalgs != nullptr) {
      EXPECT_EQ(SSL_CTX_set1_sigalgs_list(cctx, sigalgs), 1) << sigalgs;
    }
    SSL_CTX_load_verify_locations(cctx, cert_.c_str(), nullptr);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, nullptr);
    SSL* ssl = SSL_new(cctx);
    SSL_set_fd(ssl, fds[1]);
    SSL_set1_host(ssl, "localhost");
    if (offer != nullptr) SSL_set_session(ssl, offer);
    ERR_clear_error();
    bool client_ok = SSL_connect(ssl) == 1;
    if (!client_ok) out.client_error_reason = ERR_GET_REASON(ERR_peek_last_error());
    ERR_clear_error();
    char line[8] = {};
    if (client_ok) client_ok = SSL_read(ssl, line, 7) == 7 && std::string(line) == "hello\r\n";
    if (client_ok) {
      out.session = SSL_get1_session(ssl);
      out.cipher = SSL_get_cipher_name(ssl);
      SSL_get_peer_signature_nid(ssl, &out.peer_digest_nid);
      (void)SSL_shutdown(ssl);  // a session freed without close_notify is not resumable
    }
    ::shutdown(fds[1], client_ok ? SHUT_WR : SHUT_RDWR);  // ends the server's lingering close
    server.join();
    out.ok = client_ok && server_ok;
    out.resumed = SSL_session_reused(ssl) == 1;
    SSL_free(ssl);
    SSL_CTX_free(cctx);
    ::close(fds[1]);
    return out;
  }
  std::shared_ptr<TlsContext> Context() {
    auto tls = TlsContext::LoadWithKey(cert_, remote_);
    EXPECT_TRUE(tls.ok()) << (tls.ok() ? "" : tls.error().message);
    return tls.ok() ? *tls : nullptr;
  }
  // A fresh handshake; `out` (if given) receives its outcome.
  bool Handshake(int max_version, const char* sigalgs, Outcome* out = nullptr) {
    auto tls = Context();
    if (tls == nullptr) return false;
    Outcome o = HandshakeWith(tls, max_version, sigalgs, nullptr);
    SSL_SESSION_free(o.session);
    o.session = nullptr;
    if (out != nullptr) *out = o;
    return o.ok;
  }
  // Two connections to one context, the second offering the first's session:
  // expects a resumption, and returns the key operations the pair needed.
  int KeyOperationsForAFullAndAResumedHandshake(int max_version) {
    auto tls = Context();
    if (tls == nullptr) return -1;
    const int before = calls_.load();
    Outcome first = HandshakeWith(tls, max_version, nullptr, nullptr);
    EXPECT_TRUE(first.ok);
    EXPECT_FALSE(first.resumed);
    Outcome second = HandshakeWith(tls, max_version, nullptr, first.session);
    EXPECT_TRUE(second.ok);
    EXPECT_TRUE(second.resumed);
    SSL_SESSION_free(first.session);
    SSL_SESSION_free(second.session);
    return calls_.load() - before;
  }

  EVP_PKEY* soft_key_ = nullptr;
  EVP_PKEY* remote_ = nullptr;
  std::filesystem::path dir_;
  std::string cert_;
  std::atomic<int> calls_{0};
  std::atomic<bool> fail_{false};
};

class RemoteKeyTest : public RemoteKeyFixture {
 protected:
  void MakeKeys() override {
    soft_key_ = EVP_RSA_gen(2048);
    ASSERT_NE(soft_key_, nullptr);
    auto key = MakeRemoteRsaKey(PublicDer(soft_key_),
                                [this](std::span<const uint8_t> in) { return RawPrivate(in); });
    ASSERT_TRUE(key.ok()) << key.error().message;
    remote_ = *key;
  }

  // The "token": raw RSA with the software private key.
  Result<std::vector<uint8_t>> RawPrivate(std::span<const uint8_t> in) {
    ++calls_;
    if (fail_) return MakeError(ErrorCode::kUnavailable, "token gone");
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(soft_key_, nullptr);
    std::vector<uint8_t> out(in.size());
    size_t out_len = out.size();
    bool ok = ctx != nullptr && EVP_PKEY_decrypt_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
              EVP_PKEY_decrypt(ctx, out.data(), &out_len, in.data(), in.size()) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return MakeError(ErrorCode::kInternal, "raw op failed");
    out.resize(out_len);
    return out;
  }
};

TEST_F(RemoteKeyTest, CertificateSignedThroughTheCallbackVerifies) {
  FILE* f = std::fopen(cert_.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_verify(cert, soft_key_), 1);
  X509_free(cert);
  EXPECT_GE(calls_.load(), 1);
}

TEST_F(RemoteKeyTest, Tls13HandshakeSignsWithPssThroughTheCallback) {
  int before = calls_;
  EXPECT_TRUE(Handshake(TLS1_3_VERSION, nullptr));
  EXPECT_EQ(calls_ - before, 1);
}

TEST_F(RemoteKeyTest, Tls12HandshakeWithPkcs1SignaturesWorks) {
  int before = calls_;
  EXPECT_TRUE(Handshake(TLS1_2_VERSION, "RSA+SHA256"));
  EXPECT_EQ(calls_ - before, 1);
}

TEST_F(RemoteKeyTest, Tls12HandshakeWithPssSignaturesWorks) {
  EXPECT_TRUE(Handshake(TLS1_2_VERSION, "rsa_pss_rsae_sha256"));
}

TEST_F(RemoteKeyTest, FailingTokenAbortsTheHandshakeWithoutCrashing) {
  fail_ = true;
  EXPECT_FALSE(Handshake(TLS1_3_VERSION, nullptr));
}

TEST_F(RemoteKeyTest, ResumedTls13HandshakeNeedsNoKeyOperation) {
  EXPECT_EQ(KeyOperationsForAFullAndAResumedHandshake(TLS1_3_VERSION), 1);
}

TEST_F(RemoteKeyTest, ResumedTls12HandshakeNeedsNoKeyOperation) {
  EXPECT_EQ(KeyOperationsForAFullAndAResumedHandshake(TLS1_2_VERSION), 1);
}

TEST_F(RemoteKeyTest, SessionsDieWithTheirContextAsAfterARestart) {
  // Sessions live in the context's memory only (no stateless tickets): a new
  // context, as in a restarted front end, makes a full handshake.
  auto first_ctx = Context();
  ASSERT_NE(first_ctx, nullptr);
  Outcome first = HandshakeWith(first_ctx, TLS1_3_VERSION, nullptr, nullptr);
  ASSERT_TRUE(first.ok);
  auto second_ctx = Context();
  ASSERT_NE(second_ctx, nullptr);
  const int before = calls_.load();
  Outcome second = HandshakeWith(second_ctx, TLS1_3_VERSION, nullptr, first.session);
  EXPECT_TRUE(second.ok);
  EXPECT_FALSE(second.resumed);
  EXPECT_EQ(calls_.load() - before, 1);
  SSL_SESSION_free(first.session);
  SSL_SESSION_free(second.session);
}

TEST_F(RemoteKeyTest, NonRsaPublicKeyIsRejected) {
  EVP_PKEY* ec = EVP_EC_gen("P-256");
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(ec, &der);
  std::vector<uint8_t> v(der, der + len);
  OPENSSL_free(der);
  EVP_PKEY_free(ec);
  auto key = MakeRemoteRsaKey(v, [](std::span<const uint8_t>) -> Result<std::vector<uint8_t>> {
    return MakeError(ErrorCode::kInternal, "unused");
  });
  EXPECT_FALSE(key.ok());
}

// ---------------------------------------------------------------------------
// ECDSA P-256.

// Raw ECDSA with a software key: r || s (32 bytes each) over `digest`.
std::vector<uint8_t> RawEcdsa(EVP_PKEY* key, std::span<const uint8_t> digest) {
  std::vector<uint8_t> out;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  unsigned char der[80];
  size_t der_len = sizeof(der);
  if (ctx != nullptr && EVP_PKEY_sign_init(ctx) == 1 &&
      EVP_PKEY_sign(ctx, der, &der_len, digest.data(), digest.size()) == 1) {
    const unsigned char* p = der;
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
    if (sig != nullptr) {
      out.resize(64);
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), out.data(), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), out.data() + 32, 32);
    }
    ECDSA_SIG_free(sig);
  }
  EVP_PKEY_CTX_free(ctx);
  return out;
}

class RemoteEcKeyTest : public RemoteKeyFixture {
 protected:
  // What the "token" answers.
  enum class Answer { kGood, kShort, kLong, kZeroR, kROrder, kOtherDigest, kOtherKey };

  void MakeKeys() override {
    soft_key_ = EVP_EC_gen("P-256");
    ASSERT_NE(soft_key_, nullptr);
    auto key = MakeRemoteEcKey(PublicDer(soft_key_),
                               [this](std::span<const uint8_t> in) { return Sign(in); });
    ASSERT_TRUE(key.ok()) << key.error().message;
    remote_ = *key;
  }

  // The "token": ECDSA with the software private key, or a broken answer.
  Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> in) {
    ++calls_;
    if (in.size() != 32) ++not_32_bytes_;
    {
      std::lock_guard lock(mu_);
      last_input_.assign(in.begin(), in.end());
    }
    if (fail_) return MakeError(ErrorCode::kUnavailable, "token gone");
    std::vector<uint8_t> digest(in.begin(), in.end());
    if (answer_ == Answer::kOtherDigest) digest[0] ^= 1;
    std::vector<uint8_t> sig =
        RawEcdsa(answer_ == Answer::kOtherKey ? other_key_ : soft_key_, digest);
    if (sig.size() != 64) return MakeError(ErrorCode::kInternal, "soft ECDSA failed");
    if (answer_ == Answer::kShort) sig.pop_back();
    if (answer_ == Answer::kLong) sig.push_back(0);
    if (answer_ == Answer::kZeroR) std::memset(sig.data(), 0, 32);
    if (answer_ == Answer::kROrder) {  // r = n, the group order
      const EC_GROUP* group = EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(soft_key_));
      BN_bn2binpad(EC_GROUP_get0_order(group), sig.data(), 32);
    }
    return sig;
  }

  std::vector<uint8_t> LastInput() {
    std::lock_guard lock(mu_);
    return last_input_;
  }

  // EVP_PKEY_sign of a `md` digest of "message" with the remote key; returns
  // whether it worked and the result verifies with the software key.
  bool SignDigestDirectly(const EVP_MD* md, std::vector<uint8_t>* digest) {
    ERR_clear_error();
    digest->resize(EVP_MD_get_size(md));
    unsigned int len = 0;
    EVP_Digest("message", 7, digest->data(), &len, md, nullptr);
    unsigned char sig[80];
    size_t sig_len = sizeof(sig);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(remote_, nullptr);
    bool ok = ctx != nullptr && EVP_PKEY_sign_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
              EVP_PKEY_sign(ctx, sig, &sig_len, digest->data(), digest->size()) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return false;
    ctx = EVP_PKEY_CTX_new(soft_key_, nullptr);
    ok = ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 &&
         EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
         EVP_PKEY_verify(ctx, sig, sig_len, digest->data(), digest->size()) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
  }

  // When the token answers `answer`, the remote key's signature fails, and
  // handshakes abort on the server (internal_error alert): the bad signature
  // never reaches the client, which would answer a bad one with decrypt_error.
  void ExpectAnswerAbortsHandshakes(Answer answer) {
    answer_ = answer;
    std::vector<uint8_t> digest;
    EXPECT_FALSE(SignDigestDirectly(EVP_sha256(), &digest));
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
      const int before = calls_.load();
      Outcome o;
      EXPECT_FALSE(Handshake(version, nullptr, &o)) << "TLS version " << version;
      EXPECT_EQ(o.client_error_reason, SSL_R_TLSV1_ALERT_INTERNAL_ERROR)
          << "TLS version " << version << ": "
          << ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, o.client_error_reason));
      EXPECT_EQ(calls_.load() - before, 1) << "TLS version " << version;
    }
    answer_ = Answer::kGood;  // the same key still works afterwards
    EXPECT_TRUE(Handshake(TLS1_3_VERSION, nullptr));
  }

  void TearDown() override {
    EVP_PKEY_free(other_key_);
    RemoteKeyFixture::TearDown();
  }

  std::atomic<Answer> answer_{Answer::kGood};
  EVP_PKEY* other_key_ = EVP_EC_gen("P-256");
  std::atomic<int> not_32_bytes_{0};
  std::mutex mu_;
  std::vector<uint8_t> last_input_;
};

TEST_F(RemoteEcKeyTest, CertificateSignedThroughTheCallbackVerifies) {
  FILE* f = std::fopen(cert_.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(cert, soft_key_), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert), soft_key_), 1);
  X509_free(cert);
  EXPECT_EQ(calls_.load(), 1);
  EXPECT_EQ(not_32_bytes_.load(), 0);
}

TEST_F(RemoteEcKeyTest, Tls13HandshakeSignsOnceThroughTheCallback) {
  Outcome o;
  const int before = calls_;
  EXPECT_TRUE(Handshake(TLS1_3_VERSION, nullptr, &o));
  EXPECT_EQ(calls_ - before, 1);
  EXPECT_EQ(o.peer_digest_nid, NID_sha256);  // ecdsa_secp256r1_sha256
  EXPECT_EQ(not_32_bytes_.load(), 0);
}

TEST_F(RemoteEcKeyTest, Tls12EcdheEcdsaHandshakeWorks) {
  Outcome o;
  const int before = calls_;
  EXPECT_TRUE(Handshake(TLS1_2_VERSION, "ECDSA+SHA256", &o));
  EXPECT_EQ(calls_ - before, 1);
  EXPECT_EQ(o.cipher.rfind("ECDHE-ECDSA-", 0), 0u) << o.cipher;
  EXPECT_EQ(o.peer_digest_nid, NID_sha256);
}

TEST_F(RemoteEcKeyTest, Tls12Sha384AndSha512SignaturesGiveTheCallback32Bytes) {
  for (auto [sigalgs, nid] :
       {std::pair{"ECDSA+SHA384", NID_sha384}, std::pair{"ECDSA+SHA512", NID_sha512}}) {
    Outcome o;
    const int before = calls_;
    EXPECT_TRUE(Handshake(TLS1_2_VERSION, sigalgs, &o)) << sigalgs;
    EXPECT_EQ(calls_ - before, 1) << sigalgs;
    EXPECT_EQ(o.peer_digest_nid, nid) << sigalgs;
    EXPECT_EQ(LastInput().size(), 32u) << sigalgs;
  }
  EXPECT_EQ(not_32_bytes_.load(), 0);
}

TEST_F(RemoteEcKeyTest, LongDigestIsTruncatedToItsLeftmost32Bytes) {
  std::vector<uint8_t> digest;
  EXPECT_TRUE(SignDigestDirectly(EVP_sha384(), &digest));
  ASSERT_EQ(digest.size(), 48u);
  EXPECT_EQ(LastInput(), std::vector<uint8_t>(digest.begin(), digest.begin() + 32));
}

TEST_F(RemoteEcKeyTest, ShortDigestIsLeftPaddedWithZeros) {
  std::vector<uint8_t> digest;
  EXPECT_TRUE(SignDigestDirectly(EVP_sha1(), &digest));
  ASSERT_EQ(digest.size(), 20u);
  std::vector<uint8_t> expected(12, 0);
  expected.insert(expected.end(), digest.begin(), digest.end());
  EXPECT_EQ(LastInput(), expected);
}

TEST_F(RemoteEcKeyTest, FailingTokenAbortsTheHandshakeWithoutCrashing) {
  fail_ = true;
  Outcome o;
  EXPECT_FALSE(Handshake(TLS1_3_VERSION, nullptr, &o));
  EXPECT_EQ(o.client_error_reason, SSL_R_TLSV1_ALERT_INTERNAL_ERROR);
  EXPECT_FALSE(Handshake(TLS1_2_VERSION, nullptr, &o));
  EXPECT_EQ(o.client_error_reason, SSL_R_TLSV1_ALERT_INTERNAL_ERROR);
  EXPECT_EQ(calls_.load(), 1 + 2);  // the certificate, then one per handshake
}

TEST_F(RemoteEcKeyTest, SignatureOfWrongLengthAbortsTheHandshake) {
  ExpectAnswerAbortsHandshakes(Answer::kShort);
  ExpectAnswerAbortsHandshakes(Answer::kLong);
}

TEST_F(RemoteEcKeyTest, ZeroRAbortsTheHandshake) { ExpectAnswerAbortsHandshakes(Answer::kZeroR); }

TEST_F(RemoteEcKeyTest, REqualToTheGroupOrderAbortsTheHandshake) {
  ExpectAnswerAbortsHandshakes(Answer::kROrder);
}

TEST_F(RemoteEcKeyTest, SignatureOfAnotherDigestAbortsTheHandshake) {
  ExpectAnswerAbortsHandshakes(Answer::kOtherDigest);
}

TEST_F(RemoteEcKeyTest, SignatureByAnotherKeyAbortsTheHandshake) {
  ExpectAnswerAbortsHandshakes(Answer::kOtherKey);
}

TEST_F(RemoteEcKeyTest, ResumedTls13HandshakeNeedsNoKeyOperation) {
  EXPECT_EQ(KeyOperationsForAFullAndAResumedHandshake(TLS1_3_VERSION), 1);
}

TEST_F(RemoteEcKeyTest, EcdhAndKeyGenerationAreRefused) {
  EVP_PKEY* peer = EVP_EC_gen("P-256");
  ASSERT_NE(peer, nullptr);
  EC_KEY* ec = const_cast<EC_KEY*>(EVP_PKEY_get0_EC_KEY(remote_));
  ASSERT_NE(ec, nullptr);
  EXPECT_EQ(EC_KEY_get0_private_key(ec), nullptr);
  unsigned char secret[32];
  EXPECT_LE(ECDH_compute_key(secret, sizeof(secret),
                             EC_KEY_get0_public_key(EVP_PKEY_get0_EC_KEY(peer)), ec, nullptr),
            0);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(remote_, nullptr);
  size_t len = sizeof(secret);
  EXPECT_FALSE(ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
               EVP_PKEY_derive_set_peer(ctx, peer) == 1 && EVP_PKEY_derive(ctx, secret, &len) == 1);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  std::vector<uint8_t> public_before = PublicDer(remote_);
  EXPECT_EQ(EC_KEY_generate_key(ec), 0);
  EXPECT_EQ(EC_KEY_get0_private_key(ec), nullptr);
  EXPECT_EQ(PublicDer(remote_), public_before);
  BIGNUM* kinv = nullptr;
  BIGNUM* r = nullptr;
  EXPECT_EQ(ECDSA_sign_setup(ec, nullptr, &kinv, &r), 0);
  BN_free(kinv);
  BN_free(r);
  EXPECT_EQ(calls_.load(), 1);  // only the certificate's signature
}

TEST_F(RemoteEcKeyTest, DuplicatedKeyKeepsItsOwnCallback) {
  EVP_PKEY* dup = EVP_PKEY_dup(remote_);
  ASSERT_NE(dup, nullptr);
  EVP_PKEY_free(remote_);  // the duplicate's callback must outlive the original
  remote_ = dup;
  std::vector<uint8_t> digest;
  const int before = calls_;
  EXPECT_TRUE(SignDigestDirectly(EVP_sha256(), &digest));
  EXPECT_EQ(calls_ - before, 1);
}

TEST_F(RemoteEcKeyTest, NonP256PublicKeysAreRejected) {
  auto unused = [](std::span<const uint8_t>) -> Result<std::vector<uint8_t>> {
    return MakeError(ErrorCode::kInternal, "unused");
  };
  std::vector<std::vector<uint8_t>> rejected;
  for (EVP_PKEY* k : {EVP_RSA_gen(2048), EVP_EC_gen("P-384"), EVP_EC_gen("secp256k1"),
                      EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")}) {
    ASSERT_NE(k, nullptr);
    rejected.push_back(PublicDer(k));
    EVP_PKEY_free(k);
  }
  std::vector<uint8_t> good = PublicDer(soft_key_);
  rejected.emplace_back(good.begin(), good.end() - 1);  // truncated
  rejected.push_back(good);
  rejected.back().push_back(0);  // trailing byte
  rejected.emplace_back();       // empty
  for (size_t i = 0; i < rejected.size(); ++i) {
    auto key = MakeRemoteEcKey(rejected[i], unused);
    ASSERT_FALSE(key.ok()) << i;
    EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument) << i;
  }
  auto key = MakeRemoteEcKey(good, unused);
  ASSERT_TRUE(key.ok());
  EVP_PKEY_free(*key);
}

}  // namespace
}  // namespace onionmail::net
