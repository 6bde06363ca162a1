// Argon2id password hashing: key derivation from the POP3 password and
// verifiers for the SMTP password.
//
// Two well-kept implementations compute the same function (Argon2id v1.3, no
// secret, no associated data): libsodium's crypto_pwhash_argon2id, whose
// vectorised code (SSSE3/AVX2/AVX-512, chosen at run time) is 2-2.5x faster
// than Debian's libargon2, which ships the portable reference code, serves
// one lane with a 16-byte salt and outputs of 16 bytes or more, i.e. every
// blob this server writes; libargon2 serves the rest (parallelism > 1, other
// salt sizes, shorter outputs). Argon2idDeriveReference always uses libargon2
// so tests can check that both agree.
//
// Contract: parameters travel with every stored blob (see docs/store.md);
// derived keys are SecretBytes; verification compares in constant time.
// Parameters below the floor (t_cost < 1, m_cost_kib < 8, parallelism < 1,
// m_cost_kib < 8 * parallelism, salt < 8 bytes, output < 4 bytes) or absurdly
// high (m_cost_kib > 4 GiB, t_cost > kArgon2MaxTimeCost, parallelism >
// kArgon2MaxParallelism) are rejected with kInvalidArgument, so a tampered
// blob cannot make the server allocate or spin without bound.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::crypto {

struct Argon2Params {
  uint32_t t_cost = 3;
  uint32_t m_cost_kib = 65536;
  uint32_t parallelism = 1;
};

constexpr size_t kArgon2SaltBytes = 16;
constexpr uint32_t kArgon2MaxTimeCost = 100;
constexpr uint32_t kArgon2MaxParallelism = 64;

Result<SecretBytes> Argon2idDerive(const SecretBytes& password, std::span<const uint8_t> salt,
                                   const Argon2Params& params, size_t out_len = 32);

// Which library Argon2idDerive uses for these inputs: "libsodium" or
// "libargon2" (for the start-up log and tests).
const char* Argon2idImplementation(const Argon2Params& params, size_t salt_len,
                                   size_t out_len = 32);

// The same function, always computed by libargon2 (for tests).
Result<SecretBytes> Argon2idDeriveReference(const SecretBytes& password,
                                            std::span<const uint8_t> salt,
                                            const Argon2Params& params, size_t out_len = 32);

// Derives from `password` with the given salt/params and compares with
// `expected` in constant time. Returns kUnauthenticated on mismatch.
Result<void> Argon2idVerify(const SecretBytes& password, std::span<const uint8_t> salt,
                            const Argon2Params& params, std::span<const uint8_t> expected);

}  // namespace onionmail::crypto
