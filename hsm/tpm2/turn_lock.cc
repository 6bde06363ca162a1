// TurnLock (see turn_lock.h): flock on key_dir/tpm2.lock plus the id of the
// last connection in its first 8 bytes.
#include "hsm/tpm2/turn_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cstring>

namespace onionmail::hsm::tpm2 {

Result<std::unique_ptr<TurnLock>> TurnLock::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot open " + path + " (" + std::strerror(errno) +
                         "): the clients of a TPM without resource manager take turns through it");
  }
  return std::unique_ptr<TurnLock>(new TurnLock(fd, path));
}

TurnLock::~TurnLock() { ::close(fd_); }

Error TurnLock::SysError(const std::string& what) const {
  return MakeError(ErrorCode::kUnavailable, what + " " + path_ + ": " + std::strerror(errno));
}

Result<void> TurnLock::Lock() {
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) return SysError("cannot lock");
  }
  return Ok();
}

void TurnLock::Unlock() { (void)::flock(fd_, LOCK_UN); }

Result<bool> TurnLock::IsLast(uint64_t connection) const {
  std::array<uint8_t, 8> raw{};
  ssize_t n;
  do {
    n = ::pread(fd_, raw.data(), raw.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return SysError("cannot read");
  if (n != static_cast<ssize_t>(raw.size())) return false;
  uint64_t last = 0;
  for (uint8_t b : raw) last = (last << 8) | b;
  return last != 0 && last == connection;
}

Result<void> TurnLock::Record(uint64_t connection) {
  std::array<uint8_t, 8> raw{};
  for (int i = 7; i >= 0; --i) {
    raw[static_cast<size_t>(i)] = static_cast<uint8_t>(connection);
    connection >>= 8;
  }
  ssize_t n;
  do {
    n = ::pwrite(fd_, raw.data(), raw.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(raw.size())) return SysError("cannot write");
  return Ok();
}

Result<uint64_t> TurnLock::NewConnectionId() {
  uint64_t id = 0;
  while (id == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof(id)) != 1) {
      return MakeError(ErrorCode::kInternal, "RAND_bytes failed");
    }
  }
  return id;
}

}  // namespace onionmail::hsm::tpm2
