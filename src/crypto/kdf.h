// HKDF-SHA256 and HMAC-SHA256 (OpenSSL EVP_KDF / EVP_MAC).
//
// Contract: `info`/purpose strings give domain separation; outputs derived
// from secret input keys are SecretBytes; HMAC digests are not secret.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::crypto {

using Digest = std::array<uint8_t, 32>;

Result<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::span<const uint8_t> salt,
                               std::string_view info, size_t out_len);
Result<Digest> HmacSha256(const SecretBytes& key, std::span<const uint8_t> data);
Digest Sha256(std::span<const uint8_t> data);

}  // namespace onionmail::crypto
