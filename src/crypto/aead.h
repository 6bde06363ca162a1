// One-shot AES-256-GCM for small records (user records, wrapped private keys).
//
// Sealed format: 12-byte random nonce || ciphertext || 16-byte tag.
// Contract: Open() returns kDataLoss for any tampering, truncation, wrong key
// or wrong associated data; keys must be exactly 32 bytes (kInvalidArgument).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::crypto {

constexpr size_t kAeadKeyBytes = 32;
constexpr size_t kAeadNonceBytes = 12;
constexpr size_t kAeadTagBytes = 16;

Result<std::vector<uint8_t>> AeadSeal(const SecretBytes& key, std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> aad);
Result<SecretBytes> AeadOpen(const SecretBytes& key, std::span<const uint8_t> sealed,
                             std::span<const uint8_t> aad);

}  // namespace onionmail::crypto
