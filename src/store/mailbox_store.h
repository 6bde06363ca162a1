// MailboxStore: the mailbox directories of one state directory.
//
// Layout (see docs/store.md): <state>/mbox/<mailbox id>/ holds `lock` (the
// flock target) and message files named by a random 32-hex-char uid;
// messages being received live in <state>/tmp/ (same filesystem) until they
// are renamed into place; <state>/spare/ holds deleted message files, their
// bytes overwritten, for new messages to be written over (SpareFiles).
// Mailbox ids are keyed hashes (64 hex chars) chosen by the key service; this
// class never sees user names.
//
// Contract:
//  - Delivery needs only the recipient's public key; reading needs a
//    DataKeyUnwrapper (the authenticated inbox key).
//  - CommitAll() returns ok only when every message is fsync'd, renamed and
//    its directory fsync'd; on failure nothing it renamed stays visible. A
//    PendingMessage destroyed before it is published removes its temp file.
//  - One MailboxLock per mailbox at a time (flock LOCK_EX|LOCK_NB on the lock
//    file: conflicts across processes and across separate opens in one
//    process); a held lock gives kFailedPrecondition. List/Read/Delete need it.
//  - DeleteMany() offers each overwritten file to the spare pool instead of
//    unlinking it; BeginMessage() writes over a spare when there is one.
//  - CheckFreeSpace(): the reserve of `min_free_bytes` (store/free_space.h;
//    0: none). Below it, it first gives the written-over spares' blocks back
//    to the filesystem, and DeleteMany() unlinks instead of keeping spares,
//    so that a user deleting mail frees space that new mail can take.
//  - CheckQuota(id, incoming): the mailbox's quota of `mailbox_quota_bytes`
//    (store/mailbox_usage.h; 0: none): kMailboxFull once its message files
//    hold that much, or have no room for `incoming` bytes more. Published
//    messages are added to the kept count; any deletion makes it count the
//    mailbox again once it is done.
//  - SweepExpired() needs no keys: it deletes message files whose mtime (the
//    arrival time) is older than max_age, skipping locked mailboxes, and temp
//    files older than a day. All deletions are SecureDelete().
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/inbox_key.h"
#include "store/durable_file.h"
#include "store/file_lock.h"
#include "store/free_space.h"
#include "store/mailbox_usage.h"
#include "store/message_file.h"
#include "store/spare_files.h"

namespace onionmail::store {

bool ValidMailboxId(std::string_view id);    // 64 lower-case hex chars
bool ValidMessageUid(std::string_view uid);  // 32 lower-case hex chars

// One message being received for one mailbox.
class PendingMessage {
 public:
  ~PendingMessage();
  PendingMessage(const PendingMessage&) = delete;
  PendingMessage& operator=(const PendingMessage&) = delete;

  Result<void> Append(std::span<const uint8_t> bytes);
  const std::string& uid() const { return uid_; }
  uint64_t size() const { return encryptor_->size(); }

 private:
  friend class MailboxStore;
  friend Result<void> CommitAll(std::span<PendingMessage* const> messages);
  PendingMessage() = default;
  Result<void> Finish();   // final segment, meta slot, fsync
  Result<void> Publish();  // rename into the mailbox directory
  void Unpublish();        // best-effort removal after a failed CommitAll
  void Counted();          // after CommitAll: its bytes count against the quota

  enum class State { kWriting, kFinished, kPublished, kFailed };
  State state_ = State::kWriting;
  bool recycled_ = false;  // written over a spare file: truncate before the fsync
  std::string tmp_path_;
  std::string final_path_;
  std::string mailbox_dir_;
  std::string uid_;
  std::string mailbox_id_;
  MailboxUsage* usage_ = nullptr;  // the store's, which outlives its messages
  uint64_t file_bytes_ = 0;        // the finished file's size
  UniqueFd fd_;
  std::unique_ptr<MessageEncryptor> encryptor_;
};

// Makes every message durable and visible, or none (see contract above).
Result<void> CommitAll(std::span<PendingMessage* const> messages);

class MailboxLock {
 public:
  const std::string& mailbox_id() const { return mailbox_id_; }

 private:
  friend class MailboxStore;
  MailboxLock(std::string mailbox_id, FileLock lock)
      : mailbox_id_(std::move(mailbox_id)), lock_(std::move(lock)) {}
  std::string mailbox_id_;
  FileLock lock_;  // released with the MailboxLock
};

struct StoredMessage {
  std::string uid;
  MessageMeta meta;
};

class MailboxStore {
 public:
  explicit MailboxStore(std::string state_dir, uint64_t min_free_bytes = 0,
                        uint64_t mailbox_quota_bytes = 0);

  // Ok while the state's filesystem has its reserve; kResourceExhausted
  // below it, after the spare pool gave back what it held (see above).
  [[nodiscard]] Result<void> CheckFreeSpace();
  // Ok while the mailbox holds less than its quota and has room for
  // `incoming_bytes` (a declared size; 0: unknown); kMailboxFull otherwise.
  [[nodiscard]] Result<void> CheckQuota(const std::string& mailbox_id, uint64_t incoming_bytes = 0);

  Result<std::unique_ptr<PendingMessage>> BeginMessage(const std::string& mailbox_id,
                                                       const crypto::InboxPublicKey& recipient);

  // kFailedPrecondition when another holder has the lock.
  Result<std::unique_ptr<MailboxLock>> Lock(const std::string& mailbox_id);

  // Messages ordered by arrival time, then uid. Files that fail to open
  // (corrupt, foreign key) are skipped and logged without details.
  Result<std::vector<StoredMessage>> List(const MailboxLock& lock, const DataKeyUnwrapper& unwrap);
  Result<void> Read(const MailboxLock& lock, const std::string& uid, const DataKeyUnwrapper& unwrap,
                    const crypto::ByteSink& sink);
  Result<void> Delete(const MailboxLock& lock, const std::string& uid);
  // Deletes several messages with one directory fsync (SecureDeleteBatch):
  // deletes all it can, returns the first error (kNotFound for a missing or
  // malformed uid). Ok means every named file is gone and that is durable.
  Result<void> DeleteMany(const MailboxLock& lock, std::span<const std::string> uids);

  // Securely deletes every file of the mailbox and its directory. Takes the
  // lock itself (kFailedPrecondition if held). Ok if there is no mailbox.
  Result<void> DeleteMailbox(const std::string& mailbox_id);

  // Returns the number of message files removed.
  Result<size_t> SweepExpired(std::chrono::seconds max_age);

  std::string MailboxDir(const std::string& mailbox_id) const;

  // Stocks <state>/spare with empty files, up to SpareFiles::kStockFiles,
  // whenever no mail was written, listed, read or deleted for kSpareStockIdle
  // (SpareFiles::RunStocker), so that the next deliveries need not allocate
  // an inode; returns after StopSpareStocker(). The key role runs it
  // in a thread of its own; nothing else needs to.
  static constexpr std::chrono::milliseconds kSpareStockIdle{200};
  void RunSpareStocker();
  void StopSpareStocker();

 private:
  Result<std::unique_ptr<MailboxLock>> TryLock(const std::string& mailbox_id, bool create_dir);
  Result<size_t> SweepMailbox(const std::string& mailbox_id, int64_t cutoff_unix);
  Result<void> SweepTmp(int64_t cutoff_unix);

  std::string state_dir_;
  std::string mbox_dir_;
  std::string tmp_dir_;
  std::unique_ptr<SpareFiles> spares_;  // <state>/spare: deleted messages kept for reuse
  FreeSpace free_space_;
  MailboxUsage usage_;
};

}  // namespace onionmail::store
