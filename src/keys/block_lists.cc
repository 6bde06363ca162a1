// BlockLists (see block_lists.h).
#include "keys/block_lists.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>

#include "base/secret_bytes.h"

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

}  // namespace

BlockLists::BlockLists(hsm::KeyStore& keys, std::string dir)
    : files_(keys, SealedFiles::Config{.dir = std::move(dir),
                                       .aad_prefix = std::string(kAadPrefix),
                                       .max_cached = kMaxCachedMailboxes,
                                       .max_file_bytes = kMaxSealedBytes,
                                       .what = "block list"}) {}

Result<BlockLists::List> BlockLists::Load(const std::string& mailbox_id) {
  static const List kEmpty = std::make_shared<const std::vector<std::string>>();
  auto list = files_.Read<std::vector<std::string>>(mailbox_id, Decode);
  if (!list.ok()) return list.error();
  return *list != nullptr ? std::move(*list) : kEmpty;
}

Result<void> BlockLists::Store(const std::string& mailbox_id,
                               const std::vector<std::string>& list) {
  std::vector<uint8_t> encoded = Encode(list);
  auto written = files_.Write(mailbox_id, encoded);
  WipeMemory(encoded.data(), encoded.size());
  return written;
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
    ONIONMAIL_RETURN_IF_ERROR(files_.Remove(id));
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
  ONIONMAIL_RETURN_IF_ERROR(list.empty() ? files_.Remove(id) : Store(id, list));
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
  return files_.Remove(std::string(mailbox_id));
}

size_t BlockLists::cached_mailboxes() { return files_.cached(); }

}  // namespace onionmail::keys
