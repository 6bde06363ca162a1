// State: composition root of the server's storage and key service for one
// state directory. Used by onionmaild (serving) and onionmailctl (admin).
//
// Contract: InitState() creates a new state directory (0700) with its server
// key, TLS certificate and sub-directories, refusing to touch an existing
// one (kAlreadyExists). State::Open() fails with a clear error naming what
// is missing when the directory is not initialised. This is the one place
// that picks the key-store backend ([keys] backend = file | pkcs11 | tpm2):
// for the hardware backends, InitState() creates the keys inside the token
// (Provision) and has the token sign the certificate of its ECDSA TLS key;
// the file backend writes both keys as 0600 PEM files (development only).
//
// Master key (docs/PROTOCOL.md, "Boot"): a state directory with an unseal
// enrolment (<state>/unseal/enrolment, src/unseal/master_key.h) opens
// *sealed*: keys(), delivery() and mailboxes() answer ErrorCode::kSealed
// (server/sealed_services.h) until Unseal() is given the master key; from
// then on every user operation goes through the device key store mixed with
// the master key (hsm::MasterKeyedStore), atomically for all threads.
// Without an enrolment the device key store is used alone (disk + device
// suffice), as before issue 5. device_keys() is always the device alone: the
// peer-side partner records and the enrolment record are sealed with it, so
// a sealed server can still answer its peers.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "config/config.h"
#include "hsm/key_store.h"
#include "keys/key_service.h"
#include "mail/backend.h"

namespace onionmail::server {

Result<void> InitState(const config::Config& config);

// `onionmailctl tls-key`: moves the TLS certificate of a state directory
// made before the ECDSA TLS key existed (its certificate is for the RSA
// server key) to that key. The key is made if missing (Provision for the
// tokens, which keeps the other keys; tls/ecdsa-key.pem for the file
// backend), a new certificate for it is written and renamed over
// tls/cert.pem. The server key, server-id and users are untouched; the TLS
// pin changes. Returns false (and changes nothing) when the certificate is
// already for the TLS key. Run with the server stopped.
[[nodiscard]] Result<bool> MoveTlsToOwnKey(const config::Config& config);

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
  // The server's RSA identity key (server-id, signatures to peers, KCTL; the
  // TLS key of state directories made before the TLS key existed): DER
  // SubjectPublicKeyInfo, and the raw private operation (x^d mod n on a
  // modulus-sized block) done in the token or, for the file backend, with
  // the PEM key held in this process only.
  virtual Result<std::vector<uint8_t>> ServerPublicKey() = 0;
  virtual Result<std::vector<uint8_t>> ServerPrivateRaw(std::span<const uint8_t> block) = 0;
  // The TLS key (ECDSA P-256, hsm/token.h): DER SubjectPublicKeyInfo
  // (kNotFound when this state has none), and a signature r || s of a
  // 32-byte digest, made in the token or with the file backend's PEM key.
  virtual Result<std::vector<uint8_t>> TlsPublicKey() = 0;
  virtual Result<std::vector<uint8_t>> TlsSign(std::span<const uint8_t> digest) = 0;
  // True when the state has an unseal enrolment (it opened sealed).
  virtual bool enrolled() const = 0;
  // True while an enrolled server has not been given its master key.
  virtual bool sealed() const = 0;
  // Activates the user services under `master_key` (32 bytes). Checks
  // nothing about M itself (the Unsealer checked the commitment):
  // kFailedPrecondition when not enrolled or already unsealed.
  virtual Result<void> Unseal(const SecretBytes& master_key) = 0;
  // The device key store alone (no master key).
  virtual hsm::KeyStore& device_keys() = 0;
  // Removes messages older than the retention period; returns how many.
  virtual Result<size_t> SweepExpired() = 0;
  // Keeps the spare-file pool stocked while deliveries pause; never returns
  // (store::MailboxStore::RunSpareStocker). Run in a thread of its own.
  virtual void RunSpareStocker() = 0;
};

}  // namespace onionmail::server
