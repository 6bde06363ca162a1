// MailboxUsage implementation; see mailbox_usage.h.
#include "store/mailbox_usage.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <utility>

#include "base/log.h"
#include "store/durable_file.h"
#include "store/mailbox_store.h"

namespace onionmail::store {
namespace {

std::string Size(uint64_t bytes) {
  char text[32];
  if (bytes < (uint64_t{1} << 20)) {
    std::snprintf(text, sizeof(text), "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  }
  return text;
}

// How a log line names a mailbox: enough to tell two apart, no more.
std::string ShortId(const std::string& mailbox_id) { return mailbox_id.substr(0, 8); }

}  // namespace

MailboxUsage::MailboxUsage(uint64_t quota_bytes, std::chrono::seconds max_age, Clock clock)
    : quota_(quota_bytes), max_age_(max_age), clock_(std::move(clock)) {}

Result<StoreSummary> SummarizeMailboxes(const std::string& state_dir, uint64_t quota_bytes) {
  const std::string mbox_dir = state_dir + "/mbox";
  StoreSummary summary;
  auto ids = ListDirectory(mbox_dir);
  if (!ids.ok()) {
    if (ids.error().code == ErrorCode::kNotFound) return summary;
    return ids.error();
  }
  for (const std::string& id : *ids) {
    if (!ValidMailboxId(id)) continue;
    auto size = MailboxUsage::Measure(mbox_dir + "/" + id);
    if (!size.ok()) return size.error();
    ++summary.mailboxes;
    summary.total.messages += size->messages;
    summary.total.bytes += size->bytes;
    if (quota_bytes != 0 && size->bytes >= quota_bytes) ++summary.at_quota;
  }
  return summary;
}

Result<uint64_t> MailboxUsage::Count(const std::string& dir) {
  auto size = Measure(dir);
  if (!size.ok()) return size.error();
  return size->bytes;
}

Result<MailboxSize> MailboxUsage::Measure(const std::string& dir) {
  auto names = ListDirectory(dir);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return MailboxSize{};
    return names.error();
  }
  MailboxSize size;
  for (const std::string& name : *names) {
    if (!ValidMessageUid(name)) continue;
    struct stat st;
    const std::string path = dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      return ErrnoError("cannot stat", path, errno);
    }
    if (!S_ISREG(st.st_mode)) continue;
    ++size.messages;
    size.bytes += static_cast<uint64_t>(st.st_size);
  }
  return size;
}

Result<void> MailboxUsage::Check(const std::string& mailbox_id, const std::string& dir,
                                 uint64_t incoming_bytes) {
  if (quota_ == 0) return Ok();
  const auto now = clock_();
  uint64_t bytes = 0;
  // Counted under the lock, so that a deletion's Forget() cannot land
  // between a count that saw the deleted files and its entry.
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(mailbox_id);
  if (it != entries_.end() && now - it->second.counted < max_age_) {
    bytes = it->second.bytes;
  } else {
    auto counted = Count(dir);
    if (!counted.ok()) {
      if (!count_failed_logged_) {
        log::Warning("store", "cannot count a mailbox's size (" + counted.error().message +
                                  "); store.mailbox_quota_mib is not enforced for it");
        count_failed_logged_ = true;
      }
      return Ok();
    }
    bytes = *counted;
    if (entries_.size() >= kMaxEntries) {
      entries_.clear();
      over_.clear();
    }
    entries_[mailbox_id] = Entry{bytes, now};
  }
  const bool over = bytes >= quota_;
  auto logged = over_.find(mailbox_id);
  const bool was_over = logged != over_.end();
  auto what = [&]() {
    return "mailbox " + ShortId(mailbox_id) + "... holds " + Size(bytes) +
           ", store.mailbox_quota_mib " + Size(quota_);
  };
  if (over && !was_over) {
    over_.insert(mailbox_id);
    log::Info("store", what() + ": refusing new mail for it (452 4.2.2)");
  } else if (!over && was_over) {
    over_.erase(logged);
    log::Info("store", what() + ": accepting its mail again");
  }
  if (!over && incoming_bytes > quota_ - bytes) {
    return MakeError(ErrorCode::kMailboxFull, "mailbox full for this message: " + Size(bytes) +
                                                  " of store.mailbox_quota_mib " + Size(quota_) +
                                                  ", and the sender declared " +
                                                  Size(incoming_bytes));
  }
  if (!over) return Ok();
  return MakeError(ErrorCode::kMailboxFull,
                   "mailbox full: " + Size(bytes) + " of store.mailbox_quota_mib " + Size(quota_));
}

void MailboxUsage::Added(const std::string& mailbox_id, uint64_t bytes) {
  if (quota_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(mailbox_id);
  if (it != entries_.end()) it->second.bytes += bytes;
}

void MailboxUsage::Forget(const std::string& mailbox_id) {
  if (quota_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(mailbox_id);
}

}  // namespace onionmail::store
