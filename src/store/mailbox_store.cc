// MailboxStore (see mailbox_store.h, docs/store.md).
#include "store/mailbox_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "base/log.h"
#include "crypto/random.h"

namespace onionmail::store {

namespace {

constexpr char kLockName[] = "lock";
constexpr int64_t kTmpMaxAgeSeconds = 24 * 60 * 60;

bool IsLowerHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t NowUnixNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// True for a regular file (not followed if a symlink) older than the cutoff.
bool IsRegularFileOlderThan(const std::string& path, int64_t cutoff_unix) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  return S_ISREG(st.st_mode) && static_cast<int64_t>(st.st_mtim.tv_sec) < cutoff_unix;
}

// Opens a file taken from the spare pool for writing from offset 0; it must
// be a regular file (never through a symlink).
Result<UniqueFd> OpenSpare(const std::string& path) {
  int raw = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return ErrnoError("cannot open", path, errno);
  UniqueFd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return MakeError(ErrorCode::kInternal, path + " is not a file");
  return fd;
}

// Makes the quota's count of a mailbox be counted again once the deletions
// of this scope are done, whichever way it is left: a count taken while
// they ran may have seen some of the files.
class ForgetWhenDone {
 public:
  ForgetWhenDone(MailboxUsage& usage, const std::string& mailbox_id, bool armed = true)
      : usage_(usage), mailbox_id_(mailbox_id), armed_(armed) {}
  ~ForgetWhenDone() {
    if (armed_) usage_.Forget(mailbox_id_);
  }
  ForgetWhenDone(const ForgetWhenDone&) = delete;
  ForgetWhenDone& operator=(const ForgetWhenDone&) = delete;
  void Arm() { armed_ = true; }

 private:
  MailboxUsage& usage_;
  const std::string& mailbox_id_;
  bool armed_;
};

}  // namespace

bool ValidMailboxId(std::string_view id) { return IsLowerHex(id, 64); }
bool ValidMessageUid(std::string_view uid) { return IsLowerHex(uid, 32); }

// ------------------------------------------------------------ PendingMessage

PendingMessage::~PendingMessage() {
  if (state_ == State::kPublished) return;
  fd_.Reset();
  if (tmp_path_.empty()) return;
  if (!SecureDelete(tmp_path_).ok()) ::unlink(tmp_path_.c_str());
}

Result<void> PendingMessage::Append(std::span<const uint8_t> bytes) {
  if (state_ != State::kWriting) {
    return MakeError(ErrorCode::kFailedPrecondition, "message is no longer being written");
  }
  auto r = encryptor_->Update(bytes, [this](std::span<const uint8_t> segment) {
    return WriteAll(fd_.get(), segment, tmp_path_);
  });
  if (!r.ok()) state_ = State::kFailed;
  return r;
}

Result<void> PendingMessage::Finish() {
  if (state_ != State::kWriting) {
    return MakeError(ErrorCode::kFailedPrecondition, "message is no longer being written");
  }
  state_ = State::kFailed;  // until proven otherwise
  auto slot = encryptor_->Finish(NowUnixNs(), [this](std::span<const uint8_t> segment) {
    return WriteAll(fd_.get(), segment, tmp_path_);
  });
  if (!slot.ok()) return slot.error();
  ONIONMAIL_RETURN_IF_ERROR(PwriteAll(fd_.get(), *slot, encryptor_->header().size(), tmp_path_));
  // The writes were sequential (the meta slot's pwrite moves no offset), so
  // the offset is the message's end.
  const off_t end = ::lseek(fd_.get(), 0, SEEK_CUR);
  if (end < 0) return ErrnoError("cannot seek", tmp_path_, errno);
  // A spare's old bytes past the message's end are cut.
  if (recycled_ && ::ftruncate(fd_.get(), end) != 0) {
    return ErrnoError("cannot truncate", tmp_path_, errno);
  }
  file_bytes_ = static_cast<uint64_t>(end);
  ONIONMAIL_RETURN_IF_ERROR(SyncFd(fd_.get(), tmp_path_));
  fd_.Reset();
  state_ = State::kFinished;
  return Ok();
}

Result<void> PendingMessage::Publish() {
  if (state_ != State::kFinished) {
    return MakeError(ErrorCode::kFailedPrecondition, "message is not finished");
  }
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    state_ = State::kFailed;
    return ErrnoError("cannot rename into", final_path_, errno);
  }
  state_ = State::kPublished;
  return Ok();
}

void PendingMessage::Counted() {
  if (state_ == State::kPublished && usage_ != nullptr) usage_->Added(mailbox_id_, file_bytes_);
}

void PendingMessage::Unpublish() {
  if (state_ != State::kPublished) return;
  if (!SecureDelete(final_path_).ok()) ::unlink(final_path_.c_str());
  state_ = State::kFailed;
  tmp_path_.clear();  // renamed away: nothing left to remove
}

Result<void> CommitAll(std::span<PendingMessage* const> messages) {
  for (PendingMessage* m : messages) {
    if (m->state_ != PendingMessage::State::kWriting) {
      return MakeError(ErrorCode::kFailedPrecondition, "message is no longer being written");
    }
  }
  for (PendingMessage* m : messages) ONIONMAIL_RETURN_IF_ERROR(m->Finish());
  auto undo = [&]() {
    for (PendingMessage* m : messages) m->Unpublish();
  };
  for (PendingMessage* m : messages) {
    auto r = m->Publish();
    if (!r.ok()) {
      undo();
      return r.error();
    }
  }
  std::set<std::string> dirs;
  for (PendingMessage* m : messages) dirs.insert(m->mailbox_dir_);
  for (const std::string& dir : dirs) {
    auto r = SyncDir(dir);
    if (!r.ok()) {
      undo();
      return r.error();
    }
  }
  for (PendingMessage* m : messages) m->Counted();
  return Ok();
}

// -------------------------------------------------------------- MailboxStore

MailboxStore::MailboxStore(std::string state_dir, uint64_t min_free_bytes,
                           uint64_t mailbox_quota_bytes)
    : state_dir_(std::move(state_dir)),
      mbox_dir_(state_dir_ + "/mbox"),
      tmp_dir_(state_dir_ + "/tmp"),
      spares_(std::make_unique<SpareFiles>(state_dir_ + "/spare")),
      free_space_(state_dir_, min_free_bytes),
      usage_(mailbox_quota_bytes) {}

Result<void> MailboxStore::CheckQuota(const std::string& mailbox_id, uint64_t incoming_bytes) {
  if (!ValidMailboxId(mailbox_id)) {
    return MakeError(ErrorCode::kInvalidArgument, "malformed mailbox id");
  }
  return usage_.Check(mailbox_id, MailboxDir(mailbox_id), incoming_bytes);
}

Result<void> MailboxStore::CheckFreeSpace() {
  Result<void> r = free_space_.Check();
  if (r.ok()) return r;
  const uint64_t released = spares_->ReleaseWrittenOver();
  if (released == 0) return r;
  log::Info("store", "low on space: gave back " + std::to_string(released >> 10) +
                         " KiB of deleted message files kept for reuse");
  return free_space_.Check();
}

void MailboxStore::RunSpareStocker() {
  spares_->RunStocker(kSpareStockIdle, SpareFiles::kStockFiles);
}

void MailboxStore::StopSpareStocker() { spares_->Stop(); }

std::string MailboxStore::MailboxDir(const std::string& mailbox_id) const {
  return mbox_dir_ + "/" + mailbox_id;
}

Result<std::unique_ptr<PendingMessage>> MailboxStore::BeginMessage(
    const std::string& mailbox_id, const crypto::InboxPublicKey& recipient) {
  if (!ValidMailboxId(mailbox_id)) {
    return MakeError(ErrorCode::kInvalidArgument, "malformed mailbox id");
  }
  ONIONMAIL_RETURN_IF_ERROR(EnsurePrivateDir(tmp_dir_));
  ONIONMAIL_RETURN_IF_ERROR(EnsurePrivateDir(mbox_dir_));
  ONIONMAIL_RETURN_IF_ERROR(EnsurePrivateDir(MailboxDir(mailbox_id)));
  auto encryptor = MessageEncryptor::Create(recipient);
  if (!encryptor.ok()) return encryptor.error();

  auto msg = std::unique_ptr<PendingMessage>(new PendingMessage());
  msg->uid_ = crypto::RandomHex(16);
  msg->mailbox_id_ = mailbox_id;
  msg->usage_ = &usage_;
  msg->mailbox_dir_ = MailboxDir(mailbox_id);
  msg->final_path_ = msg->mailbox_dir_ + "/" + msg->uid_;
  std::string tmp_path = tmp_dir_ + "/" + crypto::RandomHex(16);
  Result<UniqueFd> fd = MakeError(ErrorCode::kNotFound, "no spare file");
  if (spares_->Take(tmp_path)) {
    fd = OpenSpare(tmp_path);
    if (!fd.ok()) {  // not a regular file of ours after all: drop it, write a new one
      ::unlink(tmp_path.c_str());
      tmp_path = tmp_dir_ + "/" + crypto::RandomHex(16);
    }
  }
  msg->recycled_ = fd.ok();
  if (!fd.ok()) fd = CreateExclusive(tmp_path);
  if (!fd.ok()) return fd.error();
  msg->tmp_path_ = tmp_path;  // from here on the destructor removes it
  msg->fd_ = std::move(*fd);
  msg->encryptor_ = std::move(*encryptor);
  // Header, then a placeholder for the meta slot (filled in by Finish()).
  const std::vector<uint8_t> placeholder(kMessageMetaSlotBytes, 0);
  ONIONMAIL_RETURN_IF_ERROR(WriteAll(msg->fd_.get(), msg->encryptor_->header(), tmp_path));
  ONIONMAIL_RETURN_IF_ERROR(WriteAll(msg->fd_.get(), placeholder, tmp_path));
  return msg;
}

Result<std::unique_ptr<MailboxLock>> MailboxStore::TryLock(const std::string& mailbox_id,
                                                           bool create_dir) {
  if (!ValidMailboxId(mailbox_id)) {
    return MakeError(ErrorCode::kInvalidArgument, "malformed mailbox id");
  }
  const std::string dir = MailboxDir(mailbox_id);
  if (create_dir) {
    ONIONMAIL_RETURN_IF_ERROR(EnsurePrivateDir(mbox_dir_));
    ONIONMAIL_RETURN_IF_ERROR(EnsurePrivateDir(dir));
  }
  const std::string path = dir + "/" + kLockName;
  auto lock = FileLock::Acquire(path, FileLock::Wait::kTry);
  if (!lock.ok()) {
    if (lock.error().code == ErrorCode::kFailedPrecondition) {
      return MakeError(ErrorCode::kFailedPrecondition, "mailbox is in use");
    }
    return lock.error();
  }
  return std::unique_ptr<MailboxLock>(new MailboxLock(mailbox_id, std::move(*lock)));
}

Result<std::unique_ptr<MailboxLock>> MailboxStore::Lock(const std::string& mailbox_id) {
  spares_->NoteActivity();  // a POP3 session: no stocking meanwhile
  return TryLock(mailbox_id, /*create_dir=*/true);
}

Result<std::vector<StoredMessage>> MailboxStore::List(const MailboxLock& lock,
                                                      const DataKeyUnwrapper& unwrap) {
  spares_->NoteActivity();
  const std::string dir = MailboxDir(lock.mailbox_id());
  auto names = ListDirectory(dir);
  if (!names.ok()) return names.error();
  std::vector<StoredMessage> out;
  size_t skipped = 0;
  for (const std::string& name : *names) {
    if (!ValidMessageUid(name)) continue;
    const std::string path = dir + "/" + name;
    auto fd = OpenForRead(path);
    auto reader = fd.ok() ? MessageReader::Open(fd->get(), path, unwrap)
                          : Result<std::unique_ptr<MessageReader>>(fd.error());
    if (!reader.ok()) {
      ErrorCode code = reader.error().code;
      if (code == ErrorCode::kDataLoss) ++skipped;
      if (code == ErrorCode::kDataLoss || code == ErrorCode::kNotFound) continue;
      return reader.error();
    }
    out.push_back(StoredMessage{name, (*reader)->meta()});
  }
  if (skipped > 0) {
    log::Warning("store", "skipped " + std::to_string(skipped) + " unreadable message file(s)");
  }
  std::sort(out.begin(), out.end(), [](const StoredMessage& a, const StoredMessage& b) {
    if (a.meta.received_unix_ns != b.meta.received_unix_ns) {
      return a.meta.received_unix_ns < b.meta.received_unix_ns;
    }
    return a.uid < b.uid;
  });
  return out;
}

Result<void> MailboxStore::Read(const MailboxLock& lock, const std::string& uid,
                                const DataKeyUnwrapper& unwrap, const crypto::ByteSink& sink) {
  spares_->NoteActivity();
  if (!ValidMessageUid(uid)) return MakeError(ErrorCode::kNotFound, "no such message");
  const std::string path = MailboxDir(lock.mailbox_id()) + "/" + uid;
  auto fd = OpenForRead(path);
  if (!fd.ok()) return fd.error();
  auto reader = MessageReader::Open(fd->get(), path, unwrap);
  if (!reader.ok()) return reader.error();
  return (*reader)->ReadBody(sink);
}

Result<void> MailboxStore::Delete(const MailboxLock& lock, const std::string& uid) {
  if (!ValidMessageUid(uid)) return MakeError(ErrorCode::kNotFound, "no such message");
  ForgetWhenDone forget(usage_, lock.mailbox_id());
  return SecureDelete(MailboxDir(lock.mailbox_id()) + "/" + uid);
}

Result<void> MailboxStore::DeleteMany(const MailboxLock& lock, std::span<const std::string> uids) {
  spares_->NoteActivity();
  const std::string dir = MailboxDir(lock.mailbox_id());
  std::vector<std::string> paths;
  bool malformed = false;
  for (const std::string& uid : uids) {
    if (ValidMessageUid(uid)) {
      paths.push_back(dir + "/" + uid);
    } else {
      malformed = true;
    }
  }
  ForgetWhenDone forget(usage_, lock.mailbox_id());  // counted again at its next delivery
  // Below the reserve a deleted file's blocks go back to the filesystem.
  auto r = SecureDeleteBatch(paths, [this](const std::string& path) {
    return !free_space_.below() && spares_->Put(path);
  });
  if (!r.ok()) return r;
  if (malformed) return MakeError(ErrorCode::kNotFound, "no such message");
  return Ok();
}

Result<void> MailboxStore::DeleteMailbox(const std::string& mailbox_id) {
  if (!ValidMailboxId(mailbox_id)) {
    return MakeError(ErrorCode::kInvalidArgument, "malformed mailbox id");
  }
  const std::string dir = MailboxDir(mailbox_id);
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok();
    return ErrnoError("cannot stat", dir, errno);
  }
  auto lock = TryLock(mailbox_id, /*create_dir=*/false);
  if (!lock.ok()) return lock.error();
  ForgetWhenDone forget(usage_, mailbox_id);
  auto names = ListDirectory(dir);
  if (!names.ok()) return names.error();
  for (const std::string& name : *names) {
    if (name == kLockName) continue;
    ONIONMAIL_RETURN_IF_ERROR(SecureDelete(dir + "/" + name));
  }
  const std::string lock_path = dir + "/" + kLockName;
  if (::unlink(lock_path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("cannot unlink", lock_path, errno);
  }
  if (::rmdir(dir.c_str()) != 0) return ErrnoError("cannot remove directory", dir, errno);
  return SyncDir(mbox_dir_);
}

Result<size_t> MailboxStore::SweepMailbox(const std::string& mailbox_id, int64_t cutoff_unix) {
  auto lock = TryLock(mailbox_id, /*create_dir=*/false);
  if (!lock.ok()) {
    if (lock.error().code == ErrorCode::kFailedPrecondition) return size_t{0};  // in use
    if (lock.error().code == ErrorCode::kNotFound) return size_t{0};            // deleted meanwhile
    return lock.error();
  }
  const std::string dir = MailboxDir(mailbox_id);
  auto names = ListDirectory(dir);
  if (!names.ok()) return names.error();
  size_t removed = 0;
  ForgetWhenDone forget(usage_, mailbox_id, /*armed=*/false);
  for (const std::string& name : *names) {
    if (!ValidMessageUid(name)) continue;
    const std::string path = dir + "/" + name;
    if (!IsRegularFileOlderThan(path, cutoff_unix)) continue;
    forget.Arm();
    ONIONMAIL_RETURN_IF_ERROR(SecureDelete(path));
    ++removed;
  }
  return removed;
}

Result<void> MailboxStore::SweepTmp(int64_t cutoff_unix) {
  auto names = ListDirectory(tmp_dir_);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return Ok();
    return names.error();
  }
  for (const std::string& name : *names) {
    const std::string path = tmp_dir_ + "/" + name;
    if (!IsRegularFileOlderThan(path, cutoff_unix)) continue;
    auto r = SecureDelete(path);
    if (!r.ok() && r.error().code != ErrorCode::kNotFound) return r;
  }
  return Ok();
}

Result<size_t> MailboxStore::SweepExpired(std::chrono::seconds max_age) {
  const int64_t now = NowUnix();
  ONIONMAIL_RETURN_IF_ERROR(SweepTmp(now - kTmpMaxAgeSeconds));
  auto names = ListDirectory(mbox_dir_);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return size_t{0};
    return names.error();
  }
  const int64_t cutoff = now - static_cast<int64_t>(max_age.count());
  size_t removed = 0;
  Result<void> first_error = Ok();
  for (const std::string& id : *names) {
    if (!ValidMailboxId(id)) continue;
    auto n = SweepMailbox(id, cutoff);
    if (n.ok()) {
      removed += *n;
    } else if (first_error.ok()) {
      first_error = n.error();  // keep sweeping the other mailboxes
    }
  }
  if (!first_error.ok()) return first_error.error();
  return removed;
}

}  // namespace onionmail::store
