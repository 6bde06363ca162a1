// TlsClient: the client end of a line-based connection (SMTP) that is
// upgraded in place to TLS 1.3 (STARTTLS), with the peer's public key pinned
// or, for mail between onion services, any key; over a connected non-blocking
// socket, every operation bounded by one absolute deadline. Used by the TORM
// client (peer/torm_client.h) and the mail relay client (peer/mail_client.h);
// runs inside a role's seccomp sandbox: no CA store, no files, no DNS.
//
// Contract:
//  - The TlsClient owns the fd and closes it (after a best-effort TLS
//    close_notify). Read buffers are wiped on destruction.
//  - ReadLine() returns one line without its CRLF (a bare LF is accepted);
//    a line longer than `max_bytes` is kUnavailable "line too long" and the
//    connection is unusable afterwards.
//  - StartTls(pin): TLS 1.3 only, no SNI, no session resumption. The peer is
//    accepted exactly when SHA-256 of its certificate's SubjectPublicKeyInfo
//    (DER) equals `pin` (constant-time compare); the certificate chain, names
//    and dates are not looked at. A mismatch is kPermissionDenied "peer key
//    does not match the pin"; it is detected inside the handshake, before any
//    application data is sent. Plaintext bytes received after the STARTTLS
//    reply and before the handshake are refused (kUnavailable: command
//    injection). A peer without TLS 1.3 and any other handshake failure are
//    kUnavailable; a timeout is kDeadlineExceeded.
//  - StartTlsAnyKey(): the same handshake (TLS 1.3 only, no SNI, no
//    resumption, no plaintext after the STARTTLS reply) but any certificate
//    key is accepted and nothing of the certificate is checked. Only for
//    peers reached by onion address, whose name already authenticates the
//    endpoint (Tor checks the onion service's key); the caller may compare
//    PeerPin() with what it expects.
//  - PeerPin(): SHA-256 of the SubjectPublicKeyInfo (DER) of the certificate
//    the peer presented, once either StartTls variant succeeded (equal to the
//    pin in pinned mode); kFailedPrecondition before.
//  - ExporterBinding() is the RFC 9266 tls-exporter channel binding (label
//    "EXPORTER-Channel-Binding", empty context, 32 bytes), exactly as the
//    server computes it (net::SocketConnection::TlsExporterBinding).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "mail/torm.h"
#include "peer/socket_io.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_store_ctx_st X509_STORE_CTX;

namespace onionmail::peer {

// SHA-256 of a DER SubjectPublicKeyInfo.
using SpkiPin = std::array<uint8_t, 32>;

// The pin of the first certificate in `pem` (a PEM certificate or chain), as
// an operator would compute it from a peer's certificate file.
[[nodiscard]] Result<SpkiPin> SpkiPinOfCertificatePem(std::string_view pem);

// Start-up of a role that makes TLS client connections, before its sandbox
// (with PreloadLibrariesForSandbox): OpenSSL's TLS layer loads its strings
// and fetches its algorithms on first use, so a client context is made once
// now, while files may still be opened.
[[nodiscard]] Result<void> WarmUpTlsClient();

class TlsClient {
 public:
  // Takes ownership of `fd` (connected; made non-blocking here).
  TlsClient(UniqueFd fd, Deadline deadline);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  [[nodiscard]] Result<std::string> ReadLine(size_t max_bytes);
  [[nodiscard]] Result<void> Write(std::string_view bytes);
  [[nodiscard]] Result<void> StartTls(const SpkiPin& pin);
  [[nodiscard]] Result<void> StartTlsAnyKey();
  [[nodiscard]] Result<SpkiPin> PeerPin() const;
  [[nodiscard]] Result<mail::ChannelBinding> ExporterBinding() const;

  bool IsTls() const { return ssl_ != nullptr; }
  size_t Buffered() const { return in_.size() - in_pos_; }
  // Moves the deadline (e.g. a short one for a best-effort QUIT).
  void set_deadline(Deadline deadline) { deadline_ = deadline; }

 private:
  static int VerifyPin(X509_STORE_CTX* store, void* arg);
  Result<void> Handshake(bool any_key);
  Result<void> Fill();
  Result<void> WaitFor(bool for_write);

  UniqueFd fd_;
  Deadline deadline_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  SpkiPin pin_{};
  bool any_key_ = false;       // StartTlsAnyKey: VerifyPin accepts every key
  SpkiPin peer_pin_{};         // set by VerifyPin when it accepts
  bool pin_mismatch_ = false;  // set by VerifyPin
  bool pin_verified_ = false;  // set by VerifyPin
  std::string in_;
  size_t in_pos_ = 0;
};

}  // namespace onionmail::peer
