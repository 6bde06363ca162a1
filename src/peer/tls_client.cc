// TlsClient implementation (see tls_client.h).
#include "peer/tls_client.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/secret_bytes.h"
#include "crypto/kdf.h"

namespace onionmail::peer {

namespace {
constexpr size_t kReadChunk = 16384;

Error Closed() { return MakeError(ErrorCode::kUnavailable, "connection closed by peer"); }

// A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own socket BIO uses
// write(), which raises SIGPIPE when the peer has gone (and would kill a
// process that did not ignore it). Only send()/recv() on the held fd.
int FdOf(BIO* bio) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio))); }

int BioWrite(BIO* bio, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::send(FdOf(bio), data, len, MSG_NOSIGNAL);
  if (n >= 0) {
    *written = static_cast<size_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return 0;
}

int BioRead(BIO* bio, char* data, size_t len, size_t* read_bytes) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::recv(FdOf(bio), data, len, 0);
  if (n > 0) {
    *read_bytes = static_cast<size_t>(n);
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    BIO_set_retry_read(bio);
  }
  return 0;  // n == 0: end of stream
}

long BioCtrl(BIO* bio, int cmd, long num, void* ptr) {  // NOLINT(runtime/int): OpenSSL API
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int BioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* NoSigpipeSocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "om-peer-socket");
    if (m == nullptr) return m;
    BIO_meth_set_write_ex(m, BioWrite);
    BIO_meth_set_read_ex(m, BioRead);
    BIO_meth_set_ctrl(m, BioCtrl);
    BIO_meth_set_create(m, BioCreate);
    return m;
  }();
  return method;
}

// SHA-256 of the DER SubjectPublicKeyInfo of `cert`.
Result<SpkiPin> PinOf(X509* cert) {
  X509_PUBKEY* spki = X509_get_X509_PUBKEY(cert);
  if (spki == nullptr) return MakeError(ErrorCode::kInvalidArgument, "certificate has no key");
  int len = i2d_X509_PUBKEY(spki, nullptr);
  if (len <= 0) return MakeError(ErrorCode::kInvalidArgument, "certificate key not encodable");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509_PUBKEY(spki, &p) != len) {
    return MakeError(ErrorCode::kInternal, "certificate key encoding failed");
  }
  return crypto::Sha256(der);
}
}  // namespace

Result<SpkiPin> SpkiPinOfCertificatePem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return MakeError(ErrorCode::kInternal, "BIO_new_mem_buf failed");
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (cert == nullptr) return MakeError(ErrorCode::kInvalidArgument, "no PEM certificate");
  auto pin = PinOf(cert);
  X509_free(cert);
  return pin;
}

TlsClient::TlsClient(UniqueFd fd, Deadline deadline) : fd_(std::move(fd)), deadline_(deadline) {
  int flags = fcntl(fd_.get(), F_GETFL, 0);
  if (flags >= 0 && (flags & O_NONBLOCK) == 0) (void)fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) {
    (void)SSL_shutdown(ssl_);  // best-effort close_notify; never blocks
    SSL_free(ssl_);
    ERR_clear_error();
  }
  SSL_CTX_free(ctx_);
  WipeMemory(in_.data(), in_.size());
}

Result<void> TlsClient::WaitFor(bool for_write) {
  return WaitReady(fd_.get(), for_write, deadline_);
}

Result<void> TlsClient::Fill() {
  char buf[kReadChunk];
  for (;;) {
    if (ssl_ == nullptr) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        WipeMemory(buf, static_cast<size_t>(n));
        return Ok();
      }
      if (n == 0) return Closed();
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return MakeError(ErrorCode::kUnavailable, std::string("recv: ") + std::strerror(errno));
      }
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(false));
      continue;
    }
    size_t got = 0;
    int r = SSL_read_ex(ssl_, buf, sizeof(buf), &got);
    if (r == 1) {
      in_.append(buf, got);
      WipeMemory(buf, got);
      return Ok();
    }
    int err = SSL_get_error(ssl_, r);
    ERR_clear_error();
    if (err == SSL_ERROR_WANT_READ) {
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(false));
    } else if (err == SSL_ERROR_WANT_WRITE) {
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(true));
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      return Closed();
    } else {
      return MakeError(ErrorCode::kUnavailable, "TLS read failed");
    }
  }
}

Result<std::string> TlsClient::ReadLine(size_t max_bytes) {
  for (;;) {
    size_t lf = in_.find('\n', in_pos_);
    if (lf != std::string::npos) {
      size_t end = lf;
      if (end > in_pos_ && in_[end - 1] == '\r') --end;
      if (end - in_pos_ > max_bytes) return MakeError(ErrorCode::kUnavailable, "line too long");
      std::string line = in_.substr(in_pos_, end - in_pos_);
      in_pos_ = lf + 1;
      if (in_pos_ == in_.size()) {
        WipeMemory(in_.data(), in_.size());
        in_.clear();
        in_pos_ = 0;
      }
      return line;
    }
    if (in_.size() - in_pos_ > max_bytes + 1) {
      return MakeError(ErrorCode::kUnavailable, "line too long");
    }
    ONIONMAIL_RETURN_IF_ERROR(Fill());
  }
}

Result<void> TlsClient::Write(std::string_view bytes) {
  if (ssl_ == nullptr) {
    return SendAll(fd_.get(), {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()},
                   deadline_);
  }
  size_t done = 0;
  while (done < bytes.size()) {
    size_t written = 0;
    int r = SSL_write_ex(ssl_, bytes.data() + done, bytes.size() - done, &written);
    if (r == 1) {
      done += written;
      continue;
    }
    int err = SSL_get_error(ssl_, r);
    ERR_clear_error();
    if (err == SSL_ERROR_WANT_READ) {
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(false));
    } else if (err == SSL_ERROR_WANT_WRITE) {
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(true));
    } else {
      return MakeError(ErrorCode::kUnavailable, "TLS write failed");
    }
  }
  return Ok();
}

int TlsClient::VerifyPin(X509_STORE_CTX* store, void* arg) {
  auto* self = static_cast<TlsClient*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  bool match = false;
  Result<SpkiPin> pin = MakeError(ErrorCode::kInvalidArgument, "no certificate");
  if (leaf != nullptr) {
    pin = PinOf(leaf);
    match = pin.ok() &&
            (self->any_key_ || CRYPTO_memcmp(pin->data(), self->pin_.data(), pin->size()) == 0);
  }
  if (!match) {
    // Any-key mode rejects only a certificate without a usable key: a
    // handshake failure, not a pin mismatch.
    if (!self->any_key_) self->pin_mismatch_ = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  self->peer_pin_ = *pin;
  self->pin_verified_ = true;
  return 1;
}

Result<void> TlsClient::StartTls(const SpkiPin& pin) {
  if (ssl_ != nullptr) return MakeError(ErrorCode::kFailedPrecondition, "TLS already active");
  pin_ = pin;
  return Handshake(/*any_key=*/false);
}

Result<void> TlsClient::StartTlsAnyKey() {
  if (ssl_ != nullptr) return MakeError(ErrorCode::kFailedPrecondition, "TLS already active");
  pin_ = SpkiPin{};
  return Handshake(/*any_key=*/true);
}

Result<SpkiPin> TlsClient::PeerPin() const {
  if (ssl_ == nullptr) return MakeError(ErrorCode::kFailedPrecondition, "no TLS session");
  return peer_pin_;
}

Result<void> TlsClient::Handshake(bool any_key) {
  // RFC 3207 section 5 / CVE-2011-0411 class: bytes that arrived in plaintext
  // after the 220 must never be read as if they came through the tunnel.
  if (Buffered() != 0) {
    return MakeError(ErrorCode::kUnavailable, "peer sent plaintext after the STARTTLS reply");
  }
  any_key_ = any_key;
  peer_pin_ = SpkiPin{};
  pin_mismatch_ = false;
  pin_verified_ = false;
  if (ctx_ == nullptr) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) {
      ERR_clear_error();
      return MakeError(ErrorCode::kInternal, "SSL_CTX_new failed");
    }
    if (SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx_, TLS1_3_VERSION) != 1) {
      ERR_clear_error();
      return MakeError(ErrorCode::kInternal, "cannot restrict TLS to 1.3");
    }
    SSL_CTX_set_options(ctx_, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    // The pin replaces chain verification (in any-key mode the key is only
    // recorded); SSL_VERIFY_PEER makes a rejected key abort the handshake
    // (with VERIFY_NONE the result would be ignored).
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx_, &TlsClient::VerifyPin, this);
  }
  const BIO_METHOD* method = NoSigpipeSocketMethod();
  SSL* ssl = SSL_new(ctx_);
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (ssl == nullptr || bio == nullptr) {
    SSL_free(ssl);
    BIO_free(bio);
    ERR_clear_error();
    return MakeError(ErrorCode::kInternal, "SSL_new failed");
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd_.get())));
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by ssl
  SSL_set_connect_state(ssl);
  for (;;) {
    int r = SSL_connect(ssl);
    if (r == 1) break;
    int err = SSL_get_error(ssl, r);
    unsigned long detail = ERR_peek_last_error();
    ERR_clear_error();
    Result<void> waited = Ok();
    if (err == SSL_ERROR_WANT_READ) {
      waited = WaitFor(false);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      waited = WaitFor(true);
    } else {
      SSL_free(ssl);
      if (pin_mismatch_) {
        return MakeError(ErrorCode::kPermissionDenied, "peer key does not match the pin");
      }
      int reason = ERR_GET_REASON(detail);
      if (reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || reason == SSL_R_UNSUPPORTED_PROTOCOL ||
          reason == SSL_R_WRONG_VERSION_NUMBER) {
        return MakeError(ErrorCode::kUnavailable, "TLS handshake failed: peer lacks TLS 1.3");
      }
      return MakeError(ErrorCode::kUnavailable, "TLS handshake failed");
    }
    if (!waited.ok()) {
      SSL_free(ssl);
      return waited.error();
    }
  }
  // Belt and braces: the callback must have accepted the key, and nothing
  // but TLS 1.3 is allowed.
  if (!pin_verified_ || pin_mismatch_ || SSL_version(ssl) != TLS1_3_VERSION) {
    SSL_free(ssl);
    if (any_key_) return MakeError(ErrorCode::kUnavailable, "TLS handshake failed: no peer key");
    return MakeError(ErrorCode::kPermissionDenied, "peer key does not match the pin");
  }
  ssl_ = ssl;
  return Ok();
}

Result<mail::ChannelBinding> TlsClient::ExporterBinding() const {
  if (ssl_ == nullptr || SSL_version(ssl_) != TLS1_3_VERSION) {
    return MakeError(ErrorCode::kFailedPrecondition, "channel binding needs TLS 1.3");
  }
  static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
  mail::ChannelBinding out{};
  // RFC 9266 section 2: empty context (in TLS 1.3 the same as no context).
  if (SSL_export_keying_material(ssl_, out.data(), out.size(), kLabel, sizeof(kLabel) - 1, nullptr,
                                 0, /*use_context=*/0) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInternal, "TLS exporter failed");
  }
  return out;
}

Result<void> WarmUpTlsClient() {
  if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr) !=
      1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL TLS initialisation failed");
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return MakeError(ErrorCode::kInternal, "cannot make a TLS client context");
  SSL_CTX_free(ctx);
  return Ok();
}

}  // namespace onionmail::peer
