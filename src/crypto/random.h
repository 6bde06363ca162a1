// Cryptographically secure random bytes (OpenSSL RAND_bytes).
//
// Contract: failure of the system RNG is a broken environment invariant and
// aborts; callers never see weak randomness.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/secret_bytes.h"

namespace onionmail::crypto {

void RandomBytes(std::span<uint8_t> out);
SecretBytes RandomSecret(size_t size);
// Lower-case hex of `bytes` random bytes (for ids that are not secret).
std::string RandomHex(size_t bytes);
// `count` characters, each drawn uniformly and independently from
// `alphabet` (1..256 characters; rejection sampling, so no modulo bias),
// for generated passwords and vouchers. An empty or longer alphabet gives
// an empty result.
SecretBytes RandomSymbols(std::string_view alphabet, size_t count);
// The lower-case RFC 4648 base32 alphabet (5 bits a character).
inline constexpr std::string_view kBase32LowerAlphabet = "abcdefghijklmnopqrstuvwxyz234567";

}  // namespace onionmail::crypto
