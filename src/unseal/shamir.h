// Shamir secret sharing of the 256-bit master key over GF(2^8), byte-wise.
//
// Contract (docs/PROTOCOL.md, "Master-key unseal: maths and encodings"):
//  - Field GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b); addition is XOR.
//    Multiplication is constant time (shift-and-add over all 8 bits, no tables indexed by
//    secret data).
//  - Split(secret, t, n, rng): for each byte position j (0..31) the polynomial is
//    f_j(x) = secret[j] + a_1[j] x + ... + a_{t-1}[j] x^{t-1}. The random source is asked
//    once for (t-1)*32 bytes: bytes [(k-1)*32, k*32) are the coefficient vector a_k.
//    Share i (i = 1..n) is (x = i, y[j] = f_j(i)). Requires 2 <= t <= n <= 32.
//  - Combine(shares, t): Lagrange interpolation at x = 0 over the first t shares. Every
//    share given is validated: x nonzero and distinct, y exactly 32 bytes; fewer than t
//    shares is refused. Too few shares never yield a "best guess".
//  - Share wire encoding: 1 byte x, then 32 bytes y (33 bytes).
//  - The secret, the coefficients and the y values live in SecretBytes (wiped); shares are
//    secret material too (t of them give the master key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::unseal {

inline constexpr size_t kShamirSecretSize = 32;
inline constexpr size_t kShamirShareSize = 1 + kShamirSecretSize;
inline constexpr int kShamirMaxShares = 32;

struct Share {
  uint8_t x = 0;
  SecretBytes y;  // kShamirSecretSize bytes
};

// Fills its argument with uniformly random bytes. Production code passes
// crypto::RandomBytes (the default); tests pass a fixed stream.
using RandomSource = std::function<void(std::span<uint8_t>)>;

// Multiplication in GF(2^8) mod 0x11b, constant time. Exposed for tests.
uint8_t GfMul(uint8_t a, uint8_t b);
// Multiplicative inverse (a^254), constant time; GfInv(0) == 0.
uint8_t GfInv(uint8_t a);

[[nodiscard]] Result<std::vector<Share>> Split(const SecretBytes& secret, int t, int n,
                                               const RandomSource& rng = {});
[[nodiscard]] Result<SecretBytes> Combine(std::span<const Share> shares, int t);

// 33 bytes: x, then y.
[[nodiscard]] Result<SecretBytes> EncodeShare(const Share& share);
[[nodiscard]] Result<Share> DecodeShare(const SecretBytes& wire);

}  // namespace onionmail::unseal
