// FileLock (see file_lock.h).
#include "store/file_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

#include <utility>

namespace onionmail::store {

Result<FileLock> FileLock::Acquire(const std::string& path, Wait wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot open lock", path, errno);
  UniqueFd owned(fd);
  const int op = wait == Wait::kTry ? LOCK_EX | LOCK_NB : LOCK_EX;
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return MakeError(ErrorCode::kFailedPrecondition, "lock is busy");
    return ErrnoError("cannot lock", path, errno);
  }
  return FileLock(std::move(owned));
}

}  // namespace onionmail::store
