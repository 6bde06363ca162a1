// Durable file primitives (see durable_file.h).
#include "store/durable_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "crypto/random.h"

namespace onionmail::store {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Error ErrnoError(const std::string& what, const std::string& path, int err) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ENOENT:
      code = ErrorCode::kNotFound;
      break;
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EAGAIN:
    case EINTR:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      code = ErrorCode::kUnavailable;
      break;
    default:
      break;
  }
  return MakeError(code, what + " " + path + ": " + std::strerror(err));
}

Result<UniqueFd> CreateExclusive(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) return MakeError(ErrorCode::kAlreadyExists, path + " exists");
    return ErrnoError("cannot create", path, err);
  }
  return UniqueFd(fd);
}

Result<UniqueFd> OpenForRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path, errno);
  UniqueFd owned(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return MakeError(ErrorCode::kDataLoss, path + " is not a regular file");
  return owned;
}

Result<void> WriteAll(int fd, std::span<const uint8_t> bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", path, errno);
    if (n == 0) return ErrnoError("cannot write", path, EIO);
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Ok();
}

Result<void> PwriteAll(int fd, std::span<const uint8_t> bytes, uint64_t offset,
                       const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", path, errno);
    if (n == 0) return ErrnoError("cannot write", path, EIO);
    bytes = bytes.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Ok();
}

Result<size_t> ReadSome(int fd, std::span<uint8_t> bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot read", path, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<void> ReadExact(int fd, std::span<uint8_t> bytes, const std::string& path) {
  auto n = ReadSome(fd, bytes, path);
  if (!n.ok()) return n.error();
  if (*n != bytes.size()) return MakeError(ErrorCode::kDataLoss, path + " is truncated");
  return Ok();
}

Result<void> SyncFd(int fd, const std::string& path) {
  if (::fsync(fd) != 0) return ErrnoError("cannot fsync", path, errno);
  return Ok();
}

Result<void> SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir, errno);
  UniqueFd owned(fd);
  return SyncFd(fd, dir);
}

Result<std::vector<std::string>> ListDirectory(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError("cannot open directory", dir, errno);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoError("cannot read directory", dir, err);
  return names;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<void> EnsurePrivateDir(const std::string& path) {
  struct stat st;
  // The common case, on every delivery: it exists. One lstat instead of a
  // failing mkdir and then the lstat.
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return MakeError(ErrorCode::kFailedPrecondition, path + " is not a directory");
    }
    return Ok();
  }
  if (errno != ENOENT) return ErrnoError("cannot stat", path, errno);
  bool created = false;
  if (::mkdir(path.c_str(), 0700) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return ErrnoError("cannot create directory", path, errno);
  }
  if (::lstat(path.c_str(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (!S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kFailedPrecondition, path + " is not a directory");
  }
  if (created) return SyncDir(DirName(path));
  return Ok();
}

Result<std::vector<uint8_t>> ReadSmallFile(const std::string& path, size_t max_bytes) {
  auto fd = OpenForRead(path);
  if (!fd.ok()) return fd.error();
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > max_bytes) {
    return MakeError(ErrorCode::kDataLoss, path + " is too large");
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  ONIONMAIL_RETURN_IF_ERROR(ReadExact(fd->get(), data, path));
  return data;
}

Result<void> WriteFileDurably(const std::string& tmp_dir, const std::string& final_path,
                              std::span<const uint8_t> bytes, bool replace) {
  const std::string tmp_path = tmp_dir + "/" + crypto::RandomHex(16);
  auto fd = CreateExclusive(tmp_path);
  if (!fd.ok()) return fd.error();
  auto written = [&]() -> Result<void> {
    ONIONMAIL_RETURN_IF_ERROR(WriteAll(fd->get(), bytes, tmp_path));
    return SyncFd(fd->get(), tmp_path);
  }();
  fd->Reset();
  if (!written.ok()) {
    ::unlink(tmp_path.c_str());
    return written.error();
  }
  if (replace) {
    // Keep a second name for the old version so that its bytes can be
    // overwritten once the new version is in place (best effort).
    std::string old_path = tmp_dir + "/" + crypto::RandomHex(16);
    if (::link(final_path.c_str(), old_path.c_str()) != 0) old_path.clear();
    if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp_path.c_str());
      if (!old_path.empty()) ::unlink(old_path.c_str());
      return ErrnoError("cannot rename into", final_path, err);
    }
    auto synced = SyncDir(DirName(final_path));
    if (!old_path.empty() && !SecureDelete(old_path).ok()) ::unlink(old_path.c_str());
    return synced;
  } else {
    // link() fails atomically with EEXIST, unlike rename().
    if (::link(tmp_path.c_str(), final_path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp_path.c_str());
      if (err == EEXIST) return MakeError(ErrorCode::kAlreadyExists, final_path + " exists");
      return ErrnoError("cannot link into", final_path, err);
    }
    ::unlink(tmp_path.c_str());
  }
  return SyncDir(DirName(final_path));
}

namespace {

// How an overwrite reaches the disk before the file is unlinked (the blocks
// are freed at unlink, and dirty pages of a freed file are never written).
enum class OverwriteSync {
  kFsync,       // fsync now (a single file)
  kStartWrite,  // only start writeback; the caller waits (a batch)
};

// sync_file_range(fd, whole file, flags); where the filesystem or the kernel
// does not support it, an fsync instead (slower, and never weaker).
Result<void> SyncRange(int fd, unsigned flags, const std::string& path) {
  if (::sync_file_range(fd, 0, 0, flags) == 0) return Ok();
  int err = errno;
  if (err == EINVAL || err == ENOSYS || err == ESPIPE || err == EOPNOTSUPP) {
    return SyncFd(fd, path);
  }
  return ErrnoError("cannot write", path, err);
}

// Overwrites a regular file's bytes with random data, then either fsyncs it
// or only starts its writeback; does not unlink. Sets *is_symlink (and
// writes nothing) when `path` is a symlink.
Result<void> Overwrite(const std::string& path, OverwriteSync sync, bool* is_symlink) {
  *is_symlink = false;
  int raw = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) {
    int err = errno;
    if (err == ELOOP) {
      *is_symlink = true;  // never write through it; the caller removes the link
      return Ok();
    }
    return ErrnoError("cannot open for deletion", path, err);
  }
  UniqueFd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    std::vector<uint8_t> noise(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), 64 * 1024));
    uint64_t offset = 0;
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    while (offset < size) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(noise.size(), size - offset));
      crypto::RandomBytes(std::span<uint8_t>(noise.data(), n));
      ONIONMAIL_RETURN_IF_ERROR(PwriteAll(fd.get(), {noise.data(), n}, offset, path));
      offset += n;
    }
    if (sync == OverwriteSync::kFsync) return SyncFd(fd.get(), path);
    return SyncRange(fd.get(), SYNC_FILE_RANGE_WRITE, path);
  }
  return Ok();
}

// Waits until the writeback started by Overwrite(kStartWrite) is done. The
// page cache belongs to the file, not to a descriptor, so a new descriptor
// does: a batch holds one descriptor at a time, however many files it has.
Result<void> WaitForOverwrite(const std::string& path) {
  int raw = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return ErrnoError("cannot open for deletion", path, errno);
  UniqueFd fd(raw);
  constexpr unsigned kFlags =
      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  return SyncRange(fd.get(), kFlags, path);
}

// Files whose overwrites a batch starts before waiting for them (bounds the
// dirty data a large batch, such as a deleted user, creates at once).
constexpr size_t kBatchGroupFiles = 64;

}  // namespace

Result<void> SecureDelete(const std::string& path) {
  bool is_symlink = false;
  ONIONMAIL_RETURN_IF_ERROR(Overwrite(path, OverwriteSync::kFsync, &is_symlink));
  if (::unlink(path.c_str()) != 0) return ErrnoError("cannot unlink", path, errno);
  return SyncDir(DirName(path));
}

Result<void> SecureDeleteBatch(std::span<const std::string> paths, const KeepOverwritten& keep) {
  Result<void> first_error = Ok();
  auto note = [&first_error](Result<void> r) {
    if (r.ok()) return;
    if (first_error.ok() || (first_error.error().code == ErrorCode::kNotFound &&
                             r.error().code != ErrorCode::kNotFound)) {
      first_error = std::move(r);
    }
  };
  std::vector<std::string> dirs;
  auto remove_one = [&](const std::string& path, bool overwritten) {
    if (!(overwritten && keep && keep(path)) && ::unlink(path.c_str()) != 0) {
      note(ErrnoError("cannot unlink", path, errno));
      return;
    }
    std::string dir = DirName(path);
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(std::move(dir));
  };
  // In groups: overwrite every file of the group and start its writeback, so
  // that the device gets them together; then wait for each and unlink it.
  // One fsync per file made deleting N messages N device round trips.
  for (size_t begin = 0; begin < paths.size(); begin += kBatchGroupFiles) {
    const size_t end = std::min(paths.size(), begin + kBatchGroupFiles);
    std::vector<std::pair<size_t, bool>> written;  // index, is a symlink
    for (size_t i = begin; i < end; ++i) {
      bool is_symlink = false;
      auto r = Overwrite(paths[i], OverwriteSync::kStartWrite, &is_symlink);
      if (!r.ok()) {
        note(std::move(r));
        continue;
      }
      written.emplace_back(i, is_symlink);
    }
    for (const auto& [i, is_symlink] : written) {
      if (!is_symlink) {
        auto waited = WaitForOverwrite(paths[i]);
        if (!waited.ok()) {
          note(std::move(waited));
          continue;
        }
      }
      remove_one(paths[i], /*overwritten=*/!is_symlink);
    }
  }
  // The directory fsync makes the unlinks durable, and its flush of the
  // device's write cache makes the overwrites written above durable too.
  for (const std::string& dir : dirs) note(SyncDir(dir));
  return first_error;
}

}  // namespace onionmail::store
