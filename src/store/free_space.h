// FreeSpace: the reserve of free space that new mail may not take
// (store.min_free_mib), so that a small machine's disk never fills up with
// mail: its logs, the key role's records and the deletions a user makes to
// free space all need some. Postfix's queue_minfree, for the state directory.
//
// Contract:
//  - Check() is Ok while the filesystem of `path` has at least `min_free`
//    bytes available to unprivileged users (statvfs f_bavail, which leaves
//    out the blocks reserved for root), and kResourceExhausted ("insufficient
//    system storage: ...") below that. A min_free of 0 turns the check off
//    (Check() is always Ok and makes no system call). A statvfs that fails
//    is no reason to refuse mail: Ok, and the failure is logged once.
//  - It measures on every call (one statvfs, a few microseconds against a
//    delivery's milliseconds): a figure kept for a while would let a burst
//    of deliveries run through the reserve. Thread-safe.
//  - Crossing the line is logged once each way, not once per refusal:
//    "... below store.min_free_mib ...: refusing new mail" and "... accepting
//    mail again".
//  - Written-over spare files (store/spare_files.h) count as used: they are
//    reused by deliveries, but the filesystem does not see them as free.
//  - It bounds what the check lets in, not what is in flight: messages whose
//    recipients were accepted above the line may still take their size
//    below it (at most smtp.max_message_bytes each).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "base/result.h"

namespace onionmail::store {

class FreeSpace {
 public:
  FreeSpace(std::string path, uint64_t min_free_bytes)
      : path_(std::move(path)), min_free_(min_free_bytes) {}

  [[nodiscard]] Result<void> Check();
  // The verdict of the last Check() (false before the first): no system call.
  bool below() {
    std::lock_guard<std::mutex> lock(mu_);
    return below_;
  }

 private:
  const std::string path_;
  const uint64_t min_free_;
  std::mutex mu_;
  bool below_ = false;                  // guarded by mu_
  bool statvfs_failed_logged_ = false;  // guarded by mu_
};

}  // namespace onionmail::store
