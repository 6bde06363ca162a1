// Shamir t-of-n over GF(2^8) (AES polynomial), byte-wise; see shamir.h.
#include "unseal/shamir.h"

#include <array>
#include <string>
#include <utility>

#include "crypto/random.h"

namespace onionmail::unseal {

namespace {

Error Invalid(std::string what) {
  return MakeError(ErrorCode::kInvalidArgument, "shamir: " + std::move(what));
}

// Evaluates one byte of every coefficient vector at x by Horner's rule:
// ((a_{t-1} x + a_{t-2}) x + ...) x + a_0.
uint8_t EvalByte(std::span<const uint8_t> secret, std::span<const uint8_t> coefficients, int t,
                 size_t j, uint8_t x) {
  uint8_t acc = 0;
  for (int k = t - 1; k >= 1; --k) {
    acc = GfMul(acc, x) ^ coefficients[static_cast<size_t>(k - 1) * kShamirSecretSize + j];
  }
  return GfMul(acc, x) ^ secret[j];
}

}  // namespace

uint8_t GfMul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int i = 0; i < 8; ++i) {
    // mask is 0xff when the low bit of b is set, else 0: no branch on data.
    const uint8_t mask = static_cast<uint8_t>(-(b & 1));
    product ^= static_cast<uint8_t>(a & mask);
    const uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (0x1b & carry));
    b = static_cast<uint8_t>(b >> 1);
  }
  return product;
}

uint8_t GfInv(uint8_t a) {
  // a^254 = a^-1 in GF(2^8)* (and 0 for 0). Fixed addition chain:
  // a^2, a^3, a^6, a^12, a^15, a^30, a^60, a^63, a^126, a^127, a^254.
  const uint8_t a2 = GfMul(a, a);
  const uint8_t a3 = GfMul(a2, a);
  const uint8_t a6 = GfMul(a3, a3);
  const uint8_t a12 = GfMul(a6, a6);
  const uint8_t a15 = GfMul(a12, a3);
  const uint8_t a30 = GfMul(a15, a15);
  const uint8_t a60 = GfMul(a30, a30);
  const uint8_t a63 = GfMul(a60, a3);
  const uint8_t a126 = GfMul(a63, a63);
  const uint8_t a127 = GfMul(a126, a);
  return GfMul(a127, a127);
}

Result<std::vector<Share>> Split(const SecretBytes& secret, int t, int n, const RandomSource& rng) {
  if (secret.size() != kShamirSecretSize) return Invalid("secret must be 32 bytes");
  if (t < 2 || n < t || n > kShamirMaxShares) return Invalid("need 2 <= t <= n <= 32");

  const SecretAccess access = SecretAccess::Grant();
  SecretBytes coefficients(static_cast<size_t>(t - 1) * kShamirSecretSize);
  if (rng) {
    rng(coefficients.Reveal(access));
  } else {
    crypto::RandomBytes(coefficients.Reveal(access));
  }

  std::vector<Share> shares;
  shares.reserve(static_cast<size_t>(n));
  const auto s = secret.Reveal(access);
  const auto a = std::as_const(coefficients).Reveal(access);
  for (int i = 1; i <= n; ++i) {
    Share share{static_cast<uint8_t>(i), SecretBytes(kShamirSecretSize)};
    auto y = share.y.Reveal(access);
    for (size_t j = 0; j < kShamirSecretSize; ++j) {
      y[j] = EvalByte(s, a, t, j, share.x);
    }
    shares.push_back(std::move(share));
  }
  return shares;  // coefficients are wiped by ~SecretBytes
}

Result<SecretBytes> Combine(std::span<const Share> shares, int t) {
  if (t < 2 || t > kShamirMaxShares) return Invalid("need 2 <= t <= 32");
  if (shares.size() < static_cast<size_t>(t)) return Invalid("too few shares");
  std::array<bool, 256> seen{};
  for (const Share& share : shares) {
    if (share.x == 0) return Invalid("share x must be nonzero");
    if (share.y.size() != kShamirSecretSize) return Invalid("share y must be 32 bytes");
    if (seen[share.x]) return Invalid("duplicate share x");
    seen[share.x] = true;
  }

  const SecretAccess access = SecretAccess::Grant();
  SecretBytes out(kShamirSecretSize);
  auto secret = out.Reveal(access);
  const size_t used = static_cast<size_t>(t);
  for (size_t i = 0; i < used; ++i) {
    // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); minus is XOR here.
    uint8_t numerator = 1;
    uint8_t denominator = 1;
    for (size_t j = 0; j < used; ++j) {
      if (j == i) continue;
      numerator = GfMul(numerator, shares[j].x);
      denominator = GfMul(denominator, static_cast<uint8_t>(shares[j].x ^ shares[i].x));
    }
    const uint8_t li = GfMul(numerator, GfInv(denominator));
    const auto y = shares[i].y.Reveal(access);
    for (size_t b = 0; b < kShamirSecretSize; ++b) secret[b] ^= GfMul(y[b], li);
  }
  return out;
}

Result<SecretBytes> EncodeShare(const Share& share) {
  if (share.x == 0) return Invalid("share x must be nonzero");
  if (share.y.size() != kShamirSecretSize) return Invalid("share y must be 32 bytes");
  const SecretAccess access = SecretAccess::Grant();
  SecretBytes wire(kShamirShareSize);
  auto w = wire.Reveal(access);
  w[0] = share.x;
  const auto y = share.y.Reveal(access);
  for (size_t j = 0; j < kShamirSecretSize; ++j) w[1 + j] = y[j];
  return wire;
}

Result<Share> DecodeShare(const SecretBytes& wire) {
  if (wire.size() != kShamirShareSize) return Invalid("encoded share must be 33 bytes");
  const SecretAccess access = SecretAccess::Grant();
  const auto w = wire.Reveal(access);
  if (w[0] == 0) return Invalid("share x must be nonzero");
  return Share{w[0], SecretBytes(access, w.subspan(1))};
}

}  // namespace onionmail::unseal
