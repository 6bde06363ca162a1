// hsm::KeyStore: the server's long-term secrets, behind one interface.
//
// Backends: `file` (a 0600 key file created at init; development and demo
// until the hardware issue lands), then `pkcs11` (p11-kit) and `tpm2`
// (tss2-esys). Swapping the backend touches only hsm/ and the factory.
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
};

// File backend: `path` holds 32 random bytes, mode 0600.
// CreateFileKeyStore() makes a new key file (fails with kAlreadyExists if one
// exists); OpenFileKeyStore() loads it (kNotFound, kPermissionDenied if the
// mode is wider than 0600, kDataLoss if the size is wrong).
Result<std::unique_ptr<KeyStore>> CreateFileKeyStore(const std::string& path);
Result<std::unique_ptr<KeyStore>> OpenFileKeyStore(const std::string& path);

}  // namespace onionmail::hsm
