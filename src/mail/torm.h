// The TORM peer service as the SMTP front end sees it (docs/PROTOCOL.md,
// "TORM over SMTP"): a peer server sends `TORM <verb> <base64 blob>` inside
// TLS 1.3, and gets back either a reply blob or a refusal with one of a fixed
// set of reasons. The front end only moves bytes: parsing, signature checks,
// partner records and KCTL certificates live in the key role
// (src/server/torm_handler.h), so this header has no crypto.
//
// Contract:
//  - TormVerb values are the wire values of docs/PROTOCOL.md (PUSH, DERK and
//    STAT are signed requests; KCTL carries an operator certificate).
//  - Every refusal is a TormOutcome; TormOutcomeKeyword() gives the fixed,
//    lower-case keyword the SMTP reply carries, never attacker input.
//  - TormService::Handle() returns an Error only for local failures (key role
//    unreachable): the session answers 451 and stays up.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace onionmail::mail {

enum class TormVerb : uint8_t { kPush = 1, kDerk = 2, kStat = 3, kKctl = 4 };
inline constexpr uint8_t kMaxTormVerb = 4;

enum class TormOutcome : uint8_t {
  kOk = 0,
  kBadRequest,       // malformed blob
  kBadSignature,     // signature, key size or channel binding wrong
  kUnknownPartner,   // no record for this server
  kAlreadyEnrolled,  // PUSH for a partner that exists (or was destroyed)
  kDisabled,         // KCTL disable in force
  kNoCredits,        // the operator's DERK limit is used up
  kRateLimited,      // too many requests; temporary
  kReplayed,         // KCTL serial not above the last one applied
  kExpired,          // KCTL certificate outside its validity window
  kTooManyPartners,  // this peer's partner table is full
  kNotOffered,       // this server does not serve TORM (or not over this TLS)
  kTemporary,        // local failure; try later
  kDestroyed,        // KCTL destroy: this peer's secret for the server is gone
};
inline constexpr uint8_t kMaxTormOutcome = static_cast<uint8_t>(TormOutcome::kDestroyed);

inline constexpr size_t kChannelBindingBytes = 32;
inline constexpr size_t kMaxTormBlobBytes = 16384;  // base64: 21848 chars

using ChannelBinding = std::array<uint8_t, kChannelBindingBytes>;

constexpr std::string_view TormOutcomeKeyword(TormOutcome outcome) {
  switch (outcome) {
    case TormOutcome::kOk:
      return "ok";
    case TormOutcome::kBadRequest:
      return "bad-request";
    case TormOutcome::kBadSignature:
      return "bad-signature";
    case TormOutcome::kUnknownPartner:
      return "unknown-partner";
    case TormOutcome::kAlreadyEnrolled:
      return "already-enrolled";
    case TormOutcome::kDisabled:
      return "disabled";
    case TormOutcome::kNoCredits:
      return "no-credits";
    case TormOutcome::kRateLimited:
      return "rate-limited";
    case TormOutcome::kReplayed:
      return "replayed";
    case TormOutcome::kExpired:
      return "expired";
    case TormOutcome::kTooManyPartners:
      return "too-many-partners";
    case TormOutcome::kNotOffered:
      return "not-offered";
    case TormOutcome::kTemporary:
      return "temporary";
    case TormOutcome::kDestroyed:
      return "destroyed";
  }
  return "unknown";
}

struct TormAnswer {
  TormOutcome outcome = TormOutcome::kOk;
  std::vector<uint8_t> reply;  // only with kOk; at most kMaxTormBlobBytes
};

class TormService {
 public:
  virtual ~TormService() = default;
  [[nodiscard]] virtual Result<TormAnswer> Handle(TormVerb verb, const ChannelBinding& binding,
                                                  std::span<const uint8_t> request) = 0;
};

}  // namespace onionmail::mail
