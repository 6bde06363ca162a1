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

}  // namespace onionmail::crypto
