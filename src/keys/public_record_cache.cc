// PublicRecordCache (see public_record_cache.h).
#include "keys/public_record_cache.h"

namespace onionmail::keys {

namespace {

int64_t Ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + static_cast<int64_t>(ts.tv_nsec);
}

}  // namespace

FileId FileIdOf(const struct stat& st) {
  return FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                static_cast<int64_t>(st.st_size), Ns(st.st_mtim), Ns(st.st_ctim)};
}

std::optional<UserPublic> PublicRecordCache::Find(const std::string& record_name,
                                                  const FileId& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(record_name);
  if (it == entries_.end()) return std::nullopt;
  if (!(it->second.id == id)) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.user;
}

void PublicRecordCache::Remember(const std::string& record_name, const FileId& id,
                                 const UserPublic& user) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= kMaxEntries && entries_.find(record_name) == entries_.end()) {
    entries_.clear();
  }
  entries_.insert_or_assign(record_name, Entry{id, user});
}

void PublicRecordCache::Forget(const std::string& record_name) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(record_name);
}

size_t PublicRecordCache::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace onionmail::keys
