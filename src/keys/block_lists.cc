// BlockLists (see block_lists.h).
#include "keys/block_lists.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <utility>

#include "base/secret_bytes.h"
#include "store/durable_file.h"

namespace onionmail::keys {

namespace {

constexpr uint8_t kListVersion = 1;
constexpr std::string_view kAadPrefix = "onionmail-blocklist-v1:";
constexpr size_t kMaxMailboxIdBytes = 128;
constexpr size_t kMaxEncodedBytes =
    1 + 2 + mail::kMaxBlockEntries * (1 + mail::kMaxBlockEntryBytes);
// Sealing adds a nonce and a tag (and a version byte or so); leave room.
constexpr size_t kMaxSealedBytes = kMaxEncodedBytes + 1024;

bool ValidMailboxId(std::string_view id) {
  if (id.empty() || id.size() > kMaxMailboxIdBytes) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Error BadMailboxId() { return MakeError(ErrorCode::kInvalidArgument, "bad mailbox id"); }

bool Canonical(std::string_view entry) {
  auto canonical = mail::CanonicalBlockEntry(entry);
  return canonical.has_value() && *canonical == entry;
}

std::vector<uint8_t> Aad(const std::string& mailbox_id) {
  std::vector<uint8_t> aad(kAadPrefix.begin(), kAadPrefix.end());
  aad.insert(aad.end(), mailbox_id.begin(), mailbox_id.end());
  return aad;
}

// The caller keeps the list within the limits (Apply checks them).
std::vector<uint8_t> Encode(const std::vector<std::string>& list) {
  std::vector<uint8_t> out;
  out.reserve(3 + list.size() * 32);
  out.push_back(kListVersion);
  out.push_back(static_cast<uint8_t>(list.size() >> 8));
  out.push_back(static_cast<uint8_t>(list.size() & 0xff));
  for (const std::string& entry : list) {
    out.push_back(static_cast<uint8_t>(entry.size()));
    out.insert(out.end(), entry.begin(), entry.end());
  }
  return out;
}

Error Corrupt() { return MakeError(ErrorCode::kDataLoss, "block list file is corrupt"); }

Result<std::vector<std::string>> Decode(std::span<const uint8_t> bytes) {
  if (bytes.size() < 3 || bytes[0] != kListVersion) return Corrupt();
  const size_t count = (size_t{bytes[1]} << 8) | bytes[2];
  if (count > mail::kMaxBlockEntries) return Corrupt();
  std::vector<std::string> list;
  list.reserve(count);
  size_t pos = 3;
  for (size_t i = 0; i < count; ++i) {
    if (pos >= bytes.size()) return Corrupt();
    const size_t len = bytes[pos++];
    if (len > bytes.size() - pos) return Corrupt();
    std::string entry(reinterpret_cast<const char*>(bytes.data() + pos), len);
    pos += len;
    if (!Canonical(entry)) return Corrupt();
    if (!list.empty() && !(list.back() < entry)) return Corrupt();  // sorted, unique
    list.push_back(std::move(entry));
  }
  if (pos != bytes.size()) return Corrupt();
  return list;
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

}  // namespace

BlockLists::BlockLists(hsm::KeyStore& keys, std::string dir)
    : keys_(keys), dir_(std::move(dir)), tmp_dir_(dir_ + "/.tmp") {}

Result<BlockLists::List> BlockLists::Load(const std::string& mailbox_id) {
  static const List kEmpty = std::make_shared<const std::vector<std::string>>();
  const std::string path = PathOf(mailbox_id);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return store::ErrnoError("cannot stat", path, errno);
    Forget(mailbox_id);
    return kEmpty;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(mailbox_id);
    if (it != cache_.end()) {
      if (it->second.id == FileIdOf(st)) return it->second.list;
      cache_.erase(it);
    }
  }
  auto fd = store::OpenForRead(path);
  if (!fd.ok()) {
    if (fd.error().code == ErrorCode::kNotFound) return kEmpty;  // deleted meanwhile
    return fd.error();
  }
  // The identity of what is read, not of what was lstat'ed: a file replaced
  // in between is cached under its own identity.
  if (::fstat(fd->get(), &st) != 0) return store::ErrnoError("cannot stat", path, errno);
  auto sealed = ReadAll(fd->get(), kMaxSealedBytes, path);
  if (!sealed.ok()) return sealed.error();
  auto plain = keys_.OpenRecord(*sealed, Aad(mailbox_id));
  if (!plain.ok()) return MakeError(ErrorCode::kDataLoss, "block list failed authentication");
  auto decoded = Decode(plain->Reveal(SecretAccess::Grant()));
  if (!decoded.ok()) return decoded.error();
  List list = std::make_shared<const std::vector<std::string>>(std::move(*decoded));
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= kMaxCachedMailboxes && cache_.find(mailbox_id) == cache_.end()) {
    cache_.clear();
  }
  cache_.insert_or_assign(mailbox_id, Cached{FileIdOf(st), list});
  return list;
}

Result<void> BlockLists::Store(const std::string& mailbox_id,
                               const std::vector<std::string>& list) {
  std::vector<uint8_t> encoded = Encode(list);
  auto sealed = keys_.SealRecord(encoded, Aad(mailbox_id));
  WipeMemory(encoded.data(), encoded.size());
  if (!sealed.ok()) return sealed.error();
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(dir_));
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(tmp_dir_));
  // Forgotten rather than cached under the new file's identity: lstat'ing it
  // after the rename could see another writer's file. The next read opens it.
  Forget(mailbox_id);
  return store::WriteFileDurably(tmp_dir_, PathOf(mailbox_id), *sealed, /*replace=*/true);
}

Result<void> BlockLists::Delete(const std::string& mailbox_id) {
  Forget(mailbox_id);
  auto deleted = store::SecureDelete(PathOf(mailbox_id));
  if (!deleted.ok() && deleted.error().code != ErrorCode::kNotFound) return deleted.error();
  return Ok();
}

void BlockLists::Forget(const std::string& mailbox_id) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_.erase(mailbox_id);
}

Result<std::vector<std::string>> BlockLists::Entries(std::string_view mailbox_id) {
  if (!ValidMailboxId(mailbox_id)) return BadMailboxId();
  auto list = Load(std::string(mailbox_id));
  if (!list.ok()) return list.error();
  return **list;
}

Result<std::vector<std::string>> BlockLists::Apply(std::string_view mailbox_id,
                                                   mail::BlockListOp op, std::string_view entry) {
  if (!ValidMailboxId(mailbox_id)) return BadMailboxId();
  const std::string id(mailbox_id);
  const bool edits = op == mail::BlockListOp::kAdd || op == mail::BlockListOp::kDelete;
  if (!edits && op != mail::BlockListOp::kList && op != mail::BlockListOp::kClear) {
    return MakeError(ErrorCode::kInvalidArgument, "unknown block list operation");
  }
  if (edits && !Canonical(entry)) {
    return MakeError(ErrorCode::kInvalidArgument, "block list entry is not canonical");
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  if (op == mail::BlockListOp::kClear) {
    ONIONMAIL_RETURN_IF_ERROR(Delete(id));
    return std::vector<std::string>{};
  }
  auto current = Load(id);
  if (!current.ok()) return current.error();
  std::vector<std::string> list = **current;
  if (op == mail::BlockListOp::kList) return list;
  auto pos = std::lower_bound(list.begin(), list.end(), entry);
  const bool present = pos != list.end() && *pos == entry;
  if (op == mail::BlockListOp::kAdd) {
    if (present) return list;
    if (list.size() >= mail::kMaxBlockEntries) {
      return MakeError(ErrorCode::kResourceExhausted, "block list is full");
    }
    list.insert(pos, std::string(entry));
    ONIONMAIL_RETURN_IF_ERROR(Store(id, list));
    return list;
  }
  if (!present) return list;  // kDelete of an absent entry
  list.erase(pos);
  ONIONMAIL_RETURN_IF_ERROR(list.empty() ? Delete(id) : Store(id, list));
  return list;
}

Result<bool> BlockLists::IsBlocked(std::string_view mailbox_id, std::string_view sender) {
  if (!ValidMailboxId(mailbox_id)) return BadMailboxId();
  if (sender.empty()) return false;
  auto list = Load(std::string(mailbox_id));
  if (!list.ok()) return list.error();
  return mail::SenderIsBlocked(**list, sender);
}

Result<void> BlockLists::Remove(std::string_view mailbox_id) {
  if (!ValidMailboxId(mailbox_id)) return BadMailboxId();
  std::lock_guard<std::mutex> lock(write_mu_);
  return Delete(std::string(mailbox_id));
}

size_t BlockLists::cached_mailboxes() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.size();
}

}  // namespace onionmail::keys
