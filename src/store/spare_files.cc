// SpareFiles (see spare_files.h, docs/store.md).
#include "store/spare_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

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
    if (CountLocked() >= kMaxFiles) break;
    if (!ValidMessageUid(name)) continue;  // spare names have the form of message uids
    const int64_t size = RegularFileSize(dir_ + "/" + name);
    if (size < 0 || static_cast<uint64_t>(size) > kMaxFileBytes) continue;  // 0: stocked
    if (bytes_ + static_cast<uint64_t>(size) > kMaxBytes) break;
    AddLocked(Spare{name, static_cast<uint64_t>(size)});
  }
}

void SpareFiles::AddLocked(Spare spare) {
  bytes_ += spare.bytes;
  (spare.bytes > 0 ? written_ : empty_).push_back(std::move(spare));
}

bool SpareFiles::Put(const std::string& path) {
  const int64_t size = RegularFileSize(path);
  if (size <= 0 || static_cast<uint64_t>(size) > kMaxFileBytes) return false;
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  NoteActivity();
  if (bytes_ + static_cast<uint64_t>(size) > kMaxBytes) return false;
  if (CountLocked() >= kMaxFiles) {
    // Full: a written-over file displaces an empty one (it also saves the
    // next delivery its blocks); freeing the empty inode costs no more than
    // unlinking `path` would.
    if (empty_.empty()) return false;
    ::unlink((dir_ + "/" + empty_.back().name).c_str());
    empty_.pop_back();
  }
  std::string name = crypto::RandomHex(16);
  if (::rename(path.c_str(), (dir_ + "/" + name).c_str()) != 0) return false;
  AddLocked(Spare{std::move(name), static_cast<uint64_t>(size)});
  return true;
}

bool SpareFiles::Take(const std::string& dest) {
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  NoteActivity();
  if (stocker_full_wait_) {  // only a stocker that waits for the pool to shrink is woken
    stocker_full_wait_ = false;
    taken_or_stopped_.notify_all();
  }
  for (;;) {
    std::vector<Spare>& from = !written_.empty() ? written_ : empty_;
    if (from.empty()) break;
    Spare spare = std::move(from.back());
    from.pop_back();
    bytes_ -= spare.bytes;
    // The caller opens `dest` with O_NOFOLLOW and checks it is a regular
    // file (a symlink someone left under this name is never written through).
    if (::rename((dir_ + "/" + spare.name).c_str(), dest.c_str()) == 0) return true;
    // ENOENT: another instance took it; anything else: leave it there.
  }
  return false;
}

uint64_t SpareFiles::ReleaseWrittenOver() {
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  uint64_t released = 0;
  for (const Spare& spare : written_) {
    // ENOENT: another instance took it; either way it is no longer ours.
    if (::unlink((dir_ + "/" + spare.name).c_str()) == 0) released += spare.bytes;
    bytes_ -= spare.bytes;
  }
  written_.clear();
  return released;
}

size_t SpareFiles::Stock(size_t target, const std::function<bool()>& keep_going) {
  target = std::min(target, kMaxFiles);
  size_t made = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      LoadLocked();
      if (CountLocked() >= target) break;
    }
    if (!keep_going()) break;
    std::string name = crypto::RandomHex(16);
    const std::string path = dir_ + "/" + name;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) break;  // no directory, no space, no inodes: try again after the next Take()
    ::close(fd);
    std::lock_guard<std::mutex> lock(mu_);
    if (CountLocked() >= kMaxFiles) {  // a Put() filled the pool meanwhile
      ::unlink(path.c_str());
      break;
    }
    AddLocked(Spare{std::move(name), 0});
    ++made;
  }
  return made;
}

void SpareFiles::RunStocker(std::chrono::milliseconds idle, size_t target) {
  target = std::min(target, kMaxFiles);
  std::unique_lock<std::mutex> lock(mu_);
  LoadLocked();
  NoteActivity();  // not while the server starts
  while (!stopped_) {
    if (CountLocked() >= target) {
      stocker_full_wait_ = true;
      taken_or_stopped_.wait(lock, [this] { return stopped_ || !stocker_full_wait_; });
      continue;
    }
    const int64_t seen = last_activity_ns_.load(std::memory_order_relaxed);
    const Clock::time_point due = Clock::time_point(Clock::duration(seen)) + idle;
    if (Clock::now() < due) {  // mail is moving: wake when it may have paused
      taken_or_stopped_.wait_until(lock, due);
      continue;
    }
    lock.unlock();
    Stock(target, [this, seen] {
      std::lock_guard<std::mutex> guard(mu_);
      return !stopped_ && last_activity_ns_.load(std::memory_order_relaxed) == seen;
    });
    lock.lock();
    if (!stopped_ && last_activity_ns_.load(std::memory_order_relaxed) == seen &&
        CountLocked() < target) {
      // Stock() could not create a file: wait for a Take() rather than spin.
      stocker_full_wait_ = true;
      taken_or_stopped_.wait(lock, [this] { return stopped_ || !stocker_full_wait_; });
    }
  }
}

void SpareFiles::NoteActivity() {
  last_activity_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

void SpareFiles::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  taken_or_stopped_.notify_all();
}

size_t SpareFiles::count() {
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  return CountLocked();
}

size_t SpareFiles::empty_count() {
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  return empty_.size();
}

}  // namespace onionmail::store
