// SpareFiles (see spare_files.h, docs/store.md).
#include "store/spare_files.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "crypto/random.h"
#include "store/durable_file.h"
#include "store/mailbox_store.h"

namespace onionmail::store {

namespace {

// The size of a regular file (not followed if a symlink), or -1.
int64_t RegularFileSize(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return static_cast<int64_t>(st.st_size);
}

}  // namespace

void SpareFiles::LoadLocked() {
  if (loaded_) return;
  loaded_ = true;
  if (!EnsurePrivateDir(dir_).ok()) return;
  auto names = ListDirectory(dir_);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (spares_.size() >= kMaxFiles) break;
    if (!ValidMessageUid(name)) continue;  // spare names have the form of message uids
    const int64_t size = RegularFileSize(dir_ + "/" + name);
    if (size <= 0 || static_cast<uint64_t>(size) > kMaxFileBytes) continue;
    if (bytes_ + static_cast<uint64_t>(size) > kMaxBytes) break;
    spares_.push_back(Spare{name, static_cast<uint64_t>(size)});
    bytes_ += static_cast<uint64_t>(size);
  }
}

bool SpareFiles::Put(const std::string& path) {
  const int64_t size = RegularFileSize(path);
  if (size <= 0 || static_cast<uint64_t>(size) > kMaxFileBytes) return false;
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  if (spares_.size() >= kMaxFiles || bytes_ + static_cast<uint64_t>(size) > kMaxBytes) {
    return false;
  }
  std::string name = crypto::RandomHex(16);
  if (::rename(path.c_str(), (dir_ + "/" + name).c_str()) != 0) return false;
  spares_.push_back(Spare{std::move(name), static_cast<uint64_t>(size)});
  bytes_ += static_cast<uint64_t>(size);
  return true;
}

bool SpareFiles::Take(const std::string& dest) {
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  while (!spares_.empty()) {
    Spare spare = std::move(spares_.back());
    spares_.pop_back();
    bytes_ -= spare.bytes;
    // The caller opens `dest` with O_NOFOLLOW and checks it is a regular
    // file (a symlink someone left under this name is never written through).
    if (::rename((dir_ + "/" + spare.name).c_str(), dest.c_str()) == 0) return true;
    // ENOENT: another instance took it; anything else: leave it there.
  }
  return false;
}

size_t SpareFiles::count() {
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  return spares_.size();
}

}  // namespace onionmail::store
