// Random bytes from OpenSSL's DRBG; an RNG failure aborts.
#include "crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "base/result.h"
#include "crypto/hex.h"

namespace onionmail::crypto {

void RandomBytes(std::span<uint8_t> out) {
  while (!out.empty()) {
    const size_t n = std::min<size_t>(out.size(), INT_MAX);
    ONIONMAIL_CHECK(RAND_bytes(out.data(), static_cast<int>(n)) == 1);
    out = out.subspan(n);
  }
}

SecretBytes RandomSecret(size_t size) {
  SecretBytes secret(size);
  RandomBytes(secret.Reveal(SecretAccess::Grant()));
  return secret;
}

std::string RandomHex(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  RandomBytes(buf);
  return ToHex(buf);
}

SecretBytes RandomSymbols(std::string_view alphabet, size_t count) {
  if (alphabet.empty() || alphabet.size() > 256) return SecretBytes();
  // Bytes at or above `limit` would favour the first 256 % n symbols.
  const size_t n = alphabet.size();
  const size_t limit = 256 - 256 % n;
  SecretBytes out(count);
  auto dst = out.Reveal(SecretAccess::Grant());
  SecretBytes pool(count + 16);
  auto bytes = pool.Reveal(SecretAccess::Grant());
  size_t used = bytes.size();
  for (size_t i = 0; i < count;) {
    if (used == bytes.size()) {
      RandomBytes(bytes);
      used = 0;
    }
    const size_t b = bytes[used++];
    if (b < limit) dst[i++] = static_cast<uint8_t>(alphabet[b % n]);
  }
  return out;
}

}  // namespace onionmail::crypto
