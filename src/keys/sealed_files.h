// SealedFiles: a directory of small sealed files, one per id, read through a
// cache of their decoded values. The mechanism under keys::BlockLists
// (<state>/blocklists) and keys::MailingLists (<state>/lists); the format of
// the plaintext, the ids and every rule about them stay with those classes.
//
// File <dir>/<id>: hsm::KeyStore::SealRecord(plaintext, aad = aad_prefix +
// id), so a file copied or moved to another id does not open.
//
// Contract:
//  - An id is a file name its user has validated (each user has its own
//    rule). An empty id, one holding '/' or starting with '.' (<dir>/.tmp) is
//    kInvalidArgument here too, before any file access.
//  - Read(id, decode) lstat()s <dir>/<id>. Missing: null, the id's cache
//    entry dropped, no open, no OpenRecord, no decode. The identity
//    (keys::FileId) of the file the id's cached value was read from: that
//    value, no open, no OpenRecord, no decode (the hot path: one lstat).
//    Otherwise the file is opened (missing by then: null), its identity taken
//    with fstat on the descriptor read (a file replaced between lstat and
//    open is cached under its own identity), read (longer than
//    max_file_bytes: kDataLoss "<what> file is corrupt"), opened with
//    OpenRecord (kDataLoss, the record does not authenticate: kDataLoss
//    "<what> failed authentication"; any other error, a device fault, is
//    returned as it is) and
//    decoded; the decoded value is cached. Any error, decode's included, is
//    returned and nothing is cached. Every Read of one instance decodes to
//    the same T (the cache holds values of it). Messages never hold a
//    plaintext; an I/O error names the path.
//  - At most max_cached ids are cached; a full cache is emptied before an id
//    not in it is inserted.
//  - Write(id, plaintext) seals, creates <dir> and <dir>/.tmp (mode 0700) if
//    missing, forgets the id (the next Read opens the new file: lstat'ing it
//    after the rename could see another writer's file) and publishes the
//    file durably (temp file in <dir>/.tmp, fsync, rename, fsync of <dir>;
//    mode 0600) before it returns ok. The caller wipes its plaintext.
//  - Remove(id) forgets the id and deletes the file with store::SecureDelete;
//    ok when there is none.
//  - CountFiles(): the regular files in <dir> (0 when there is no <dir>).
//    IsKeyedHashId(): a 64-char lower-case hex name, the ids of the users
//    whose ids are keyed hashes (mailing lists, VMAT aliases).
//  - Thread-safe (the cache has its own lock). Read-modify-write sequences
//    are the caller's to serialise; writers in other instances or processes
//    are not locked out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

#include "base/result.h"
#include "hsm/key_store.h"
#include "keys/public_record_cache.h"

namespace onionmail::keys {

class SealedFiles {
 public:
  struct Config {
    std::string dir;         // created (mode 0700) at the first Write()
    std::string aad_prefix;  // e.g. "onionmail-blocklist-v1:"
    size_t max_cached = 0;
    size_t max_file_bytes = 0;  // a sealed file's limit
    std::string what;           // the noun of the error messages: "block list"
  };

  // `keys` seals and opens the files (outlives this).
  SealedFiles(hsm::KeyStore& keys, Config config);

  // The value decoded from <dir>/<id> (null: no such file). `decode`:
  // Result<T>(std::span<const uint8_t> plaintext), kDataLoss for a bad file.
  template <typename T, typename Decode>
  Result<std::shared_ptr<const T>> Read(const std::string& id, Decode&& decode) {
    auto value = ReadErased(id, [&decode](std::span<const uint8_t> plaintext) -> Result<Value> {
      Result<T> decoded = decode(plaintext);
      if (!decoded.ok()) return decoded.error();
      return Value(std::make_shared<const T>(std::move(*decoded)));
    });
    if (!value.ok()) return value.error();
    return std::static_pointer_cast<const T>(*value);
  }
  Result<void> Write(const std::string& id, std::span<const uint8_t> plaintext);
  Result<void> Remove(const std::string& id);
  Result<size_t> CountFiles() const;
  static bool IsKeyedHashId(std::string_view id);
  // Drops the id's cached value.
  void Forget(const std::string& id);

  const std::string& dir() const { return config_.dir; }
  // Ids in the read cache (tests).
  size_t cached();

 private:
  using Value = std::shared_ptr<const void>;
  using ErasedDecode = std::function<Result<Value>(std::span<const uint8_t> plaintext)>;
  struct Cached {
    FileId id;
    Value value;
  };

  Result<Value> ReadErased(const std::string& id, const ErasedDecode& decode);
  std::string PathOf(const std::string& id) const { return config_.dir + "/" + id; }

  hsm::KeyStore& keys_;
  const Config config_;
  const std::string tmp_dir_;
  std::mutex cache_mu_;  // cache_
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace onionmail::keys
