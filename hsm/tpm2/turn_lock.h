// TurnLock: how the clients of one TPM without resource manager (swtpm,
// mssim, /dev/tpm<N>: TctiIsDirect) take turns. Such a TPM keeps one set of
// transient objects and sessions for everyone: a client that connects flushes
// what the last one left loaded, and the TPM hands out the same handle
// numbers again. A client that went on using its old handles would then
// address the other's objects; through a session, that is an HMAC check
// failure the TPM counts towards its dictionary-attack lockout.
//
// Contract:
//  - One lock file per key directory (key_dir/tpm2.lock, mode 0600), shared
//    by the server's key role and onionmailctl of one installation. Its
//    first 8 bytes name the last connection made to the TPM (a random id per
//    connection, big-endian; 0 or a short file: none yet).
//  - Lock() blocks until this open file description holds flock(LOCK_EX)
//    (EINTR retried); Unlock() releases it; closing the file releases it too,
//    so a client that dies never blocks the others.
//  - While it holds the lock, a client checks IsLast(its connection) before
//    it touches any handle: false means someone connected since, its handles
//    are gone or belong to another, and it must forget them (never flush
//    them) and connect again, recording the new connection with Record().
//  - Two TurnLocks opened on the same path, in one process or two, exclude
//    each other.
//  - Errors are kUnavailable with the path and the system error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace onionmail::hsm::tpm2 {

class TurnLock {
 public:
  static Result<std::unique_ptr<TurnLock>> Open(const std::string& path);
  ~TurnLock();
  TurnLock(const TurnLock&) = delete;
  TurnLock& operator=(const TurnLock&) = delete;

  [[nodiscard]] Result<void> Lock();
  void Unlock();
  // With the lock held.
  [[nodiscard]] Result<bool> IsLast(uint64_t connection) const;
  [[nodiscard]] Result<void> Record(uint64_t connection);
  // A new connection id: random, never 0.
  [[nodiscard]] static Result<uint64_t> NewConnectionId();

  const std::string& path() const { return path_; }

 private:
  TurnLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Error SysError(const std::string& what) const;

  int fd_;
  std::string path_;
};

// Holds a turn for a scope: Unlock() at its end (nothing without a lock).
class TurnScope {
 public:
  explicit TurnScope(TurnLock* lock) : lock_(lock) {}
  ~TurnScope() {
    if (lock_ != nullptr) lock_->Unlock();
  }
  TurnScope(const TurnScope&) = delete;
  TurnScope& operator=(const TurnScope&) = delete;

 private:
  TurnLock* lock_;
};

}  // namespace onionmail::hsm::tpm2
