// UnlockCache: remembers, for a few minutes after a successful POP3 login,
// the password factor of the user's inbox-key wrap (the Argon2id output), so
// that a client that logs in again soon (a second connection, a retry, a
// short polling interval) does not pay the full KDF again. The device factor
// (InboxWrapSecret, one device operation) is still needed at every login.
//
// Contract:
//  - An entry is the Argon2id output sealed with AES-256-GCM under
//    HMAC-SHA256(K, record name, salt, password), K random per process
//    (SecretBytes). Only the exact password opens it: a wrong password gets
//    a miss (and then pays the full KDF as usual). The cache alone does not
//    open an inbox: it needs the password and the key-store device.
//  - The salt is part of the key and of the AAD: a password change (new
//    salt) makes old entries useless at once; Forget() drops them early.
//  - Only successes are remembered (the caller calls Remember after the
//    wrapped private key opened). At most kMaxEntries, expired ones evicted
//    first. TTL 0 disables the cache.
//  - Trade-off (SECURITY.md): while an entry lives, someone who can read the
//    key role's memory can test password guesses at HMAC speed instead of
//    Argon2id speed for that user.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/secret_bytes.h"

namespace onionmail::keys {

class UnlockCache {
 public:
  static constexpr size_t kMaxEntries = 10000;

  explicit UnlockCache(std::chrono::seconds ttl);

  // The remembered password factor, or nullopt (no entry, expired, or a
  // different password or salt).
  std::optional<SecretBytes> Find(const std::string& record_name, std::span<const uint8_t> salt,
                                  const SecretBytes& password);
  void Remember(const std::string& record_name, std::span<const uint8_t> salt,
                const SecretBytes& password, const SecretBytes& factor);
  void Forget(const std::string& record_name);
  size_t size();

 private:
  struct Entry {
    std::vector<uint8_t> sealed;  // AES-256-GCM of the factor
    std::chrono::steady_clock::time_point expires;
  };
  std::optional<SecretBytes> EntryKey(const std::string& record_name, std::span<const uint8_t> salt,
                                      const SecretBytes& password) const;

  const std::chrono::seconds ttl_;
  SecretBytes key_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // record name -> entry
};

}  // namespace onionmail::keys
