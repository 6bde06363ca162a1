// Helpers for the seccomp policy tests; see test_util.h.
#include "tests/seccomp/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cstring>

namespace onionmail::seccomp::testing {

void InstallOrExit(const Policy& policy) {
  auto r = policy.Install();
  if (!r.ok()) {
    std::string line = "policy install failed: " + r.error().message + "\n";
    (void)!write(STDERR_FILENO, line.data(), line.size());
    _exit(100);
  }
}

void Fail(const char* what) {
  (void)!write(STDERR_FILENO, "FAIL: ", 6);
  (void)!write(STDERR_FILENO, what, std::strlen(what));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(1);
}

int ListenOnLoopback(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

int ConnectToLoopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

SSL_CTX* MakeTlsServerContext() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  bool ok = key != nullptr && cert != nullptr && ctx != nullptr;
  if (ok) {
    X509_NAME* name = X509_get_subject_name(cert);
    ok = X509_set_version(cert, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(cert), 0) != nullptr &&
         X509_gmtime_adj(X509_getm_notAfter(cert), 3600) != nullptr &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>("test.onion"), -1, -1,
                                    0) == 1 &&
         X509_set_issuer_name(cert, name) == 1 && X509_set_pubkey(cert, key) == 1 &&
         X509_sign(cert, key, EVP_sha256()) > 0 &&
         SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

int ServeOneTlsExchange(SSL_CTX* ctx, int fd) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return 2;
  if (SSL_set_fd(ssl, fd) != 1) return 3;
  if (SSL_accept(ssl) != 1) return 4;
  char buf[64];
  int n = SSL_read(ssl, buf, sizeof(buf));
  if (n != 6 || std::memcmp(buf, "QUIT\r\n", 6) != 0) return 5;
  static const char kReply[] = "221 2.0.0 bye over TLS\r\n";
  if (SSL_write(ssl, kReply, sizeof(kReply) - 1) != static_cast<int>(sizeof(kReply) - 1)) {
    return 6;
  }
  (void)SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  return 0;
}

bool RunTlsClient(int fd, std::string* reply) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return false;
  SSL* ssl = SSL_new(ctx);
  bool ok = ssl != nullptr && SSL_set_fd(ssl, fd) == 1 && SSL_connect(ssl) == 1 &&
            SSL_write(ssl, "QUIT\r\n", 6) == 6;
  if (ok) {
    char buf[128];
    int n = SSL_read(ssl, buf, sizeof(buf));
    ok = n > 0;
    if (ok) reply->assign(buf, static_cast<size_t>(n));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return ok;
}

}  // namespace onionmail::seccomp::testing
