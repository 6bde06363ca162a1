// ClientLimits: how many connections the clients that do not connect from
// loopback (Internet MTAs reaching an enter gateway, docs/gateways.md) may
// hold at once: at most `total` together and at most `per_address` from one
// address, where an address is an IPv4 address or an IPv6 /64 (one site's
// hosts share a /64, and taking a new address in it costs nothing). Loopback
// clients (Tor's onion service, local programs) are never counted here, so a
// flood from the Internet cannot take the connections Tor users need.
// Optionally also how often one address may open a connection: at most
// `per_minute` new connections a minute (a bucket of `per_minute` tokens
// refilled evenly over a minute), so a client that connects, says nothing
// and reconnects cannot keep the others busy (Postfix's anvil does the same).
//
// Contract:
//  - Admit() gives a slot, held until the last copy of it is destroyed (on
//    any thread), or no slot and the limit that refused it. A refused
//    connection spends no token.
//  - Thread-safe. A slot keeps the object alive (shared_ptr), so slots may
//    outlive the acceptor that made them.
//  - An address is kept in memory, as a key of at most 8 bytes, while a
//    connection from it is open and, with a rate limit, until its bucket is
//    full again (found at the next sweep, at most a minute later); it is
//    never logged or passed on. At most kMaxTracked addresses are tracked;
//    when that many have open connections or recent ones, a new address is
//    admitted with no rate limit (the connection limits still hold).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

struct sockaddr_storage;

namespace onionmail::server {

class ClientLimits : public std::enable_shared_from_this<ClientLimits> {
 public:
  enum class Refusal { kNone, kTotal, kPerAddress, kRate };
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxTracked = 16384;
  struct Admission {
    std::shared_ptr<const void> slot;  // null when refused
    Refusal refusal = Refusal::kNone;
  };

  // `per_address` above `total` acts as `total`. Both are at least 1.
  // `per_minute`: new connections a minute from one address; 0: no limit.
  static std::shared_ptr<ClientLimits> Create(uint32_t total, uint32_t per_address,
                                              uint32_t per_minute = 0);

  [[nodiscard]] Admission Admit(const struct sockaddr_storage& addr, size_t len);
  // The same, for a key made by AddressKey(), at time `now` (tests).
  [[nodiscard]] Admission AdmitKey(const std::string& key, Clock::time_point now = Clock::now());

  // 4 bytes for IPv4 (and IPv4-mapped IPv6), the first 8 for other IPv6,
  // empty for anything else (all such clients then share one count).
  static std::string AddressKey(const struct sockaddr_storage& addr, size_t len);

  uint32_t active() const;
  // Distinct addresses kept (open connections, or a bucket not yet full).
  size_t addresses() const;

 private:
  struct PerKey {
    uint32_t open = 0;
    uint64_t units = 0;  // with a rate limit: kUnitsPerToken per connection it may open now
    Clock::time_point refilled{};  // when `units` was last brought up to date
  };
  // A token in bucket units: one minute in nanoseconds (each nanosecond
  // refills per_minute_ units), so refilling is exact.
  static constexpr uint64_t kUnitsPerToken = 60'000'000'000ull;
  uint64_t Capacity() const { return uint64_t{per_minute_} * kUnitsPerToken; }
  ClientLimits(uint32_t total, uint32_t per_address, uint32_t per_minute);
  void Release(const std::string& key);
  // Under mu_: brings `k`'s bucket up to `now`.
  void Refill(PerKey& k, Clock::time_point now) const;
  // Under mu_: forgets every address with nothing open and a full bucket.
  void Sweep(Clock::time_point now);

  const uint32_t total_;
  const uint32_t per_address_;
  const uint32_t per_minute_;
  mutable std::mutex mu_;
  uint32_t active_ = 0;
  std::map<std::string, PerKey> per_key_;
  Clock::time_point last_sweep_{};
};

}  // namespace onionmail::server
