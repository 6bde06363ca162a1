// Argon2id password hashing (libargon2): key derivation from the POP3 password
// and verifiers for the SMTP password.
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

Result<SecretBytes> Argon2idDerive(const SecretBytes& password,
                                   std::span<const uint8_t> salt,
                                   const Argon2Params& params, size_t out_len = 32);

// Derives from `password` with the given salt/params and compares with
// `expected` in constant time. Returns kUnauthenticated on mismatch.
Result<void> Argon2idVerify(const SecretBytes& password, std::span<const uint8_t> salt,
                            const Argon2Params& params, std::span<const uint8_t> expected);

}  // namespace onionmail::crypto
