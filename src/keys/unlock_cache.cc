// UnlockCache implementation.
#include "keys/unlock_cache.h"

#include <iterator>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

namespace onionmail::keys {
namespace {

void AppendLengthPrefixed(std::span<const uint8_t> part, std::span<uint8_t> dst, size_t* at) {
  const uint32_t n = static_cast<uint32_t>(part.size());
  for (int shift = 24; shift >= 0; shift -= 8) dst[(*at)++] = static_cast<uint8_t>(n >> shift);
  std::copy(part.begin(), part.end(), dst.begin() + static_cast<std::ptrdiff_t>(*at));
  *at += part.size();
}

std::vector<uint8_t> Aad(const std::string& record_name, std::span<const uint8_t> salt) {
  std::vector<uint8_t> aad(record_name.begin(), record_name.end());
  aad.push_back(0);
  aad.insert(aad.end(), salt.begin(), salt.end());
  return aad;
}

}  // namespace

UnlockCache::UnlockCache(std::chrono::seconds ttl) : ttl_(ttl), key_(crypto::RandomSecret(32)) {}

std::optional<SecretBytes> UnlockCache::EntryKey(const std::string& record_name,
                                                 std::span<const uint8_t> salt,
                                                 const SecretBytes& password) const {
  const auto name = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(record_name.data()),
                                             record_name.size());
  SecretBytes input(12 + name.size() + salt.size() + password.size());
  auto dst = input.Reveal(SecretAccess::Grant());
  size_t at = 0;
  AppendLengthPrefixed(name, dst, &at);
  AppendLengthPrefixed(salt, dst, &at);
  AppendLengthPrefixed(password.Reveal(SecretAccess::Grant()), dst, &at);
  auto mac = crypto::HmacSha256(key_, input.Reveal(SecretAccess::Grant()));
  if (!mac.ok()) return std::nullopt;
  SecretBytes out(SecretAccess::Grant(), std::span<const uint8_t>(mac->data(), mac->size()));
  WipeMemory(mac->data(), mac->size());
  return out;
}

std::optional<SecretBytes> UnlockCache::Find(const std::string& record_name,
                                             std::span<const uint8_t> salt,
                                             const SecretBytes& password) {
  if (ttl_.count() == 0) return std::nullopt;
  std::vector<uint8_t> sealed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(record_name);
    if (it == entries_.end()) return std::nullopt;
    if (std::chrono::steady_clock::now() >= it->second.expires) {
      entries_.erase(it);
      return std::nullopt;
    }
    sealed = it->second.sealed;
  }
  auto key = EntryKey(record_name, salt, password);
  if (!key) return std::nullopt;
  auto factor = crypto::AeadOpen(*key, sealed, Aad(record_name, salt));
  if (!factor.ok()) return std::nullopt;  // another password or salt
  return std::move(*factor);
}

void UnlockCache::Remember(const std::string& record_name, std::span<const uint8_t> salt,
                           const SecretBytes& password, const SecretBytes& factor) {
  if (ttl_.count() == 0) return;
  auto key = EntryKey(record_name, salt, password);
  if (!key) return;
  auto sealed =
      crypto::AeadSeal(*key, factor.Reveal(SecretAccess::Grant()), Aad(record_name, salt));
  if (!sealed.ok()) return;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= kMaxEntries && entries_.count(record_name) == 0) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = now >= it->second.expires ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
  }
  entries_[record_name] = Entry{std::move(*sealed), now + ttl_};
}

void UnlockCache::Forget(const std::string& record_name) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(record_name);
}

size_t UnlockCache::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace onionmail::keys
