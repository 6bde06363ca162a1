// SessionTlsKeys: short-lived TLS keys of the key role, certified by the
// token's TLS key ([tls] session_key_hours; docs/keys.md, "Session TLS keys").
//
// Without them every full TLS handshake is one signature of the token's
// ECDSA P-256 TLS key: a TPM chip makes a few per second, so a server on a
// chip completes a few full handshakes per second and a flood of handshakes
// queues everyone behind it. With them the key role makes a P-256 key in its
// own memory (never written anywhere, never sent to another process), has the
// token certify it, and signs the handshakes with it: one token signature per
// key, not one per handshake. The token's key then only certifies session
// keys; the front ends can no longer have it sign anything.
//
// Contract:
//  - Create(): from the server's certificate (<state>/tls/cert.pem, for the
//    token's TLS key) makes the issuing certificate of that key: the same
//    subject, key and validity, CA:TRUE with pathlen 0, keyUsage keyCertSign
//    (clients that check certificates trust it, ca_pem()); then the first
//    session key and its certificate: subject = the server's plus
//    OU=session key, the server certificate's subjectAltName, CA:FALSE,
//    digitalSignature, serverAuth, valid from 1 h before its making for
//    2 x lifetime + 1 h. Both are signed with `token_sign` (two token
//    signatures). The first generation is random in [1, 2^31), the next ones
//    count up from it, so that a front end that outlived a restart of the key
//    role never names a key of the new one. kInvalidArgument when the
//    lifetime is not positive or above kMaxLifetime (the configuration takes
//    whole hours; tests use seconds), or the certificate is not the token
//    key's; a failed token signature is returned as it came.
//  - Current(): the current generation, its chain (session certificate, then
//    the issuing certificate; PEM) and public key (DER SubjectPublicKeyInfo).
//    When the current key is `lifetime` old a new generation is made first
//    (one token signature); if that fails, the failure is logged, the current
//    key is returned (its certificate outlives the lifetime by lifetime +
//    1 h) and no new one is tried for kRetryAfterFailure.
//  - Sign(generation, digest): ECDSA r || s over a 32-byte digest with the
//    key of that generation, the current one or the one before it (for
//    handshakes that began before the rotation); kNotFound for any other,
//    kInvalidArgument for a digest of another size.
//  - Thread-safe. A retired key is freed (OpenSSL clears its private scalar).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::server {

class SessionTlsKeys {
 public:
  static constexpr std::chrono::hours kMaxLifetime{168};
  static constexpr std::chrono::seconds kRetryAfterFailure{60};

  using Clock = std::function<std::chrono::system_clock::time_point()>;
  // The token's TLS key: r || s over a 32-byte digest (State::TlsSign).
  using TokenSign = std::function<Result<std::vector<uint8_t>>(std::span<const uint8_t>)>;

  struct Generation {
    uint32_t generation = 0;
    std::string chain_pem;            // session certificate, then the issuing one
    std::vector<uint8_t> public_key;  // DER SubjectPublicKeyInfo of the session key
  };

  // `server_cert_pem`: the server's certificate, for `token_public_key` (DER
  // SubjectPublicKeyInfo, P-256). `clock` may be empty (system clock).
  [[nodiscard]] static Result<std::unique_ptr<SessionTlsKeys>> Create(
      const std::string& server_cert_pem, std::span<const uint8_t> token_public_key,
      TokenSign token_sign, std::chrono::seconds lifetime, Clock clock = {});
  ~SessionTlsKeys();

  const std::string& ca_pem() const { return ca_pem_; }
  [[nodiscard]] Result<Generation> Current();
  [[nodiscard]] Result<std::vector<uint8_t>> Sign(uint32_t generation,
                                                  std::span<const uint8_t> digest);

  SessionTlsKeys(const SessionTlsKeys&) = delete;
  SessionTlsKeys& operator=(const SessionTlsKeys&) = delete;

 private:
  struct Key;
  struct Issuer;
  SessionTlsKeys(std::unique_ptr<Issuer> issuer, std::string ca_pem, std::chrono::seconds lifetime,
                 Clock clock);
  // A new key and its certificate, signed by the token.
  Result<std::shared_ptr<Key>> MakeKey(uint32_t generation);

  std::unique_ptr<Issuer> issuer_;
  const std::string ca_pem_;
  const std::chrono::seconds lifetime_;
  const Clock clock_;
  std::mutex rotate_mu_;  // one rotation at a time (held across the token signature)
  std::mutex mu_;         // guards current_ and previous_
  std::shared_ptr<Key> current_;
  std::shared_ptr<Key> previous_;
  std::chrono::system_clock::time_point retry_after_{};  // guarded by rotate_mu_
};

}  // namespace onionmail::server
