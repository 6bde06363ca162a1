// PublicRecordCache: the public half of recently read user records (mailbox
// id, inbox public key, key id), so that a delivery does not open, read,
// unseal and decode the recipient's record at RCPT and again at DATA.
// bench/ profiled user-record reads at 6.8 % of the key role's time on the
// SMTP path (docs/benchmarks-history.md, tenth session).
//
// Contract:
//  - An entry is valid only for the record file it was read from: the caller
//    lstat()s users/<record name> before every lookup and passes the result
//    as a FileId (device, inode, size, mtime, ctime, all to the nanosecond).
//    A record rewritten by this process or any other (rename of a new file:
//    new inode and ctime), deleted, or touched misses, so a lookup never
//    returns what the disk no longer says. The caller takes the FileId
//    *before* it reads the file, so a race stores a stale id (a later miss),
//    never a stale record under a fresh id.
//  - Only public data is held: no SMTP verifier, no wrapped private key, no
//    user name (entries are keyed by the record's file name, a keyed hash).
//  - At most kMaxEntries entries; a full cache is emptied before an insert.
//    Thread-safe.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "keys/key_service.h"

namespace onionmail::keys {

struct FileId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileId&) const = default;
};

FileId FileIdOf(const struct stat& st);

class PublicRecordCache {
 public:
  static constexpr size_t kMaxEntries = 1024;

  std::optional<UserPublic> Find(const std::string& record_name, const FileId& id);
  void Remember(const std::string& record_name, const FileId& id, const UserPublic& user);
  void Forget(const std::string& record_name);
  size_t size();

 private:
  struct Entry {
    FileId id;
    UserPublic user;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace onionmail::keys
