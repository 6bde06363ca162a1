// SpareFiles: message files that were securely deleted and are kept for reuse
// by the next deliveries instead of being unlinked (as PostgreSQL recycles its
// WAL segments). A delivery that takes a spare writes over blocks the file
// already owns: the filesystem allocates no inode and no blocks for it, and
// the deletion before freed none. On an ext4 without a journal this also
// spares every new file a walk past the inodes freed in the last minutes
// (docs/benchmarks-history.md, eighth session).
//
// Contract:
//  - The pool is one directory (<state>/spare, mode 0700) on the same
//    filesystem as the mailboxes and <state>/tmp; its files have random
//    32-hex-char names and hold only the random bytes SecureDeleteBatch wrote
//    over them, or nothing (stocked, below). It holds at most kMaxFiles files
//    and kMaxBytes bytes, and takes no file larger than kMaxFileBytes.
//  - Put(path): `path` is a regular file whose overwrite is on the device; true
//    when it was renamed into the pool (the caller fsyncs the directory it
//    left), false when the pool is full of written-over files or the rename
//    failed (the caller unlinks it as before). In a full pool it displaces
//    (unlinks) an empty spare.
//  - Take(dest): renames a spare to `dest` (a new name, same filesystem); true
//    if it did. The caller opens it without O_CREAT, writes from offset 0 and
//    truncates it to what it wrote before its fsync (stale bytes past the end
//    are the overwrite's random data, never message data). What it renames is
//    not checked: the caller opens it with O_NOFOLLOW and refuses anything
//    but a regular file.
//  - Stock(target, keep_going) creates empty files in the pool (O_EXCL, mode
//    0600, not fsync'd) until it holds `target` files or keep_going() says
//    stop; returns how many it created. An empty spare spares a delivery the
//    inode allocation only (the blocks come with its write). RunStocker() does
//    it in the background: once `idle` passed without NoteActivity() (counted
//    from its start at first), it stocks the pool up to `target` and stops at
//    the next activity; a stocked pool costs it no wake-up until a Take(). It
//    returns after Stop(). Take() prefers a written-over spare to an empty one.
//  - ReleaseWrittenOver() unlinks every written-over spare, giving its blocks
//    back to the filesystem (the empty ones hold none and stay); returns the
//    bytes it released. For a filesystem that runs low (store/free_space.h).
//  - Thread-safe. The directory is listed once, on first use; names it does
//    not hold (another process or instance took them) are skipped.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace onionmail::store {

class SpareFiles {
 public:
  static constexpr size_t kMaxFiles = 1024;
  static constexpr uint64_t kMaxBytes = uint64_t{64} << 20;     // 64 MiB
  static constexpr uint64_t kMaxFileBytes = uint64_t{1} << 20;  // 1 MiB
  // What RunStocker() stocks up to: half the pool, so that the files that
  // POP3 QUITs delete still find room (they save the blocks as well).
  static constexpr size_t kStockFiles = kMaxFiles / 2;

  explicit SpareFiles(std::string dir) : dir_(std::move(dir)) {}
  SpareFiles(const SpareFiles&) = delete;
  SpareFiles& operator=(const SpareFiles&) = delete;

  [[nodiscard]] bool Put(const std::string& path);
  [[nodiscard]] bool Take(const std::string& dest);
  uint64_t ReleaseWrittenOver();

  size_t Stock(size_t target, const std::function<bool()>& keep_going);
  void RunStocker(std::chrono::milliseconds idle, size_t target);
  void Stop();
  // Mail is being read or written (Take and Put call it too): RunStocker()
  // waits until `idle` has passed without any. Lock-free.
  void NoteActivity();

  size_t count();        // for tests and logs
  size_t empty_count();  // of which empty (stocked)

 private:
  struct Spare {
    std::string name;
    uint64_t bytes;
  };
  using Clock = std::chrono::steady_clock;
  void LoadLocked();  // lists dir_ once
  void AddLocked(Spare spare);
  size_t CountLocked() const { return written_.size() + empty_.size(); }

  const std::string dir_;
  std::mutex mu_;
  std::condition_variable taken_or_stopped_;
  bool loaded_ = false;
  std::vector<Spare> written_;  // written over by a secure delete: blocks and inode
  std::vector<Spare> empty_;    // stocked: an inode only
  uint64_t bytes_ = 0;
  std::atomic<int64_t> last_activity_ns_{0};  // steady_clock, NoteActivity()
  bool stocker_full_wait_ = false;            // RunStocker() waits for a Take()
  bool stopped_ = false;
};

}  // namespace onionmail::store
