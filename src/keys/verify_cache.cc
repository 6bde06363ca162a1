// VerifyCache implementation.
#include "keys/verify_cache.h"

#include <openssl/crypto.h>

#include <vector>

#include "crypto/kdf.h"
#include "crypto/random.h"

namespace onionmail::keys {

VerifyCache::VerifyCache(std::chrono::seconds ttl) : ttl_(ttl), key_(crypto::RandomSecret(32)) {}

bool VerifyCache::MakeTag(std::span<const uint8_t> verifier, const SecretBytes& password,
                          Tag* out) const {
  SecretBytes input(verifier.size() + password.size());
  auto dst = input.Reveal(SecretAccess::Grant());
  std::copy(verifier.begin(), verifier.end(), dst.begin());
  auto pw = password.Reveal(SecretAccess::Grant());
  std::copy(pw.begin(), pw.end(), dst.begin() + static_cast<std::ptrdiff_t>(verifier.size()));
  auto mac = crypto::HmacSha256(key_, input.Reveal(SecretAccess::Grant()));
  if (!mac.ok()) return false;
  *out = *mac;
  return true;
}

bool VerifyCache::Hit(const std::string& record_name, std::span<const uint8_t> verifier,
                      const SecretBytes& password) {
  if (ttl_.count() == 0) return false;
  Tag tag;
  if (!MakeTag(verifier, password, &tag)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(record_name);
  if (it == entries_.end()) return false;
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    entries_.erase(it);
    return false;
  }
  return CRYPTO_memcmp(tag.data(), it->second.tag.data(), tag.size()) == 0;
}

void VerifyCache::Remember(const std::string& record_name, std::span<const uint8_t> verifier,
                           const SecretBytes& password) {
  if (ttl_.count() == 0) return;
  Tag tag;
  if (!MakeTag(verifier, password, &tag)) return;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= kMaxEntries && entries_.count(record_name) == 0) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = now >= it->second.expires ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
  }
  entries_[record_name] = Entry{tag, now + ttl_};
}

}  // namespace onionmail::keys
