// hsm::Token: one hardware device (or its software stand-in) that holds the
// server's non-extractable keys and performs every operation with them.
//
// Backends: pkcs11 (p11-kit loading one module by path; SoftHSM2 in tests,
// any token in production, including the TPM via tpm2-pkcs11) and tpm2
// (tss2-esys over a configurable TCTI; swtpm in tests, /dev/tpmrm0 in
// production). Only the key role links these backends.
//
// Keys inside the device (created by Provision, found again by Open):
//  - an HMAC-SHA256 secret key (256-bit): the root of the server's keyed
//    hashes, record keys and the token half of every inbox-key wrap;
//  - the server RSA key pair (identity: signatures to peers, KCTL, the TLS
//    key of state directories made before the ECDSA TLS key existed);
//  - the TLS key: an ECDSA P-256 key pair that signs TLS handshakes (one
//    ECDSA signature costs a fraction of an RSA-2048 one, in SoftHSM2 and in
//    a TPM alike), kept apart from the identity key.
// None can be read out: a test of each backend proves it.
//
// Contract:
//  - Thread-safe: operations are serialised inside the object (swtpm serves
//    one client at a time; PKCS#11 sessions are not shared between threads).
//  - Device errors are kUnavailable with a message naming the device; the
//    next call tries to reconnect (token removed and re-inserted, swtpm
//    restarted), so the server recovers without a restart.
//  - operations() counts cryptographic operations performed in the device.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::hsm {

enum class OaepHash { kSha256, kSha1 };

class Token {
 public:
  virtual ~Token() = default;
  virtual std::string_view backend_name() const = 0;

  // Creates the HMAC key, an RSA key pair of `rsa_bits` and the ECDSA P-256
  // TLS key pair inside the device unless they already exist (idempotent: a
  // device provisioned before the TLS key existed gets it and keeps the
  // others). kAlreadyExists is never returned.
  virtual Result<void> Provision(int rsa_bits) = 0;

  // HMAC-SHA256 of `data` under the device's secret key.
  virtual Result<std::array<uint8_t, 32>> Hmac(std::span<const uint8_t> data) = 0;

  // DER SubjectPublicKeyInfo of the server RSA key (cache it: it is public).
  virtual Result<std::vector<uint8_t>> ServerPublicKey() = 0;

  // Raw RSA private-key operation (x^d mod n) on exactly modulus-size bytes,
  // numerically below n. OpenSSL applies PKCS#1 v1.5 / PSS padding around it
  // for TLS signatures.
  virtual Result<std::vector<uint8_t>> RsaPrivateRaw(std::span<const uint8_t> input) = 0;

  // DER SubjectPublicKeyInfo of the ECDSA P-256 TLS key (id-ecPublicKey,
  // namedCurve prime256v1, uncompressed point); kNotFound when the device
  // has none (provisioned by an older version). Cache it: it is public.
  virtual Result<std::vector<uint8_t>> TlsPublicKey() = 0;

  // ECDSA P-256 signature made inside the device with the TLS key over
  // `digest`, which must be exactly 32 bytes (the caller hashes, and
  // truncates or left-pads to the curve's 256 bits as ECDSA does): r || s,
  // 32 bytes each, big-endian (the PKCS#11 CKM_ECDSA format; DER is the
  // caller's business). kInvalidArgument for another digest size,
  // kNotFound without a TLS key. One device operation.
  virtual Result<std::vector<uint8_t>> TlsSign(std::span<const uint8_t> digest) = 0;

  // RSA-OAEP decryption inside the device, with the hash chosen by the
  // start-up self-test (SoftHSM2 2.6 supports only SHA-1).
  virtual Result<SecretBytes> RsaDecryptOaep(std::span<const uint8_t> ciphertext) = 0;
  virtual OaepHash oaep_hash() const = 0;

  // Cheap presence check without a cryptographic operation.
  virtual Result<void> Probe() = 0;

  virtual uint64_t operations() const = 0;

  // Erasable secrets, for crypto-shredding (hsm/key_store.h, "Erasable keys").
  // Each is a 256-bit random secret made inside the device and named by a
  // 64-bit epoch. Destroying it inside the device makes every key derived from
  // it unrecoverable, whatever copies of the disk (and of the device's other
  // key blobs) exist. Callers keep at most two alive (a rotation makes the next
  // epoch, re-seals, then erases the old one).
  //  - CreateErasable: kAlreadyExists when `epoch` already has a secret;
  //    kResourceExhausted when the device has no room for another.
  //  - DeriveErasable: HMAC-SHA256(secret, label), 32 bytes; kNotFound when
  //    `epoch` has no secret (never made, or erased). One device operation.
  //  - EraseErasable: destroys the secret inside the device; ok when `epoch`
  //    has none.
  //  - ErasableEpochs: every epoch that has a secret, ascending.
  virtual Result<void> CreateErasable(uint64_t epoch) = 0;
  virtual Result<SecretBytes> DeriveErasable(uint64_t epoch, std::span<const uint8_t> label) = 0;
  virtual Result<void> EraseErasable(uint64_t epoch) = 0;
  virtual Result<std::vector<uint64_t>> ErasableEpochs() = 0;
};

struct Pkcs11Options {
  std::string module_path;  // e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;  // the token is found by label (slot ids change)
  std::string pin_file;     // user PIN, one line, mode 0600
  // How long Open waits for a token with the label to be listed before it
  // gives kNotFound (a token that appears late at boot, or a module that
  // failed to read its token once); 0 = no wait. Non-zero also lets Open log
  // in once more after a login the module failed before judging the PIN
  // (pkcs11_token.h); a wrong PIN is never tried again.
  int token_wait_ms = 3000;
};

struct Tpm2Options {
  std::string tcti;       // "device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321", "mssim:..."
  std::string key_dir;    // where TPM-wrapped key blobs live (useless without this TPM)
  std::string auth_file;  // authValue of the server's objects (optional; empty = none)
  std::vector<int> pcrs;  // optional PCR policy (SHA-256 bank) for the sealed objects
};

// Open*: connect, log in / load the keys, run the OAEP self-test. A missing
// module, token, TCTI or key gives a clear error naming it (kNotFound /
// kUnavailable); a wrong PIN or auth gives kUnauthenticated. A PKCS#11 token
// not listed yet is looked for again until Pkcs11Options::token_wait_ms.
Result<std::unique_ptr<Token>> OpenPkcs11Token(const Pkcs11Options& options);
Result<std::unique_ptr<Token>> OpenTpm2Token(const Tpm2Options& options);

}  // namespace onionmail::hsm
