// Argument handling for the unseal commands (see unseal_args.h).
#include "ctl/unseal_args.h"

#include <cctype>
#include <ctime>
#include <limits>

#include "crypto/hex.h"
#include "unseal/torm_wire.h"

namespace onionmail::ctl {
namespace {

Error Bad(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "host:port" with a non-empty host (IPv6 in brackets) and port 1..65535.
Result<void> CheckAddress(std::string_view address) {
  if (address.empty() || address.size() > unseal::kMaxAddressSize) {
    return Bad("peer address must be 1 to 255 bytes");
  }
  for (char c : address) {
    if (c <= 0x20 || c >= 0x7f) {
      return Bad("peer address must be printable ASCII without spaces");
    }
  }
  std::string_view host;
  std::string_view port;
  if (address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return Bad("peer address: an IPv6 address is written [addr]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return Bad("peer address must be HOST:PORT");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Bad("peer address: write an IPv6 address as [addr]:port");
    }
  }
  if (host.empty()) return Bad("peer address has an empty host");
  auto p = ParseUnsigned(port, 1, 65535, "peer port");
  if (!p.ok()) return p.error();
  return Ok();
}

}  // namespace

Result<std::optional<std::string>> CommandLine::One(const std::string& name) const {
  auto range = options.equal_range(name);
  if (range.first == range.second) return std::optional<std::string>();
  if (std::next(range.first) != range.second) return Bad(name + " given more than once");
  return std::optional<std::string>(range.first->second);
}

std::vector<std::string> CommandLine::All(const std::string& name) const {
  std::vector<std::string> out;
  auto range = options.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

Result<CommandLine> ParseCommandLine(std::span<const std::string> args,
                                     const std::set<std::string>& valued,
                                     const std::set<std::string>& flags) {
  CommandLine out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config" || valued.count(a) > 0) {
      if (i + 1 >= args.size()) return Bad(a + " needs a value");
      const std::string& v = args[++i];
      if (a == "--config") {
        if (!out.config_path.empty()) return Bad("--config given more than once");
        out.config_path = v;
      } else {
        out.options.emplace(a, v);
      }
    } else if (flags.count(a) > 0) {
      out.flags.insert(a);
    } else if (a.rfind("--", 0) == 0) {
      return Bad("unknown option " + a);
    } else {
      out.positional.push_back(a);
    }
  }
  return out;
}

Result<std::array<uint8_t, 32>> ParseHex32(std::string_view hex, std::string_view what) {
  auto bytes = hex.size() == 64 ? crypto::FromHex(hex) : std::nullopt;
  if (!bytes || bytes->size() != 32) {
    return Bad(std::string(what) + " must be 64 hex digits (a SHA-256)");
  }
  std::array<uint8_t, 32> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

Result<PeerSpec> ParsePeerSpec(std::string_view text) {
  size_t eq = text.rfind('=');
  if (eq == std::string_view::npos) {
    return Bad("a peer is HOST:PORT=PIN (PIN: the peer's `onionmailctl pin`)");
  }
  PeerSpec spec;
  spec.address = std::string(text.substr(0, eq));
  ONIONMAIL_RETURN_IF_ERROR(CheckAddress(spec.address));
  auto pin = ParseHex32(text.substr(eq + 1), "peer pin");
  if (!pin.ok()) return pin.error();
  spec.pin = *pin;
  return spec;
}

Result<std::vector<PeerSpec>> ParsePeerSpecs(const std::vector<std::string>& texts) {
  std::vector<PeerSpec> out;
  for (const std::string& t : texts) {
    auto spec = ParsePeerSpec(t);
    if (!spec.ok()) return spec.error();
    for (const PeerSpec& seen : out) {
      if (seen.address == spec->address) return Bad("peer " + seen.address + " given twice");
    }
    out.push_back(std::move(*spec));
  }
  return out;
}

Result<uint64_t> ParseUnsigned(std::string_view text, uint64_t min, uint64_t max,
                               std::string_view what) {
  const std::string range = std::string(what) + " must be a number from " + std::to_string(min) +
                            " to " + std::to_string(max);
  if (!AllDigits(text) || text.size() > 20) return Bad(range);
  uint64_t v = 0;
  for (char c : text) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return Bad(range);
    v = v * 10 + d;
  }
  if (v < min || v > max) return Bad(range);
  return v;
}

Result<RecoverySplit> ParseRecoverySplit(std::string_view text) {
  size_t slash = text.find('/');
  const std::string usage =
      "--recovery is TR/NR: any TR of NR printed shares give the key "
      "(2 <= TR <= NR <= 32)";
  if (slash == std::string_view::npos) return Bad(usage);
  auto t = ParseUnsigned(text.substr(0, slash), 2, unseal::kMaxShares, "TR");
  auto n = ParseUnsigned(text.substr(slash + 1), 2, unseal::kMaxShares, "NR");
  if (!t.ok() || !n.ok() || *t > *n) return Bad(usage);
  return RecoverySplit{static_cast<int>(*t), static_cast<int>(*n)};
}

Result<unseal::KctlAction> ParseKctlAction(std::string_view text) {
  using unseal::KctlAction;
  if (text == "disable") return KctlAction::kDisable;
  if (text == "enable") return KctlAction::kEnable;
  if (text == "reset-credits") return KctlAction::kResetCredits;
  if (text == "destroy") return KctlAction::kDestroy;
  if (text == "query") return KctlAction::kQuery;
  return Bad("--action is disable, enable, reset-credits, destroy or query");
}

std::string_view KctlActionName(unseal::KctlAction action) {
  switch (action) {
    case unseal::KctlAction::kDisable:
      return "disable";
    case unseal::KctlAction::kEnable:
      return "enable";
    case unseal::KctlAction::kResetCredits:
      return "reset-credits";
    case unseal::KctlAction::kDestroy:
      return "destroy";
    case unseal::KctlAction::kQuery:
      return "query";
  }
  return "unknown";
}

Result<unseal::KctlCert> BuildKctlOrder(const KctlOrder& order, uint64_t now_unix) {
  unseal::KctlCert cert;
  cert.server_id = order.server_id;
  cert.action = order.action;
  if (order.action == unseal::KctlAction::kQuery) {
    if (order.serial != 0) {
      return Bad("a query takes no --serial: it changes nothing and consumes no serial");
    }
    if (order.credits) return Bad("--credits goes with --action reset-credits only");
    if (order.valid_hours) {
      return Bad("a query takes no --valid-hours: it is valid for " +
                 std::to_string(kKctlQueryWindowSeconds / 60) +
                 " minutes (peers refuse queries valid for more than one hour)");
    }
    if (now_unix < kKctlQuerySkewSeconds) return Bad("the clock is not set");
    cert.serial = 0;
    cert.not_before = now_unix - kKctlQuerySkewSeconds;
    cert.not_after = cert.not_before + kKctlQueryWindowSeconds;
    return cert;
  }
  if (order.serial == 0) {
    return Bad("--serial must be at least 1 and above every serial used before for this server");
  }
  const uint64_t hours = order.valid_hours.value_or(kKctlDefaultValidHours);
  if (hours < 1 || hours > kKctlMaxValidHours) {
    return Bad("--valid-hours must be from 1 to " + std::to_string(kKctlMaxValidHours) +
               " (peers refuse certificates valid for more than 30 days)");
  }
  cert.serial = order.serial;
  if (order.action == unseal::KctlAction::kResetCredits) {
    if (!order.credits || *order.credits < 1 ||
        *order.credits > std::numeric_limits<uint32_t>::max()) {
      return Bad("reset-credits needs --credits N (1 to 4294967295)");
    }
    cert.credits = static_cast<uint32_t>(*order.credits);
  } else if (order.credits) {
    return Bad("--credits goes with --action reset-credits only");
  }
  if (now_unix < kKctlClockSkewSeconds) return Bad("the clock is not set");
  cert.not_before = now_unix - kKctlClockSkewSeconds;
  cert.not_after = cert.not_before + hours * 3600;
  return cert;
}

std::string UtcIso8601(uint64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr)
    return "(time out of range: " + std::to_string(unix_seconds) + ")";
  char buf[64];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return "(time out of range: " + std::to_string(unix_seconds) + ")";
  }
  return buf;
}

std::string DescribeKctlReply(const KctlReply& reply, unseal::KctlAction action) {
  std::string out;
  if (action != unseal::KctlAction::kQuery) {
    out = reply.advanced ? "applied, " : "already applied, ";
  }
  out += std::string("disabled ") + (reply.disabled ? "yes" : "no");
  out += std::string(", destroyed ") + (reply.destroyed ? "yes" : "no");
  out += ", credits left " + std::to_string(reply.credits_left);
  out += ", answered total " + std::to_string(reply.answered_total);
  out += ", last answer " +
         (reply.last_answer_unix == 0 ? std::string("never") : UtcIso8601(reply.last_answer_unix));
  return out;
}

}  // namespace onionmail::ctl
