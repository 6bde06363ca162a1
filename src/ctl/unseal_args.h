// Pure argument handling for onionmailctl's unseal commands (pin, enrol, recover, kctl,
// docs/unseal.md): the command line with repeatable options, peer specifications
// "HOST:PORT=PINHEX", numbers with ranges, the recovery split "TR/NR", KCTL orders and queries,
// and the 22-byte KCTL reply. No I/O, no state, no secrets.
//
// Contract:
//  - ParseCommandLine: "--config FILE" may appear anywhere; every other option must be
//    listed in `valued` (takes the next argument, may repeat) or `flags` (no argument);
//    anything else starting with "--" is kInvalidArgument naming it. Non-option words are
//    positional, in order.
//  - ParsePeerSpec: "HOST:PORT=PINHEX", split at the last '='. HOST:PORT is what the peer
//    is called for ever after (it becomes the peer_id bound into its share key, so
//    "127.0.0.1:25" and "localhost:25" are different peers): 1..255 printable ASCII bytes
//    without spaces, a non-empty host (IPv6 in brackets) and a decimal port 1..65535.
//    PINHEX is exactly 64 hex digits (either case). kInvalidArgument otherwise.
//  - ParseUnsigned: decimal digits only, within [min, max]; the message names `what`.
//  - BuildKctlOrder: checks an operator's order and returns the unsigned certificate.
//    An order (disable, enable, reset-credits, destroy): serial >= 1; valid_hours 1..720
//    (default 24; the peers refuse windows over 30 days); credits required (1..2^32-1) for
//    reset-credits and refused for the other actions; not_before = now -
//    kKctlClockSkewSeconds (so a peer whose clock is a little behind accepts it at once),
//    not_after = not_before + valid_hours * 3600.
//    A query: serial 0 (it consumes none), no credits, no valid_hours (kInvalidArgument for
//    each); not_before = now - kKctlQuerySkewSeconds, not_after = not_before +
//    kKctlQueryWindowSeconds (10 minutes, within the peers' one-hour limit for queries).
//  - ParseKctlReply / KctlReply: see unseal/kctl.h (22 bytes).
//  - DescribeKctlReply: the text onionmailctl kctl prints after "peer ADDRESS: ", e.g.
//    "applied, disabled yes, destroyed no, credits left 997, answered total 3, last answer
//    2026-01-31T12:00:00Z"; for a query the first word ("applied" / "already applied") is
//    left out; a last answer of 0 reads "never". UtcIso8601 gives "YYYY-MM-DDTHH:MM:SSZ".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "unseal/kctl.h"

namespace onionmail::ctl {

struct CommandLine {
  std::string config_path;  // empty: not given
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> options;  // "--x" -> each value, in order
  std::set<std::string> flags;

  // The single value of `name`; kInvalidArgument if it was given more than once.
  [[nodiscard]] Result<std::optional<std::string>> One(const std::string& name) const;
  std::vector<std::string> All(const std::string& name) const;
  bool Has(const std::string& name) const { return flags.count(name) > 0; }
};

[[nodiscard]] Result<CommandLine> ParseCommandLine(std::span<const std::string> args,
                                                   const std::set<std::string>& valued,
                                                   const std::set<std::string>& flags);

struct PeerSpec {
  std::string address;            // "host:port" exactly as given
  std::array<uint8_t, 32> pin{};  // SHA-256 of the peer's TLS SubjectPublicKeyInfo
};

[[nodiscard]] Result<PeerSpec> ParsePeerSpec(std::string_view text);
// Every spec parsed; the same address twice is kInvalidArgument.
[[nodiscard]] Result<std::vector<PeerSpec>> ParsePeerSpecs(const std::vector<std::string>& texts);

// 64 hex digits -> 32 bytes.
[[nodiscard]] Result<std::array<uint8_t, 32>> ParseHex32(std::string_view hex,
                                                         std::string_view what);

[[nodiscard]] Result<uint64_t> ParseUnsigned(std::string_view text, uint64_t min, uint64_t max,
                                             std::string_view what);

struct RecoverySplit {
  int t = 0;
  int n = 0;
};
// "TR/NR" with 2 <= TR <= NR <= 32.
[[nodiscard]] Result<RecoverySplit> ParseRecoverySplit(std::string_view text);

// "disable", "enable", "reset-credits", "destroy", "query".
[[nodiscard]] Result<unseal::KctlAction> ParseKctlAction(std::string_view text);
std::string_view KctlActionName(unseal::KctlAction action);

inline constexpr uint64_t kKctlDefaultValidHours = 24;
inline constexpr uint64_t kKctlMaxValidHours = unseal::kKctlMaxWindowSeconds / 3600;  // 720
inline constexpr uint64_t kKctlClockSkewSeconds = 300;
// A query's window: short (whoever replays it within the window reads the counters too),
// and starting a little in the past for peers whose clock is behind.
inline constexpr uint64_t kKctlQuerySkewSeconds = 60;
inline constexpr uint64_t kKctlQueryWindowSeconds = 600;
static_assert(kKctlQueryWindowSeconds <= unseal::kKctlMaxQueryWindowSeconds);

struct KctlOrder {
  std::array<uint8_t, 32> server_id{};
  unseal::KctlAction action = unseal::KctlAction::kDisable;
  uint64_t serial = 0;                  // 0 for a query
  std::optional<uint64_t> credits;      // reset-credits only
  std::optional<uint64_t> valid_hours;  // orders only; default kKctlDefaultValidHours
};

[[nodiscard]] Result<unseal::KctlCert> BuildKctlOrder(const KctlOrder& order, uint64_t now_unix);

// The reply's wire format lives with the certificates (unseal/kctl.h).
using unseal::KctlReply;
using unseal::kKctlReplySize;
using unseal::ParseKctlReply;

std::string UtcIso8601(uint64_t unix_seconds);
std::string DescribeKctlReply(const KctlReply& reply, unseal::KctlAction action);

}  // namespace onionmail::ctl
