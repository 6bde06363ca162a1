// Vouchers: the unused self-registration vouchers of the key role
// (mail/registration.h; `onionmailctl voucher add`, POP3 RQUS), one empty
// file per voucher in <state>/vouchers.
//
// File <dir>/<id>, id = hex(KeyStore::KeyedHash("voucher", canonical
// voucher)) (64 lower-case hex chars): the disk holds no voucher, only the
// key store can tell which file a voucher names, and an empty file has
// nothing to overwrite, so deletion is an unlink.
//
// Contract:
//  - A voucher is accepted in any case and canonicalised with
//    mail::CanonicalVoucher(); a text that is not a voucher is, to Exists()
//    and Claim(), a voucher that does not exist (no file access).
//  - Add(count), count 1..kMaxAdd (else kInvalidArgument): `count` new
//    random vouchers (kVoucherChars of the lower-case base32 alphabet from
//    the CSPRNG, crypto::RandomSymbols), canonical, in SecretBytes. Each file
//    is created exclusively (mode 0600; <dir> mode 0700 made at first use)
//    and fsync'd, then <dir> is fsync'd: the vouchers are durable when Add()
//    returns ok. On a failure none of this call's vouchers remain (their
//    files are unlinked, best effort) and none are returned.
//  - Claim(voucher): uses it up. The file is unlinked (atomic: of concurrent
//    claims, in any process, exactly one wins) and <dir> fsync'd; a missing
//    file (never made, used, or cleared) is kUnauthenticated. Any other
//    failure leaves the voucher valid (a file unlinked whose directory fsync
//    failed is made again) and is returned.
//  - Restore(voucher): makes a claimed voucher valid again (its account
//    could not be made), durably; ok if it already exists. A non-canonical
//    voucher is kInvalidArgument.
//  - Count(): the files in <dir> that are voucher ids (0 if there is no
//    <dir>). Clear(): unlinks them all, fsyncs <dir>, returns how many. A
//    voucher claimed by a registration in flight during Clear() comes back
//    if that registration fails and restores it.
//  - Error messages hold paths (hashed names) and errno text, never a
//    voucher. Nothing here logs. Thread-safe (no state besides the files).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "hsm/key_store.h"

namespace onionmail::keys {

class Vouchers {
 public:
  static constexpr size_t kMaxAdd = 1000;

  // `keys`: the key store that names the user records (outlives this);
  // `dir`: <state>/vouchers, created (mode 0700) at the first Add/Restore.
  Vouchers(hsm::KeyStore& keys, std::string dir);

  Result<std::vector<SecretBytes>> Add(size_t count);
  Result<bool> Exists(std::string_view voucher);
  Result<void> Claim(std::string_view voucher);
  Result<void> Restore(std::string_view voucher);
  Result<size_t> Count();
  Result<size_t> Clear();

  // The file a voucher would have (tests); kInvalidArgument if not a voucher.
  Result<std::string> PathOf(std::string_view voucher);

 private:
  Result<void> Create(const std::string& path);  // exclusive, fsync'd; not the dir
  Result<std::vector<std::string>> Ids();        // the voucher files' names

  hsm::KeyStore& keys_;
  const std::string dir_;
};

}  // namespace onionmail::keys
