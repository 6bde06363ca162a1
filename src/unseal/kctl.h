// KCTL certificates: orders to a peer about one partner server (disable, enable,
// reset credits, destroy its secret) or a read-only query of its counters,
// signed offline by the operator's Ed25519 KCTL key (docs/PROTOCOL.md, "KCTL
// certificates"). Pure encoding, signing and checking: no I/O, no state.
//
//   cert = 0x01 || server_id (32) || action (u8) || u64 serial || u64 not_before
//          || u64 not_after || u32 credits || signature (64)           = 126 bytes
//   signature = Ed25519(kctl key, "onionmail-kctl-v1" || 0x00 || cert[0..62))
//
// Contract:
//  - ParseKctl refuses any other length, a wrong version, an unknown action,
//    credits != 0 for an action other than reset-credits, a query with a serial
//    other than 0 or an order with serial 0, and not_before > not_after, with
//    kInvalidArgument. EncodeKctl/SignKctl refuse the same.
//  - VerifyKctl applies the peer's rules; each failure has its own code and message:
//      bad signature (or bad kctl_pub)       kUnauthenticated   "kctl: bad signature"
//      validity window longer than 30 days   kInvalidArgument   "kctl: validity window ..."
//        (a query: longer than one hour)
//      serial <= last applied serial         kAlreadyExists     "kctl: replayed serial"
//        (not for a query: it changes nothing and stays outside the serials)
//      now < not_before                      kFailedPrecondition "kctl: not yet valid"
//      now > not_after                       kDeadlineExceeded  "kctl: expired"
//    checked in that order. Looking up kctl_pub and last_serial for
//    cert.server_id (and refusing an unknown server_id) is the caller's job.
//  - The private key is the 32-byte Ed25519 seed (RFC 8032), held in SecretBytes;
//    its PEM form (PKCS#8 "PRIVATE KEY", unencrypted) is secret too and is only
//    returned or accepted as SecretBytes. Ed25519 signing is deterministic.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "unseal/torm_wire.h"

namespace onionmail::unseal {

inline constexpr uint8_t kKctlVersion = 1;
inline constexpr std::string_view kKctlSigningLabel = "onionmail-kctl-v1";
inline constexpr size_t kKctlSignatureSize = 64;
inline constexpr size_t kKctlSeedSize = 32;
inline constexpr size_t kKctlSignedSize = 1 + kPartnerIdSize + 1 + 8 + 8 + 8 + 4;  // 62
inline constexpr size_t kKctlCertSize = kKctlSignedSize + kKctlSignatureSize;      // 126
inline constexpr uint64_t kKctlMaxWindowSeconds = 30 * 24 * 3600;
// A query only reads counters, but whoever replays it within its window reads
// them too: its window is short.
inline constexpr uint64_t kKctlMaxQueryWindowSeconds = 3600;

enum class KctlAction : uint8_t {
  kDisable = 1,
  kEnable = 2,
  kResetCredits = 3,
  kDestroy = 4,
  kQuery = 5,  // read the partner's state and counters; changes nothing
};

struct KctlCert {
  PartnerId server_id{};  // SHA-256 of the server's RSA SubjectPublicKeyInfo
  KctlAction action = KctlAction::kDisable;
  uint64_t serial = 0;      // strictly increasing per server_id; 0 for a query
  uint64_t not_before = 0;  // unix seconds
  uint64_t not_after = 0;   // unix seconds, at most 30 days after not_before
  uint32_t credits = 0;     // new credit count for kResetCredits; 0 otherwise
  std::array<uint8_t, kKctlSignatureSize> signature{};
  bool operator==(const KctlCert&) const = default;
};

[[nodiscard]] Result<std::vector<uint8_t>> EncodeKctl(const KctlCert& cert);
[[nodiscard]] Result<KctlCert> ParseKctl(std::span<const uint8_t> wire);

// "onionmail-kctl-v1" || 0x00 || the first 62 bytes of the encoding (all but the
// signature, which is ignored here).
[[nodiscard]] Result<std::vector<uint8_t>> KctlSigningInput(const KctlCert& cert);

// Returns `cert` with its signature set (the incoming signature is ignored).
[[nodiscard]] Result<KctlCert> SignKctl(const SecretBytes& seed, KctlCert cert);

[[nodiscard]] Result<void> VerifyKctl(const KctlCert& cert, const KctlPublicKey& kctl_pub,
                                      uint64_t now_unix, uint64_t last_serial);

// A peer's answer to TORM KCTL, for every action (the query included):
//   u8 advanced (0/1) || u8 flags (bit 0 disabled, bit 1 destroyed, others 0)
//   || u32 credits_left || u64 answered_total || u64 last_answer_unix (0: never)
// big-endian, kKctlReplySize bytes (docs/PROTOCOL.md has test vectors).
// ParseKctlReply refuses any other length, advanced > 1 and reserved flag bits
// with kInvalidArgument.
inline constexpr size_t kKctlReplySize = 1 + 1 + 4 + 8 + 8;  // 22

struct KctlReply {
  bool advanced = false;  // false: the same certificate again, or a query
  bool disabled = false;
  bool destroyed = false;
  uint32_t credits_left = 0;
  uint64_t answered_total = 0;
  uint64_t last_answer_unix = 0;  // 0: never
  bool operator==(const KctlReply&) const = default;
};

std::vector<uint8_t> EncodeKctlReply(const KctlReply& reply);
[[nodiscard]] Result<KctlReply> ParseKctlReply(std::span<const uint8_t> wire);

struct KctlKeyPair {
  SecretBytes seed;  // kKctlSeedSize bytes
  KctlPublicKey pub{};
};

[[nodiscard]] Result<KctlKeyPair> GenerateKctlKey();
[[nodiscard]] Result<KctlPublicKey> KctlPublicKeyOf(const SecretBytes& seed);

// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted: the operator keeps the
// file offline. FromPem accepts only an Ed25519 private key and returns its seed.
[[nodiscard]] Result<SecretBytes> KctlPrivateKeyToPem(const SecretBytes& seed);
[[nodiscard]] Result<SecretBytes> KctlPrivateKeyFromPem(const SecretBytes& pem);

}  // namespace onionmail::unseal
