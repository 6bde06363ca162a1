// Partner records: what a peer keeps, sealed on disk, for each server that
// enrolled with it (TORM PUSH) for the master-key unseal. Encoding, sealing and
// file naming only; the decisions on PUSH / DERK / STAT / KCTL are in
// unseal/partner_store.h.
//
// Contract:
//  - A record is either live (holds the partner's secret scalar s, S = s*G, the
//    partner's RSA SPKI, its KCTL key, counters and forward list) or a tombstone
//    (after a KCTL destroy: partner_id, KCTL key and counters, never s).
//  - File name = lower-case hex of KeyStore::KeyedHash(purpose, partner_id) with
//    purpose kLivePurpose or kTombstonePurpose, so the disk does not show which
//    servers are partners. Content, with aad = "onionmail-partner-v1" || file
//    hash (32 bytes):
//      live      = 0x02 || u64 epoch || KeyStore::SealErasable(epoch, encoding, aad)
//      tombstone = 0x01 || KeyStore::SealRecord(encoding, aad)
//    so that erasing the epoch in the device (crypto-shred, partner_store.h)
//    makes every copy of a live record unreadable; tombstones hold no secret. The aad binds the
//    keyed hash of partner_id rather than partner_id itself, so that records can
//    be loaded without knowing the partner ids in advance; OpenPartnerRecord()
//    checks that the decoded partner_id and kind hash to the file's name, so a
//    record cannot be moved to another partner's or kind's name.
//  - Encoding (integers big-endian, "v8"/"v16" = 1/2-byte length then bytes):
//      common    = u8 version (1) || u8 kind (1 live, 2 tombstone) || partner_id (32)
//                  || kctl_pub (32) || u64 enrolled_unix || u64 answered_total
//                  || u64 last_answer_unix || u64 last_kctl_serial
//                  || u8 last_kctl_action (0 none) || u32 last_kctl_credits
//      live      = common || v16 spki_der || s (32) || S (65) || v8 peer_id || u8 t
//                  || u8 n || u32 credits_left || u8 flags (bit0 disabled)
//                  || u8 count || count * (v8 address || pin (32))
//      tombstone = common || u64 destroyed_unix || u64 shred epoch (the epoch the
//                  live record was sealed under; it must be erased)
//    The plaintext (holding s) exists only in SecretBytes. Decoding refuses
//    short input, trailing bytes and out-of-range values with kDataLoss.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "hsm/key_store.h"
#include "unseal/ecmr.h"
#include "unseal/kctl.h"
#include "unseal/torm_wire.h"

namespace onionmail::unseal {

inline constexpr size_t kMaxPartnerSpkiSize = 4096;
inline constexpr std::string_view kPartnerLivePurpose = "onionmail partner v1";
inline constexpr std::string_view kPartnerTombstonePurpose = "onionmail partner tombstone v1";
inline constexpr std::string_view kPartnerAadLabel = "onionmail-partner-v1";

// PartnerId (SHA-256 of the partner's RSA SPKI), KctlPublicKey and ForwardPeer
// come from unseal/torm_wire.h, KctlAction from unseal/kctl.h.
using PartnerFileHash = std::array<uint8_t, 32>;

// The fields a DERK or a KCTL changes (copied to roll back a failed write).
struct PartnerState {
  uint32_t credits_left = 0;
  uint64_t answered_total = 0;
  uint64_t last_answer_unix = 0;
  bool disabled = false;
  uint64_t last_kctl_serial = 0;
  uint8_t last_kctl_action = 0;  // 0: none applied yet
  uint32_t last_kctl_credits = 0;
};

struct PartnerRecord {
  bool destroyed = false;  // tombstone: spki_der, s, S, peer_id, forwards are empty
  PartnerId partner_id{};
  KctlPublicKey kctl_pub{};
  uint64_t enrolled_unix = 0;
  uint64_t destroyed_unix = 0;  // tombstones only
  // Live: the erasable epoch the file is sealed under (from the file header,
  // not in the encoding). Tombstone: the epoch the destroyed live record was
  // sealed under, which must be erased (encoded).
  uint64_t erasable_epoch = 0;
  PartnerState state;
  std::vector<uint8_t> spki_der;
  SecretBytes s;  // kScalarSize bytes (live only)
  Point S{};
  std::string peer_id;  // what the partner calls us (bound into its K_i)
  uint8_t t = 0;
  uint8_t n = 0;
  std::vector<ForwardPeer> forwards;
};

// Checks the non-secret fields of a live record (spki size, peer_id 1..255
// bytes, 2 <= t <= n <= 32, at most 32 forwards whose addresses are 1..255
// bytes of printable ASCII without spaces, last_kctl_action <= 4);
// kInvalidArgument with the reason.
[[nodiscard]] Result<void> CheckPartnerFields(const PartnerRecord& record);

[[nodiscard]] Result<SecretBytes> EncodePartnerRecord(const PartnerRecord& record);
[[nodiscard]] Result<PartnerRecord> DecodePartnerRecord(std::span<const uint8_t> encoded);

// KeyedHash(kind purpose, partner_id); its hex is the file name.
[[nodiscard]] Result<PartnerFileHash> PartnerFileHashOf(hsm::KeyStore& keys,
                                                        const PartnerId& partner_id,
                                                        bool tombstone);
std::vector<uint8_t> PartnerRecordAad(const PartnerFileHash& file_hash);

// Encode + SealRecord under the aad of the record's own file name.
[[nodiscard]] Result<std::vector<uint8_t>> SealPartnerRecord(hsm::KeyStore& keys,
                                                             const PartnerRecord& record);
// The erasable epoch in a live record file's header; 0 for a tombstone or an
// unrecognised file. Reads only the clear header.
uint64_t PartnerFileEpoch(std::span<const uint8_t> sealed);

// OpenRecord + decode + check that the record's partner_id and kind hash to
// `file_hash` (kDataLoss otherwise).
[[nodiscard]] Result<PartnerRecord> OpenPartnerRecord(hsm::KeyStore& keys,
                                                      std::span<const uint8_t> sealed,
                                                      const PartnerFileHash& file_hash);

}  // namespace onionmail::unseal
