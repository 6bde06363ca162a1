// MailboxUsage: the per-mailbox quota (store.mailbox_quota_mib), so that one
// user's mail cannot fill the disk that every user's mail shares. The
// recipient check (RCPT) asks it; a mailbox at or over its quota takes no new
// mail (SMTP 452 4.2.2, senders retry) until its user deletes some.
//
// Contract:
//  - Check(id, dir, incoming) is Ok while the message files in `dir` (names
//    that are message uids; the lock file and anything else do not count)
//    hold fewer than `quota` bytes (their st_size: what the files take,
//    padding included) and have room for `incoming` more (a size the sender
//    declared; 0 when unknown), and kMailboxFull ("mailbox full: ...")
//    otherwise. A quota of 0 turns the check off (no system call). A
//    missing directory holds 0 bytes. A directory that cannot be read is no
//    reason to refuse mail: Ok, and the failure is logged once.
//  - It is a soft quota, checked before the message: a message whose
//    recipient was accepted below the quota is stored whole, so a mailbox
//    may pass its quota by at most one message per delivery in flight (each
//    at most smtp.max_message_bytes). A delivery never fails half-way
//    because of it.
//  - Counting reads the directory (one lstat per file), so a count is kept
//    for `max_age`: the store adds what it publishes (Added) and forgets a
//    mailbox once it deleted from it (Forget), so the kept count follows
//    this process's changes; changes by another process (onionmailctl user
//    del) are seen within max_age. A count holds the table's lock (a few
//    milliseconds for thousands of files, once a minute per mailbox), so a
//    Forget() is never undone by a count that began before the deletion; a
//    message published while its mailbox is counted may be counted twice
//    until the next count, which errs on the side of the quota.
//  - Crossing the quota is logged once each way per mailbox (a message
//    refused for want of room alone is not: it is one sender's), naming the
//    mailbox by the first 8 hex digits of its id (a keyed hash, never the
//    user's name); at most kMaxEntries mailboxes are kept (then all are
//    forgotten and counted again when asked). Thread-safe.
//  - SummarizeMailboxes(state_dir, quota) reads every mailbox directory of a
//    state (no keys needed: the names are hashes) for `onionmailctl status`:
//    how many mailboxes, messages and bytes, and how many mailboxes hold
//    their quota (0 when the quota is off).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "base/result.h"

namespace onionmail::store {

// What the message files of one mailbox, or of a whole state, hold.
struct MailboxSize {
  size_t messages = 0;
  uint64_t bytes = 0;
};

struct StoreSummary {
  size_t mailboxes = 0;
  MailboxSize total;
  size_t at_quota = 0;
};

Result<StoreSummary> SummarizeMailboxes(const std::string& state_dir, uint64_t quota_bytes);

class MailboxUsage {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::seconds kDefaultMaxAge{60};
  static constexpr size_t kMaxEntries = 4096;

  explicit MailboxUsage(uint64_t quota_bytes, std::chrono::seconds max_age = kDefaultMaxAge,
                        Clock clock = std::chrono::steady_clock::now);

  [[nodiscard]] Result<void> Check(const std::string& mailbox_id, const std::string& dir,
                                   uint64_t incoming_bytes = 0);
  // A message file of `bytes` was published in mailbox `mailbox_id`.
  void Added(const std::string& mailbox_id, uint64_t bytes);
  // Files were deleted from the mailbox (or the mailbox itself).
  void Forget(const std::string& mailbox_id);

  // The bytes the message files of `dir` hold, counted now (kNotFound never:
  // a missing directory holds 0). For Check() and the tests.
  static Result<uint64_t> Count(const std::string& dir);
  // The same with the number of message files.
  static Result<MailboxSize> Measure(const std::string& dir);

  uint64_t quota_bytes() const { return quota_; }

 private:
  struct Entry {
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point counted;
  };

  const uint64_t quota_;
  const std::chrono::seconds max_age_;
  const Clock clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  std::unordered_set<std::string> over_;            // logged as over; guarded by mu_
  bool count_failed_logged_ = false;                // guarded by mu_
};

}  // namespace onionmail::store
