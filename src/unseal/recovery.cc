// Printable break-glass recovery shares of the master key; see recovery.h.
#include "unseal/recovery.h"

#include <openssl/crypto.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "unseal/enrolment_record.h"
#include "unseal/shamir.h"

namespace onionmail::unseal {

namespace {

constexpr std::string_view kTag = "OMRS1";
constexpr size_t kGroup = 4;
constexpr size_t kChecksumSize = 4;
// After separators are removed: "omrs1" + 2 decimal digits + 64 + 8 hex digits.
constexpr size_t kCompactSize = 5 + 2 + 2 * kShamirSecretSize + 2 * kChecksumSize;

// Hex digit of a nibble without a table lookup: '0' + v, plus 39 to reach 'a' when v > 9.
uint8_t HexDigit(uint8_t nibble) {
  const int v = nibble & 0x0f;
  const int above9 = (9 - v) >> 31;  // -1 when v > 9, else 0 (arithmetic shift, C++20)
  return static_cast<uint8_t>('0' + v + (above9 & ('a' - '0' - 10)));
}

// Value of a hex digit (either case) without branches on the digit; *bad gets all bits set
// when it is not one.
uint8_t HexValue(uint8_t c, int* bad) {
  const int d = static_cast<int>(c) - '0';
  const int l = static_cast<int>(c | 0x20) - 'a';
  const int is_digit = ~((d | (9 - d)) >> 31);   // -1 when 0 <= d <= 9
  const int is_letter = ~((l | (5 - l)) >> 31);  // -1 when 0 <= l <= 5
  *bad |= ~(is_digit | is_letter);
  return static_cast<uint8_t>((d & is_digit) | ((l + 10) & is_letter));
}

bool IsSeparator(uint8_t c) { return c == '-' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// First 4 bytes of SHA-256("OMRS1" || x || y).
std::array<uint8_t, kChecksumSize> Checksum(uint8_t x, std::span<const uint8_t> y) {
  const SecretAccess access = SecretAccess::Grant();
  SecretBytes input(kTag.size() + 1 + y.size());
  auto in = input.Reveal(access);
  std::copy(kTag.begin(), kTag.end(), in.begin());
  in[kTag.size()] = x;
  std::copy(y.begin(), y.end(), in.begin() + kTag.size() + 1);
  crypto::Digest digest = crypto::Sha256(in);
  std::array<uint8_t, kChecksumSize> out;
  std::copy(digest.begin(), digest.begin() + kChecksumSize, out.begin());
  WipeMemory(digest.data(), digest.size());
  return out;
}

// Appends bytes as hex in groups of 4 digits, each group preceded by '-'.
void PutGroupedHex(std::span<const uint8_t> bytes, std::span<uint8_t> out, size_t* pos) {
  for (size_t i = 0; i < bytes.size() * 2; ++i) {
    if (i % kGroup == 0) out[(*pos)++] = '-';
    const uint8_t b = bytes[i / 2];
    out[(*pos)++] = HexDigit(i % 2 == 0 ? static_cast<uint8_t>(b >> 4) : b);
  }
}

Error Bad(size_t position, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "recovery share " + std::to_string(position + 1) + ": " + what);
}

// Parses one printed share; `position` is its 0-based place in the caller's list.
Result<Share> ParseShare(const SecretBytes& text, size_t position) {
  const SecretAccess access = SecretAccess::Grant();
  SecretBytes compact(kCompactSize);
  auto out = compact.Reveal(access);
  size_t used = 0;
  for (uint8_t c : text.Reveal(access)) {
    if (IsSeparator(c)) continue;
    if (used == kCompactSize) return Bad(position, "too long (typing error?)");
    out[used++] = c;
  }
  if (used != kCompactSize) return Bad(position, "too short (typing error?)");
  for (size_t i = 0; i < kTag.size(); ++i) {
    const uint8_t want = static_cast<uint8_t>(kTag[i]);
    const uint8_t got = (want >= 'A' && want <= 'Z') ? (out[i] & 0xdf) : out[i];
    if (got != want) return Bad(position, "not an OMRS1 recovery share");
  }
  const uint8_t tens = out[kTag.size()], units = out[kTag.size() + 1];
  if (tens < '0' || tens > '9' || units < '0' || units > '9') {
    return Bad(position, "share number must be two decimal digits");
  }
  const int x = (tens - '0') * 10 + (units - '0');
  if (x < 1 || x > kShamirMaxShares) return Bad(position, "share number out of range 01..32");

  Share share{static_cast<uint8_t>(x), SecretBytes(kShamirSecretSize)};
  auto y = share.y.Reveal(access);
  int bad = 0;
  const size_t hex_start = kTag.size() + 2;
  for (size_t j = 0; j < kShamirSecretSize; ++j) {
    y[j] = static_cast<uint8_t>((HexValue(out[hex_start + 2 * j], &bad) << 4) |
                                HexValue(out[hex_start + 2 * j + 1], &bad));
  }
  std::array<uint8_t, kChecksumSize> given;
  const size_t sum_start = hex_start + 2 * kShamirSecretSize;
  for (size_t j = 0; j < kChecksumSize; ++j) {
    given[j] = static_cast<uint8_t>((HexValue(out[sum_start + 2 * j], &bad) << 4) |
                                    HexValue(out[sum_start + 2 * j + 1], &bad));
  }
  if (bad != 0) return Bad(position, "invalid character (hex digits 0-9 a-f expected)");
  const auto want = Checksum(share.x, std::as_const(share.y).Reveal(access));
  if (CRYPTO_memcmp(want.data(), given.data(), kChecksumSize) != 0) {
    return Bad(position, "checksum mismatch (typing error?)");
  }
  return share;
}

}  // namespace

Result<std::vector<SecretBytes>> ExportRecoveryShares(const SecretBytes& master_key, int t_r,
                                                      int n_r) {
  if (master_key.size() != kShamirSecretSize) {
    return MakeError(ErrorCode::kInvalidArgument, "recovery: master key must be 32 bytes");
  }
  auto shares = Split(master_key, t_r, n_r);
  if (!shares.ok()) return shares.error();
  const SecretAccess access = SecretAccess::Grant();
  std::vector<SecretBytes> out;
  for (const Share& share : *shares) {
    SecretBytes text(kRecoveryShareTextSize);
    auto t = text.Reveal(access);
    size_t pos = 0;
    for (char c : kTag) t[pos++] = static_cast<uint8_t>(c);
    t[pos++] = '-';
    t[pos++] = static_cast<uint8_t>('0' + share.x / 10);
    t[pos++] = static_cast<uint8_t>('0' + share.x % 10);
    PutGroupedHex(share.y.Reveal(access), t, &pos);
    const auto sum = Checksum(share.x, share.y.Reveal(access));
    PutGroupedHex(sum, t, &pos);
    ONIONMAIL_CHECK(pos == kRecoveryShareTextSize);
    out.push_back(std::move(text));
  }
  return out;
}

Result<SecretBytes> ImportRecoveryShares(std::span<const SecretBytes> strings,
                                         const crypto::Digest& commitment) {
  if (strings.size() < 2) {
    return MakeError(ErrorCode::kInvalidArgument, "recovery: need at least 2 recovery shares");
  }
  if (strings.size() > static_cast<size_t>(kShamirMaxShares)) {
    return MakeError(ErrorCode::kInvalidArgument, "recovery: more than 32 recovery shares");
  }
  std::vector<Share> shares;
  std::array<size_t, kShamirMaxShares + 1> first_seen{};  // x -> 1-based position, 0 = none
  for (size_t i = 0; i < strings.size(); ++i) {
    auto share = ParseShare(strings[i], i);
    if (!share.ok()) return share.error();
    if (first_seen[share->x] != 0) {
      return Bad(i, "share number " + std::to_string(share->x) + " already given as share " +
                        std::to_string(first_seen[share->x]));
    }
    first_seen[share->x] = i + 1;
    shares.push_back(std::move(*share));
  }
  auto combined = Combine(shares, static_cast<int>(shares.size()));
  if (!combined.ok()) return combined.error();
  auto check = MasterKeyCommitment(*combined);
  if (!check.ok()) return check.error();
  if (CRYPTO_memcmp(check->data(), commitment.data(), commitment.size()) != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "recovery: the shares do not give the enrolled master key (too few shares, "
                     "or shares of another split)");
  }
  return combined;
}

}  // namespace onionmail::unseal
