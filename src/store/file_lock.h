// FileLock: an exclusive flock(2) on a lock file of the state directory, held
// for the lifetime of the object. It serialises read-modify-write sequences
// across processes that share the state directory: the server's key role and
// onionmailctl rewriting the same user record (<state>/users.lock,
// docs/store.md), one POP3 session per mailbox (mbox/<id>/lock).
//
// Contract:
//  - Acquire opens (creating if missing, mode 0600) the file with
//    O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC: a symlink is refused. The file stays
//    empty (only its lock matters) and FileLock never deletes it.
//  - Wait::kBlock waits until the lock is free; Wait::kTry returns
//    kFailedPrecondition at once when another open file description holds it
//    (another process, or another FileLock in this one).
//  - The lock is released when the FileLock is destroyed (its fd closed), and
//    by the kernel if the process dies: a crashed holder never wedges others.
//  - Errors name the path and errno text (ErrnoError), never file content.
#pragma once

#include <string>

#include "base/result.h"
#include "store/durable_file.h"

namespace onionmail::store {

class FileLock {
 public:
  enum class Wait { kBlock, kTry };

  [[nodiscard]] static Result<FileLock> Acquire(const std::string& path, Wait wait);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the flock
};

}  // namespace onionmail::store
