// MailingLists (see mailing_lists.h).
#include "keys/mailing_lists.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "crypto/hex.h"
#include "mail/backend.h"
#include "store/durable_file.h"

namespace onionmail::keys {

namespace {

constexpr uint8_t kListVersion = 1;
constexpr std::string_view kFilePurpose = "list";
constexpr std::string_view kAadPrefix = "onionmail-list-v1:";
constexpr size_t kFileIdChars = 64;
constexpr size_t kMaxNameBytes = 64;  // a local part
constexpr size_t kMaxEncodedBytes =
    1 + (1 + kMaxNameBytes) * 2 + 2 + mail::kMaxListMembers * (1 + kMaxNameBytes);
// Sealing adds a nonce and a tag (and a version byte or so); leave room.
constexpr size_t kMaxSealedBytes = kMaxEncodedBytes + 1024;

bool ValidFileId(std::string_view id) {
  return id.size() == kFileIdChars && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Built as a string: GCC 12 reports a false -Warray-bounds for a vector of
// the 18-byte prefix with the id inserted after it.
std::vector<uint8_t> Aad(const std::string& file_id) {
  const std::string aad = std::string(kAadPrefix) + file_id;
  return std::vector<uint8_t>(aad.begin(), aad.end());
}

void PutString(std::vector<uint8_t>& out, std::string_view s) {
  out.push_back(static_cast<uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

// The caller passes a valid name and a well-formed record (within limits).
std::vector<uint8_t> Encode(std::string_view name, const mail::ListRecord& record) {
  std::vector<uint8_t> out;
  out.reserve(5 + name.size() + record.owner.size() + record.members.size() * 16);
  out.push_back(kListVersion);
  PutString(out, name);
  PutString(out, record.owner);
  out.push_back(static_cast<uint8_t>(record.members.size() >> 8));
  out.push_back(static_cast<uint8_t>(record.members.size() & 0xff));
  for (const std::string& member : record.members) PutString(out, member);
  return out;
}

Error Corrupt() { return MakeError(ErrorCode::kDataLoss, "mailing list file is corrupt"); }

struct Decoded {
  std::string name;
  mail::ListRecord record;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool Byte(uint8_t& out) {
    if (pos_ >= bytes_.size()) return false;
    out = bytes_[pos_++];
    return true;
  }
  bool String(std::string& out) {
    uint8_t len = 0;
    if (!Byte(len) || len > bytes_.size() - pos_) return false;
    out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return true;
  }
  bool AtEnd() const { return pos_ == bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

Result<Decoded> Decode(std::span<const uint8_t> bytes) {
  Reader in(bytes);
  Decoded out;
  uint8_t version = 0, hi = 0, lo = 0;
  if (!in.Byte(version) || version != kListVersion) return Corrupt();
  if (!in.String(out.name) || !mail::ValidListName(out.name)) return Corrupt();
  if (!in.String(out.record.owner)) return Corrupt();
  if (!in.Byte(hi) || !in.Byte(lo)) return Corrupt();
  const size_t count = (size_t{hi} << 8) | lo;
  if (count > mail::kMaxListMembers) return Corrupt();
  out.record.members.resize(count);
  for (std::string& member : out.record.members) {
    if (!in.String(member)) return Corrupt();
  }
  if (!in.AtEnd() || !mail::WellFormedListRecord(out.record)) return Corrupt();
  return out;
}

// The whole file behind `fd`, at most max_bytes (kDataLoss if longer).
Result<std::vector<uint8_t>> ReadAll(int fd, size_t max_bytes, const std::string& path) {
  std::vector<uint8_t> out;
  std::array<uint8_t, 16384> buf;
  for (;;) {
    auto got = store::ReadSome(fd, buf, path);
    if (!got.ok()) return got.error();
    if (*got == 0) return out;
    if (out.size() + *got > max_bytes) return Corrupt();
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*got));
  }
}

bool IsMember(const mail::ListRecord& record, std::string_view user) {
  return std::binary_search(record.members.begin(), record.members.end(), user);
}

}  // namespace

MailingLists::MailingLists(hsm::KeyStore& keys, std::string dir)
    : keys_(keys), dir_(std::move(dir)), tmp_dir_(dir_ + "/.tmp") {}

Result<std::string> MailingLists::FileIdFor(std::string_view name) {
  if (!mail::ValidListName(name)) {
    return MakeError(ErrorCode::kInvalidArgument, "bad mailing list name");
  }
  auto digest = keys_.KeyedHash(kFilePurpose, AsBytes(name));
  if (!digest.ok()) return digest.error();
  return crypto::ToHex(*digest);
}

Result<MailingLists::StoredPtr> MailingLists::LoadFile(const std::string& file_id) {
  const std::string path = PathOf(file_id);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return store::ErrnoError("cannot stat", path, errno);
    Forget(file_id);
    return StoredPtr();
  }
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(file_id);
    if (it != cache_.end()) {
      if (it->second.id == FileIdOf(st)) return it->second.stored;
      cache_.erase(it);
    }
  }
  auto fd = store::OpenForRead(path);
  if (!fd.ok()) {
    if (fd.error().code == ErrorCode::kNotFound) return StoredPtr();  // deleted meanwhile
    return fd.error();
  }
  // The identity of what is read, not of what was lstat'ed: a file replaced
  // in between is cached under its own identity.
  if (::fstat(fd->get(), &st) != 0) return store::ErrnoError("cannot stat", path, errno);
  auto sealed = ReadAll(fd->get(), kMaxSealedBytes, path);
  if (!sealed.ok()) return sealed.error();
  auto plain = keys_.OpenRecord(*sealed, Aad(file_id));
  if (!plain.ok()) return MakeError(ErrorCode::kDataLoss, "mailing list failed authentication");
  auto decoded = Decode(plain->Reveal(SecretAccess::Grant()));
  if (!decoded.ok()) return decoded.error();
  StoredPtr stored =
      std::make_shared<const Stored>(Stored{std::move(decoded->name), std::move(decoded->record)});
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= kMaxCachedLists && cache_.find(file_id) == cache_.end()) cache_.clear();
  cache_.insert_or_assign(file_id, Cached{FileIdOf(st), stored});
  return stored;
}

Result<void> MailingLists::Store(const std::string& file_id, std::string_view name,
                                 const mail::ListRecord& record) {
  std::vector<uint8_t> encoded = Encode(name, record);
  auto sealed = keys_.SealRecord(encoded, Aad(file_id));
  WipeMemory(encoded.data(), encoded.size());
  if (!sealed.ok()) return sealed.error();
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(dir_));
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(tmp_dir_));
  // Forgotten rather than cached under the new file's identity: lstat'ing it
  // after the rename could see another writer's file. The next read opens it.
  Forget(file_id);
  return store::WriteFileDurably(tmp_dir_, PathOf(file_id), *sealed, /*replace=*/true);
}

Result<void> MailingLists::Delete(const std::string& file_id) {
  Forget(file_id);
  auto deleted = store::SecureDelete(PathOf(file_id));
  if (!deleted.ok() && deleted.error().code != ErrorCode::kNotFound) return deleted.error();
  return Ok();
}

void MailingLists::Forget(const std::string& file_id) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_.erase(file_id);
}

Result<std::optional<mail::ListRecord>> MailingLists::Load(std::string_view name) {
  auto file_id = FileIdFor(name);
  if (!file_id.ok()) return file_id.error();
  return LoadNamed(*file_id, name);
}

Result<std::optional<mail::ListRecord>> MailingLists::LoadNamed(const std::string& file_id,
                                                                std::string_view name) {
  auto stored = LoadFile(file_id);
  if (!stored.ok()) return stored.error();
  if (*stored == nullptr) return std::optional<mail::ListRecord>();
  if ((*stored)->name != name) {
    return MakeError(ErrorCode::kDataLoss, "mailing list file holds another list");
  }
  return std::optional<mail::ListRecord>((*stored)->record);
}

Result<mail::ListRecord> MailingLists::Apply(std::string_view name, std::string_view actor,
                                             mail::ListOp op, std::string_view user,
                                             const UserExists& user_exists) {
  auto file_id = FileIdFor(name);
  if (!file_id.ok()) return file_id.error();
  if (op == mail::ListOp::kShow || op == mail::ListOp::kPost) {  // reads: no write lock
    auto current = LoadNamed(*file_id, name);
    if (!current.ok()) return current.error();
    auto same = mail::ApplyListOp(*current, op, actor, user);
    if (!same.ok()) return same.error();
    if (!same->has_value()) return MakeError(ErrorCode::kInternal, "a read deleted a list");
    return std::move(**same);
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  auto current = LoadNamed(*file_id, name);
  if (!current.ok()) return current.error();
  auto next = mail::ApplyListOp(*current, op, actor, user);
  if (!next.ok()) return next.error();
  if (op == mail::ListOp::kCreate) {
    auto count = Count();
    if (!count.ok()) return count.error();
    if (*count >= mail::kMaxLists) {
      return MakeError(ErrorCode::kResourceExhausted, "the server holds its most mailing lists");
    }
  }
  if (op == mail::ListOp::kAdd) {
    if (!user_exists) return MakeError(ErrorCode::kInternal, "no user check for kAdd");
    auto exists = user_exists(user);
    if (!exists.ok()) return exists.error();
    if (!*exists) return MakeError(ErrorCode::kFailedPrecondition, "no such user");
  }
  if (!next->has_value()) {
    ONIONMAIL_RETURN_IF_ERROR(Delete(*file_id));
    return mail::ListRecord{};
  }
  if (*next != *current) ONIONMAIL_RETURN_IF_ERROR(Store(*file_id, name, **next));
  return std::move(**next);
}

Result<void> MailingLists::RemoveUser(std::string_view user) {
  if (!mail::ValidLocalPart(user)) return MakeError(ErrorCode::kInvalidArgument, "bad user name");
  std::lock_guard<std::mutex> lock(write_mu_);
  auto names = store::ListDirectory(dir_);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return Ok();
    return names.error();
  }
  for (const std::string& file_id : *names) {
    if (!ValidFileId(file_id)) continue;  // .tmp
    auto stored = LoadFile(file_id);
    if (!stored.ok()) {
      if (stored.error().code != ErrorCode::kDataLoss) return stored.error();
      log::Warning("key", "mailing list file " + file_id.substr(0, 8) + "... does not open (" +
                              stored.error().message + "): skipped while removing a user");
      continue;
    }
    if (*stored == nullptr || !IsMember((*stored)->record, user)) continue;  // gone, or no member
    const mail::ListOp op =
        (*stored)->record.owner == user ? mail::ListOp::kDestroy : mail::ListOp::kLeave;
    auto next = mail::ApplyListOp((*stored)->record, op, user, "");
    if (!next.ok()) return next.error();
    ONIONMAIL_RETURN_IF_ERROR(next->has_value() ? Store(file_id, (*stored)->name, **next)
                                                : Delete(file_id));
  }
  return Ok();
}

Result<size_t> MailingLists::Count() {
  auto names = store::ListDirectory(dir_);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return size_t{0};
    return names.error();
  }
  size_t count = 0;
  for (const std::string& name : *names) {
    struct stat st;
    const std::string path = dir_ + "/" + name;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      return store::ErrnoError("cannot stat", path, errno);
    }
    if (S_ISREG(st.st_mode)) ++count;
  }
  return count;
}

size_t MailingLists::cached_lists() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.size();
}

}  // namespace onionmail::keys
