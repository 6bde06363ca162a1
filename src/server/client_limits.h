// ClientLimits: how many connections the clients that do not connect from
// loopback (Internet MTAs reaching an enter gateway, docs/gateways.md) may
// hold at once: at most `total` together and at most `per_address` from one
// address, where an address is an IPv4 address or an IPv6 /64 (one site's
// hosts share a /64, and taking a new address in it costs nothing). Loopback
// clients (Tor's onion service, local programs) are never counted here, so a
// flood from the Internet cannot take the connections Tor users need.
//
// Contract:
//  - Admit() gives a slot, held until the last copy of it is destroyed (on
//    any thread), or no slot and the limit that refused it.
//  - Thread-safe. A slot keeps the object alive (shared_ptr), so slots may
//    outlive the acceptor that made them.
//  - An address is kept in memory only while a connection from it is open,
//    as a key of at most 8 bytes; it is never logged or passed on.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

struct sockaddr_storage;

namespace onionmail::server {

class ClientLimits : public std::enable_shared_from_this<ClientLimits> {
 public:
  enum class Refusal { kNone, kTotal, kPerAddress };
  struct Admission {
    std::shared_ptr<const void> slot;  // null when refused
    Refusal refusal = Refusal::kNone;
  };

  // `per_address` above `total` acts as `total`. Both are at least 1.
  static std::shared_ptr<ClientLimits> Create(uint32_t total, uint32_t per_address);

  [[nodiscard]] Admission Admit(const struct sockaddr_storage& addr, size_t len);
  // The same, for a key made by AddressKey() (tests).
  [[nodiscard]] Admission AdmitKey(const std::string& key);

  // 4 bytes for IPv4 (and IPv4-mapped IPv6), the first 8 for other IPv6,
  // empty for anything else (all such clients then share one count).
  static std::string AddressKey(const struct sockaddr_storage& addr, size_t len);

  uint32_t active() const;
  // Distinct addresses with a connection open (tests: nothing is kept).
  size_t addresses() const;

 private:
  ClientLimits(uint32_t total, uint32_t per_address);
  void Release(const std::string& key);

  const uint32_t total_;
  const uint32_t per_address_;
  mutable std::mutex mu_;
  uint32_t active_ = 0;
  std::map<std::string, uint32_t> per_key_;
};

}  // namespace onionmail::server
