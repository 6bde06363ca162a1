// Test helpers for src/peer: an in-memory self-signed certificate with its
// SPKI pin, a server TLS context from it (net::TlsContext, the real server
// code), and a loopback TCP listener that hands each accepted connection to a
// handler on its own thread (one connection at a time; SIGPIPE blocked on
// that thread only).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/kdf.h"
#include "net/listener.h"
#include "net/tls_context.h"
#include "peer/tls_client.h"

namespace onionmail::peer {

// A P-256 key and a self-signed certificate for it, plus the pin.
struct TestIdentity {
  std::string cert_pem;
  SpkiPin pin{};
  std::shared_ptr<net::TlsContext> tls;  // server context (TLS 1.2 minimum, as in production)
};

inline TestIdentity MakeTestIdentity(const char* cn = "peer.test") {
  TestIdentity out;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  EXPECT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  EXPECT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  out.cert_pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  // The pin, computed independently of the code under test.
  unsigned char* der = nullptr;
  int der_len = i2d_PUBKEY(key, &der);
  EXPECT_GT(der_len, 0);
  out.pin = crypto::Sha256({der, static_cast<size_t>(der_len)});
  OPENSSL_free(der);
  auto tls = net::TlsContext::LoadPemWithKey(out.cert_pem, key);
  EXPECT_TRUE(tls.ok()) << (tls.ok() ? "" : tls.error().message);
  if (tls.ok()) out.tls = *tls;
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

// A listener on 127.0.0.1:<ephemeral>; Stop() (or the destructor) ends it.
class LoopbackServer {
 public:
  using Handler = std::function<void(int fd)>;  // owns fd (must close it)

  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    auto fd = net::Listen({"127.0.0.1", 0});
    EXPECT_TRUE(fd.ok());
    listen_fd_ = fd.ok() ? *fd : -1;
    auto port = net::BoundPort(listen_fd_);
    EXPECT_TRUE(port.ok());
    port_ = port.ok() ? *port : 0;
    thread_ = std::thread([this] {
      // The server-side code writes through OpenSSL's socket BIO (write(),
      // SIGPIPE when the client has gone); production roles ignore SIGPIPE.
      // Block it on this thread only, so a SIGPIPE raised by the client code
      // under test (main thread) would still kill the test.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EINTR) continue;
          return;  // shut down
        }
        ++accepted_;
        handler_(fd);
      }
    });
  }
  ~LoopbackServer() { Stop(); }

  void Stop() {
    if (listen_fd_ < 0) return;
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listen_fd_);
    listen_fd_ = -1;
  }

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_; }

 private:
  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A blocking connect to 127.0.0.1:port (for test servers that relay).
inline int ConnectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads exactly n bytes (blocking); empty on EOF/error.
inline std::vector<uint8_t> ReadN(int fd, size_t n) {
  std::vector<uint8_t> out(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r <= 0) return {};
    got += static_cast<size_t>(r);
  }
  return out;
}

inline bool WriteAll(int fd, std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t r = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

inline bool WriteAll(int fd, std::string_view s) {
  return WriteAll(fd, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

// Copies bytes both ways between `a` and `b` until either side closes or
// fails, or 10 s pass with nothing to copy (a test SOCKS5 proxy's relay).
inline void Pump(int a, int b) {
  char buf[16384];
  for (bool done = false; !done;) {
    struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    if (::poll(p, 2, 10000) <= 0) return;
    for (int i = 0; i < 2 && !done; ++i) {
      if (p[i].revents == 0) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof(buf));
      done = n <= 0 || !WriteAll(p[1 - i].fd, std::string_view(buf, static_cast<size_t>(n)));
    }
  }
}

}  // namespace onionmail::peer
