// VerifyCache: remembers successful SMTP-password checks for a few minutes,
// so that a client sending many messages (one AUTH per connection) pays the
// Argon2id cost once, as Dovecot's auth cache does. bench/ measured the full
// KDF on every AUTH as the whole gap against Postfix + Dovecot.
//
// Contract:
//  - An entry is HMAC-SHA256 under a random per-process key (SecretBytes) of
//    the user's current verifier (salt || hash) and the password: it is only
//    valid for that exact verifier, so a password change (new salt) makes
//    old entries useless at once; it cannot be reversed to the password.
//  - Only successes are cached: every wrong guess still pays the full KDF.
//  - Lookups compare in constant time; at most kMaxEntries entries, expired
//    ones are evicted first.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>

#include "base/secret_bytes.h"

namespace onionmail::keys {

class VerifyCache {
 public:
  static constexpr size_t kMaxEntries = 10000;

  explicit VerifyCache(std::chrono::seconds ttl);

  // True when `password` was verified against `verifier` within the TTL.
  bool Hit(const std::string& record_name, std::span<const uint8_t> verifier,
           const SecretBytes& password);
  void Remember(const std::string& record_name, std::span<const uint8_t> verifier,
                const SecretBytes& password);

 private:
  using Tag = std::array<uint8_t, 32>;
  struct Entry {
    Tag tag;
    std::chrono::steady_clock::time_point expires;
  };
  bool MakeTag(std::span<const uint8_t> verifier, const SecretBytes& password, Tag* out) const;

  const std::chrono::seconds ttl_;
  SecretBytes key_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // record name -> last success
};

}  // namespace onionmail::keys
