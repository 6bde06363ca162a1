// ClientLimits implementation.
#include "server/client_limits.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace onionmail::server {

ClientLimits::ClientLimits(uint32_t total, uint32_t per_address, uint32_t per_minute)
    : total_(std::max<uint32_t>(total, 1)),
      per_address_(std::clamp<uint32_t>(per_address, 1, std::max<uint32_t>(total, 1))),
      per_minute_(per_minute) {}

std::shared_ptr<ClientLimits> ClientLimits::Create(uint32_t total, uint32_t per_address,
                                                   uint32_t per_minute) {
  return std::shared_ptr<ClientLimits>(new ClientLimits(total, per_address, per_minute));
}

std::string ClientLimits::AddressKey(const struct sockaddr_storage& addr, size_t len) {
  if (addr.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    return std::string(reinterpret_cast<const char*>(&in.sin_addr.s_addr), 4);
  }
  if (addr.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    const auto* bytes = reinterpret_cast<const char*>(in6.sin6_addr.s6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) return std::string(bytes + 12, 4);
    return std::string(bytes, 8);
  }
  return std::string();
}

ClientLimits::Admission ClientLimits::Admit(const struct sockaddr_storage& addr, size_t len) {
  return AdmitKey(AddressKey(addr, len));
}

void ClientLimits::Refill(PerKey& k, Clock::time_point now) const {
  if (now <= k.refilled) return;
  // Exact integer arithmetic: a token is 60 s worth of nanoseconds, and each
  // elapsed nanosecond adds per_minute_ units; more than a minute fills it.
  const auto elapsed = std::min<Clock::duration>(now - k.refilled, std::chrono::minutes(1));
  const uint64_t ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  k.units = std::min<uint64_t>(Capacity(), k.units + ns * per_minute_);
  k.refilled = now;
}

void ClientLimits::Sweep(Clock::time_point now) {
  last_sweep_ = now;
  for (auto it = per_key_.begin(); it != per_key_.end();) {
    if (it->second.open == 0) Refill(it->second, now);
    const bool idle = it->second.open == 0 && it->second.units >= Capacity();
    it = idle ? per_key_.erase(it) : std::next(it);
  }
}

ClientLimits::Admission ClientLimits::AdmitKey(const std::string& key, Clock::time_point now) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_ >= total_) return {nullptr, Refusal::kTotal};
    if (per_minute_ > 0 &&
        (now - last_sweep_ >= std::chrono::minutes(1) || per_key_.size() >= kMaxTracked)) {
      Sweep(now);
    }
    auto it = per_key_.find(key);
    const bool untracked =
        it == per_key_.end() && per_minute_ > 0 && per_key_.size() >= kMaxTracked;
    if (it == per_key_.end()) {
      PerKey fresh;
      fresh.units = Capacity();
      fresh.refilled = now;
      it = per_key_.emplace(key, fresh).first;
    }
    PerKey& k = it->second;
    if (k.open >= per_address_) return {nullptr, Refusal::kPerAddress};
    if (per_minute_ > 0 && !untracked) {
      Refill(k, now);
      if (k.units < kUnitsPerToken) return {nullptr, Refusal::kRate};
      k.units -= kUnitsPerToken;
    }
    ++k.open;
    ++active_;
  }
  auto self = shared_from_this();
  // The slot's deleter gives the connection back; the object it points at is
  // this one, kept alive by the slot.
  return {std::shared_ptr<const void>(this, [self, key](const void*) { self->Release(key); }),
          Refusal::kNone};
}

void ClientLimits::Release(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = per_key_.find(key);
  if (it == per_key_.end() || it->second.open == 0 || active_ == 0) std::abort();  // freed twice
  --active_;
  // Without a rate limit nothing is kept once the last connection ends; with
  // one, the bucket stays until a sweep finds it full.
  if (--it->second.open == 0 && per_minute_ == 0) per_key_.erase(it);
}

uint32_t ClientLimits::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

size_t ClientLimits::addresses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return per_key_.size();
}

}  // namespace onionmail::server
