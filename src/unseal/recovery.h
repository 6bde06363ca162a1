// Break-glass recovery of the master key M: a t_r-of-n_r Shamir split (shamir.h) of M into
// printable strings that the operator writes down or prints and keeps offline. Any t_r of
// them give M back without the peers (the device is still needed for everything M protects).
//
// Printed form of one recovery share (98 ASCII characters, lower-case hex):
//
//   OMRS1-XX-yyyy-yyyy-yyyy-yyyy-yyyy-yyyy-yyyy-yyyy-
//            yyyy-yyyy-yyyy-yyyy-yyyy-yyyy-yyyy-yyyy-cccc-cccc
//   (one line, broken here only to fit the page)
//
//   "OMRS1"  format tag and version
//   XX       the share's x, two decimal digits, 01..32
//   y...     the share's 32-byte y value as 64 hex digits, in 16 groups of 4
//   cccccccc checksum: the first 4 bytes of SHA-256("OMRS1" || u8 x || y (32 bytes)), as 8 hex
//            digits in 2 groups of 4 (catches typing errors; it is not a MAC)
//
// Import is lenient about presentation: case is ignored, and the group separators '-',
// spaces, tabs and line breaks may be used, repeated or left out anywhere; after removing
// them exactly "omrs1" + 2 decimal digits + 72 hex digits must remain.
//
// Contract:
//  - Export: M must be 32 bytes, 2 <= t_r <= n_r <= 32 (kInvalidArgument). Shares are x =
//    1..n_r. The strings are secret (t_r of them are M): they are returned in SecretBytes and
//    never pass through std::string.
//  - Import(strings, commitment): every string is parsed and its checksum checked first; a
//    malformed string or a checksum mismatch is kInvalidArgument naming the share by its
//    1-based position in `strings` ("recovery share 2: checksum mismatch (typing error?)").
//    Repeated x values are refused. All given shares are combined (Lagrange over all of
//    them: any t_r or more shares of one split give M), then the result is checked against
//    the enrolment commitment (HMAC-SHA256(M, "onionmail-master-commit-v1"), compared with
//    CRYPTO_memcmp): a mismatch is kInvalidArgument "too few shares, or shares of another
//    split". Error messages never contain share bytes.
//  - Hex encoding and decoding of share bytes do not index tables by secret data.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/kdf.h"

namespace onionmail::unseal {

inline constexpr size_t kRecoveryShareTextSize = 98;

[[nodiscard]] Result<std::vector<SecretBytes>> ExportRecoveryShares(const SecretBytes& master_key,
                                                                    int t_r, int n_r);

[[nodiscard]] Result<SecretBytes> ImportRecoveryShares(std::span<const SecretBytes> strings,
                                                       const crypto::Digest& commitment);

}  // namespace onionmail::unseal
