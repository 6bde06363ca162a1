// State: composition root of the server's storage and key service for one
// state directory. Used by onionmaild (serving) and onionmailctl (admin).
//
// Contract: InitState() creates a new state directory (0700) with its server
// key, TLS certificate and sub-directories, refusing to touch an existing
// one (kAlreadyExists). State::Open() fails with a clear error naming what
// is missing when the directory is not initialised. This is the one place
// that picks the key-store backend ([keys] backend = file | pkcs11 | tpm2):
// for the hardware backends, InitState() creates the keys inside the token
// (Provision) and signs the certificate with the token's RSA key.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>
#include <string_view>

#include "base/result.h"
#include "config/config.h"
#include "keys/key_service.h"
#include "mail/backend.h"
#include "net/tls_context.h"

namespace onionmail::server {

Result<void> InitState(const config::Config& config);

class State {
 public:
  static Result<std::unique_ptr<State>> Open(const config::Config& config);
  virtual ~State() = default;

  virtual const config::Config& config() const = 0;
  virtual std::string_view key_store_backend() const = 0;
  // Cryptographic operations done in the key-store device since start-up.
  virtual uint64_t device_operations() const = 0;
  virtual keys::KeyService& keys() = 0;
  virtual mail::DeliveryBackend& delivery() = 0;
  virtual mail::MailboxBackend& mailboxes() = 0;
  // The TLS context: certificate from the state dir; the private key is a
  // PEM file (file backend) or the token's RSA key (private ops in the token).
  virtual Result<std::shared_ptr<net::TlsContext>> Tls() = 0;
  // The server's TLS/identity RSA key, for the key role's signing service:
  // DER SubjectPublicKeyInfo, and the raw private operation (x^d mod n on a
  // modulus-sized block) done in the token or, for the file backend, with
  // the PEM key held in this process only.
  virtual Result<std::vector<uint8_t>> TlsPublicKey() = 0;
  virtual Result<std::vector<uint8_t>> TlsPrivateRaw(std::span<const uint8_t> block) = 0;
  // Removes messages older than the retention period; returns how many.
  virtual Result<size_t> SweepExpired() = 0;
};

}  // namespace onionmail::server
