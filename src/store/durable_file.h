// Durable file primitives for the state directory: exclusive creation of
// private files, write-fsync-rename-fsync(dir) publication, secure deletion.
//
// Contract:
//  - New files are created with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0600;
//    new directories with mode 0700. Symlinks are never followed for files.
//  - A publish returns ok only after the file data, the rename and the
//    directory entry are on stable storage (fsync of file and directory).
//  - SecureDelete overwrites the file's bytes (same length, random data),
//    fsyncs, unlinks and fsyncs the directory. On SSDs and journaling or
//    copy-on-write filesystems overwriting is best effort; see docs/store.md.
//  - Errors are Results: kUnavailable for conditions worth retrying (no space,
//    I/O error, quota), kNotFound for missing files, kInternal otherwise. The
//    message names the operation, the path (state-dir paths hold only hashed
//    names) and errno text, never file content.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace onionmail::store {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();

 private:
  int fd_ = -1;
};

// Maps an errno of operation `what` on `path` to an Error.
Error ErrnoError(const std::string& what, const std::string& path, int err);

// Creates `path` exclusively for writing (mode 0600).
Result<UniqueFd> CreateExclusive(const std::string& path);
// Opens an existing regular file read-only (no symlinks).
Result<UniqueFd> OpenForRead(const std::string& path);

Result<void> WriteAll(int fd, std::span<const uint8_t> bytes, const std::string& path);
Result<void> PwriteAll(int fd, std::span<const uint8_t> bytes, uint64_t offset,
                       const std::string& path);
// Reads exactly bytes.size() bytes (kDataLoss on early end of file).
Result<void> ReadExact(int fd, std::span<uint8_t> bytes, const std::string& path);
// Reads up to bytes.size() bytes; returns how many (0 = end of file).
Result<size_t> ReadSome(int fd, std::span<uint8_t> bytes, const std::string& path);
Result<void> SyncFd(int fd, const std::string& path);
Result<void> SyncDir(const std::string& dir);

// mkdir(path, 0700) unless it exists; fails unless path is then a directory
// (not a symlink). Syncs the parent directory when it created the directory.
Result<void> EnsurePrivateDir(const std::string& path);

// Reads a whole regular file of at most `max_bytes` (kDataLoss if larger).
Result<std::vector<uint8_t>> ReadSmallFile(const std::string& path, size_t max_bytes);

// Writes `bytes` to a new file in `tmp_dir`, fsyncs it and publishes it at
// `final_path`. replace=false fails with kAlreadyExists (atomically) when
// final_path exists; replace=true replaces it atomically and then overwrites
// the old version's bytes (SecureDelete of a second hard link to it). The
// temporary file never survives a failure.
Result<void> WriteFileDurably(const std::string& tmp_dir, const std::string& final_path,
                              std::span<const uint8_t> bytes, bool replace);

// Overwrites, fsyncs, unlinks `path`, then fsyncs its directory.
// kNotFound when the file does not exist.
Result<void> SecureDelete(const std::string& path);

// SecureDelete of many files with one directory fsync per distinct directory
// (instead of one per file). In groups of up to 64 files: every file of the
// group is overwritten and its writeback started (sync_file_range; fsync
// where the filesystem lacks it), then each is waited for (written to the
// device) and unlinked; a file whose overwrite failed is not unlinked. It
// holds one file descriptor at a time. Last,
// each directory is fsync'd once, which also flushes the device's write
// cache, so the overwrites are durable when it returns, as with SecureDelete,
// without one fsync per file. Keeps going after a failure; returns the first
// error other than kNotFound if there is one, else kNotFound if a file was
// missing. The directory fsync is done even when another file failed.
//
// `keep`, if set, is offered each file once its overwrite is on the device,
// instead of unlinking it: it returns true when it took the file out of its
// directory (SpareFiles::Put renames it into the spare pool), false to have
// it unlinked as usual.
using KeepOverwritten = std::function<bool(const std::string& path)>;
Result<void> SecureDeleteBatch(std::span<const std::string> paths,
                               const KeepOverwritten& keep = {});

// Names in `dir` except "." and ".." (kNotFound if it does not exist).
Result<std::vector<std::string>> ListDirectory(const std::string& dir);

// The directory part of `path` ("." if none).
std::string DirName(const std::string& path);

}  // namespace onionmail::store
