// The front ends' cipher preference: real OpenSSL handshakes over a socketpair
// between a server set up by ApplyServerCipherPreference (or the production
// TlsContext) and an OpenSSL client offering suites in a given order.
#include "net/tls_ciphers.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "ctl/tls_cert.h"
#include "net/tls_context.h"

namespace onionmail::net {
namespace {

constexpr const char* kOpenSslDefaultTls13 =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

class TlsCiphersTest : public ::testing::Test {
 protected:
  // The server's ticket may reach a client that has already closed.
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }
  void SetUp() override {
    key_ = EVP_EC_gen("P-256");
    ASSERT_NE(key_, nullptr);
    dir_ = std::filesystem::temp_directory_path() /
           ("om-tls-ciphers-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    ASSERT_TRUE(ctl::CreateCertificateForKey("test.onion", cert_, key_).ok());
  }
  void TearDown() override {
    EVP_PKEY_free(key_);
    std::filesystem::remove_all(dir_);
  }

  // A server context as the front ends have it, with the preference for a CPU
  // with or without AES instructions.
  SSL_CTX* ServerContext(bool cpu_has_aes) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    EXPECT_NE(ctx, nullptr);
    EXPECT_EQ(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION), 1);
    EXPECT_TRUE(ApplyServerCipherPreference(ctx, cpu_has_aes).ok());
    EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx, cert_.c_str()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx, key_), 1);
    return ctx;
  }

  // One handshake; returns the suite the client ended up with, or "" when the
  // handshake failed. `tls13_suites` / `tls12_list` (if not null) set what the
  // client offers, in its order of preference.
  std::string Negotiate(SSL_CTX* server_ctx, int max_version, const char* tls13_suites,
                        const char* tls12_list) {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    std::thread server([&] {
      SSL* s = SSL_new(server_ctx);
      SSL_set_fd(s, fds[0]);
      (void)SSL_accept(s);
      SSL_free(s);
      ::close(fds[0]);
    });
    SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(cctx, max_version);
    if (tls13_suites != nullptr) {
      EXPECT_EQ(SSL_CTX_set_ciphersuites(cctx, tls13_suites), 1);
    }
    if (tls12_list != nullptr) {
      EXPECT_EQ(SSL_CTX_set_cipher_list(cctx, tls12_list), 1);
    }
    SSL* c = SSL_new(cctx);
    SSL_set_fd(c, fds[1]);
    std::string suite;
    if (SSL_connect(c) == 1) suite = SSL_get_cipher_name(c);
    ERR_clear_error();
    SSL_free(c);
    SSL_CTX_free(cctx);
    ::close(fds[1]);
    server.join();
    ERR_clear_error();
    return suite;
  }
  std::string Negotiate13(bool cpu_has_aes, const char* client_suites) {
    SSL_CTX* ctx = ServerContext(cpu_has_aes);
    std::string suite = Negotiate(ctx, TLS1_3_VERSION, client_suites, nullptr);
    SSL_CTX_free(ctx);
    return suite;
  }
  std::string Negotiate12(bool cpu_has_aes, const char* client_list) {
    SSL_CTX* ctx = ServerContext(cpu_has_aes);
    std::string suite = Negotiate(ctx, TLS1_2_VERSION, nullptr, client_list);
    SSL_CTX_free(ctx);
    return suite;
  }

  EVP_PKEY* key_ = nullptr;
  std::filesystem::path dir_;
  std::string cert_;
};

TEST_F(TlsCiphersTest, WithAesInstructionsTls13PicksAes128GcmWhateverTheClientsOrder) {
  EXPECT_EQ(Negotiate13(true, kOpenSslDefaultTls13), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(Negotiate13(true, "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"),
            "TLS_AES_128_GCM_SHA256");
}

TEST_F(TlsCiphersTest, WithAesInstructionsAClientListingChaCha20FirstGetsIt) {
  EXPECT_EQ(Negotiate13(true, "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"),
            "TLS_CHACHA20_POLY1305_SHA256");
}

TEST_F(TlsCiphersTest, WithoutAesInstructionsTls13PicksChaCha20EvenIfTheClientPrefersAes) {
  EXPECT_EQ(Negotiate13(false,
                        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                        "TLS_CHACHA20_POLY1305_SHA256"),
            "TLS_CHACHA20_POLY1305_SHA256");
}

TEST_F(TlsCiphersTest, EveryTls13SuiteStaysAvailableToAClientThatOffersOnlyIt) {
  for (bool aes : {true, false}) {
    for (const char* suite :
         {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
      EXPECT_EQ(Negotiate13(aes, suite), suite) << "cpu_has_aes=" << aes;
    }
  }
}

TEST_F(TlsCiphersTest, Tls12FollowsTheSameOrder) {
  EXPECT_EQ(Negotiate12(true, "DEFAULT"), "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(Negotiate12(false, "DEFAULT"), "ECDHE-ECDSA-CHACHA20-POLY1305");
  EXPECT_EQ(Negotiate12(true, "ECDHE-ECDSA-AES256-GCM-SHA384"), "ECDHE-ECDSA-AES256-GCM-SHA384");
}

TEST_F(TlsCiphersTest, Tls12RefusesSuitesWithoutAeadOrForwardSecrecy) {
  for (bool aes : {true, false}) {
    EXPECT_EQ(Negotiate12(aes, "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA"), "");
    EXPECT_EQ(Negotiate12(aes, "AES128-GCM-SHA256:AES256-GCM-SHA384"), "");
  }
}

TEST_F(TlsCiphersTest, ProductionContextUsesThePreferenceOfThisCpu) {
  auto tls = TlsContext::LoadWithKey(cert_, key_);
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  EXPECT_EQ(Negotiate((*tls)->get(), TLS1_3_VERSION, kOpenSslDefaultTls13, nullptr),
            CpuHasAesInstructions() ? "TLS_AES_128_GCM_SHA256" : "TLS_CHACHA20_POLY1305_SHA256");
}

// The kernel's view of the CPU: the word "aes" among the x86 "flags" or the
// arm64 "Features" of /proc/cpuinfo.
TEST(CpuHasAesInstructionsTest, AgreesWithProcCpuinfo) {
#if defined(__x86_64__) || defined(__aarch64__)
  std::ifstream in("/proc/cpuinfo");
  if (!in) GTEST_SKIP() << "no /proc/cpuinfo";
  std::string text;
  bool seen = false, kernel_says_aes = false;
  while (!seen && std::getline(in, text)) {
    std::istringstream words(text);
    std::string key;
    words >> key;
    if (key != "flags" && key != "Features") continue;
    seen = true;
    for (std::string word; words >> word;) kernel_says_aes = kernel_says_aes || word == "aes";
  }
  ASSERT_TRUE(seen) << "no flags line in /proc/cpuinfo";
  EXPECT_EQ(CpuHasAesInstructions(), kernel_says_aes);
#else
  EXPECT_FALSE(CpuHasAesInstructions());
#endif
}

}  // namespace
}  // namespace onionmail::net
