// RemoteRsaKey: TLS handshakes and certificate signatures whose RSA private
// operations go through a callback (here a software key standing in for the
// token), for TLS 1.3 (RSA-PSS) and TLS 1.2 (PKCS#1 v1.5 and PSS).
#include "net/remote_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "ctl/tls_cert.h"
#include "net/socket_connection.h"
#include "net/tls_context.h"

namespace onionmail::net {
namespace {

class RemoteKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    soft_key_ = EVP_RSA_gen(2048);
    ASSERT_NE(soft_key_, nullptr);
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(soft_key_, &der);
    ASSERT_GT(len, 0);
    public_der_.assign(der, der + len);
    OPENSSL_free(der);
    auto key = MakeRemoteRsaKey(public_der_,
                                [this](std::span<const uint8_t> in) { return RawPrivate(in); });
    ASSERT_TRUE(key.ok()) << key.error().message;
    remote_ = *key;
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

  struct Outcome {
    bool ok = false;
    bool resumed = false;
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
    if (sigalgs != nullptr) SSL_CTX_set1_sigalgs_list(cctx, sigalgs);
    SSL_CTX_load_verify_locations(cctx, cert_.c_str(), nullptr);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, nullptr);
    SSL* ssl = SSL_new(cctx);
    SSL_set_fd(ssl, fds[1]);
    SSL_set1_host(ssl, "localhost");
    if (offer != nullptr) SSL_set_session(ssl, offer);
    bool client_ok = SSL_connect(ssl) == 1;
    char line[8] = {};
    if (client_ok) client_ok = SSL_read(ssl, line, 7) == 7 && std::string(line) == "hello\r\n";
    if (client_ok) {
      out.session = SSL_get1_session(ssl);
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
  bool Handshake(int max_version, const char* sigalgs) {
    auto tls = Context();
    if (tls == nullptr) return false;
    Outcome o = HandshakeWith(tls, max_version, sigalgs, nullptr);
    SSL_SESSION_free(o.session);
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
  std::vector<uint8_t> public_der_;
  std::filesystem::path dir_;
  std::string cert_;
  std::atomic<int> calls_{0};
  bool fail_ = false;
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

}  // namespace
}  // namespace onionmail::net
