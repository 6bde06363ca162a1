// ClientLimits implementation.
#include "server/client_limits.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>

namespace onionmail::server {

ClientLimits::ClientLimits(uint32_t total, uint32_t per_address)
    : total_(std::max<uint32_t>(total, 1)),
      per_address_(std::clamp<uint32_t>(per_address, 1, std::max<uint32_t>(total, 1))) {}

std::shared_ptr<ClientLimits> ClientLimits::Create(uint32_t total, uint32_t per_address) {
  return std::shared_ptr<ClientLimits>(new ClientLimits(total, per_address));
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

ClientLimits::Admission ClientLimits::AdmitKey(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_ >= total_) return {nullptr, Refusal::kTotal};
    uint32_t& count = per_key_[key];
    if (count >= per_address_) return {nullptr, Refusal::kPerAddress};
    ++count;
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
  if (it == per_key_.end() || it->second == 0 || active_ == 0) std::abort();  // a slot freed twice
  --active_;
  if (--it->second == 0) per_key_.erase(it);
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
