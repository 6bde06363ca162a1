// TkimVouches: the key role's word that an onion server proved itself by
// TKIM (docs/PROTOCOL.md, "TKIM"; SECURITY.md). The relay role checks a
// client's proof (it alone can call the sender's onion back) and asks the key
// role for a vouch (ipc::TkimVouchRequest); the SMTP front end hands the vouch
// back on its session (ipc::TkimProvenRequest), and only then may that
// session act for members of mailing lists at that onion. A subverted front
// end cannot make a vouch: it can use one only for an onion that proved
// itself to this server within kTkimVouchLifetime.
//
// Contract:
//  - A vouch is kTkimVouchBytes: the expiry (u64, big endian, Unix seconds:
//    minting time + kTkimVouchLifetime) then HMAC-SHA256 under a key made
//    from the CSPRNG when the object is made, over kTkimVouchLabel, a zero
//    byte, the domain (lower case), a zero byte and the expiry's 8 bytes.
//    The key never leaves this object (nor the process); a new key role
//    makes a new key, so vouches do not outlive the key role that made them.
//  - Mint(): refuses (kInvalidArgument) a domain that is not a v3 onion in
//    lower case.
//  - Check(): kUnauthenticated unless `vouch` is one Mint() made for
//    `domain` (compared in constant time) whose expiry is after `now` and no
//    later than now + kTkimVouchLifetime; returns the expiry.
//  - Thread-safe (the key is only read after construction).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::server {

inline constexpr uint64_t kTkimVouchLifetime = 3600;  // seconds
inline constexpr std::string_view kTkimVouchLabel = "onionmail tkim vouch v1";

class TkimVouches {
 public:
  TkimVouches();

  [[nodiscard]] Result<std::vector<uint8_t>> Mint(std::string_view domain,
                                                  uint64_t now_unix_seconds) const;
  [[nodiscard]] Result<uint64_t> Check(std::string_view domain, std::span<const uint8_t> vouch,
                                       uint64_t now_unix_seconds) const;

 private:
  Result<std::vector<uint8_t>> Mac(std::string_view domain, uint64_t expiry) const;

  SecretBytes key_;
};

}  // namespace onionmail::server
