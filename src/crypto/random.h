// Cryptographically secure random bytes (OpenSSL RAND_bytes).
//
// Contract: failure of the system RNG is a broken environment invariant and
// aborts; callers never see weak randomness.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/secret_bytes.h"

namespace onionmail::crypto {

void RandomBytes(std::span<uint8_t> out);
SecretBytes RandomSecret(size_t size);
// Lower-case hex of `bytes` random bytes (for ids that are not secret).
std::string RandomHex(size_t bytes);

}  // namespace onionmail::crypto
