// hsm::KeyStore: the server's long-term secrets, behind one interface.
//
// Backends: `file` (a 0600 key file created at init; development only), and
// the hardware tokens of hsm/token.h: `pkcs11` (p11-kit) and `tpm2`
// (tss2-esys). Both are built on DerivedKeyStore (hsm/derived_key_store.h):
// a few root secrets are derived from the backend once at start-up, so keyed
// hashes and record sealing cost no device operation; the only per-session
// device operation is InboxWrapSecret(). Swapping the backend touches only
// hsm/ and the factory in src/server/state.cc.
//
// Contract: callers pass data in and get results out; no method ever returns
// key bytes. KeyedHash() is deterministic for a given purpose and data (used
// for on-disk names). SealRecord()/OpenRecord() are authenticated encryption
// bound to `aad`; OpenRecord() returns kDataLoss on any mismatch.
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

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  virtual std::string_view backend_name() const = 0;
  virtual Result<std::array<uint8_t, 32>> KeyedHash(std::string_view purpose,
                                                    std::span<const uint8_t> data) = 0;
  virtual Result<std::vector<uint8_t>> SealRecord(std::span<const uint8_t> plaintext,
                                                  std::span<const uint8_t> aad) = 0;
  virtual Result<SecretBytes> OpenRecord(std::span<const uint8_t> sealed,
                                         std::span<const uint8_t> aad) = 0;
  // The device half of an inbox-key wrap: 32 bytes derived inside the device
  // from `input` (one device operation): the user record's salt followed by
  // the Argon2id output of the POP3 password (48 bytes; records of version 1:
  // the 16-byte salt alone, src/keys/user_record.h). Mixed with that Argon2id
  // output, so opening an inbox needs the device AND the password, and each
  // password guess needs the device.
  virtual Result<SecretBytes> InboxWrapSecret(std::span<const uint8_t> input) = 0;
  // Cheap presence check of the device (no cryptographic operation).
  virtual Result<void> Probe() = 0;
  // Cryptographic operations performed in the device since start-up.
  virtual uint64_t device_operations() const = 0;

  // Erasable keys, for crypto-shredding. An epoch names a 256-bit secret held
  // by the device (hsm/token.h, CreateErasable); the file backend keeps it in
  // a 0600 file next to the key file and "erases" it by overwrite + unlink,
  // which is no shred on flash (development only). SealErasable/OpenErasable
  // are AES-256-GCM bound to `aad` under HMAC-SHA256(secret, "onionmail
  // erasable seal v1") (one device operation per epoch, then cached in
  // SecretBytes until EraseErasable). After EraseErasable(epoch) the secret is
  // gone from the device and from memory: OpenErasable gives kNotFound, and no
  // copy of anything sealed under it can be opened again. OpenErasable gives
  // kDataLoss when authentication fails. CreateErasable: kAlreadyExists when
  // the epoch exists; a device has room for at least two epochs at once.
  virtual Result<void> CreateErasable(uint64_t epoch) = 0;
  virtual Result<std::vector<uint8_t>> SealErasable(uint64_t epoch,
                                                    std::span<const uint8_t> plaintext,
                                                    std::span<const uint8_t> aad) = 0;
  virtual Result<SecretBytes> OpenErasable(uint64_t epoch, std::span<const uint8_t> sealed,
                                           std::span<const uint8_t> aad) = 0;
  virtual Result<void> EraseErasable(uint64_t epoch) = 0;
  // Epochs that have a secret, ascending.
  virtual Result<std::vector<uint64_t>> ErasableEpochs() = 0;
};

// File backend: `path` holds 32 random bytes, mode 0600.
// CreateFileKeyStore() makes a new key file (fails with kAlreadyExists if one
// exists); OpenFileKeyStore() loads it (kNotFound, kPermissionDenied if the
// mode is wider than 0600, kDataLoss if the size is wrong).
Result<std::unique_ptr<KeyStore>> CreateFileKeyStore(const std::string& path);
Result<std::unique_ptr<KeyStore>> OpenFileKeyStore(const std::string& path);

}  // namespace onionmail::hsm
