// MailingLists (see mailing_lists.h).
#include "keys/mailing_lists.h"

#include <algorithm>
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

constexpr uint8_t kListVersion = 1;       // no flags byte
constexpr uint8_t kListVersionFlags = 2;  // a flags byte at the end
constexpr uint8_t kFlagAnnounce = 0x01;
constexpr uint8_t kFlagModerated = 0x02;
constexpr std::string_view kFilePurpose = "list";
constexpr std::string_view kAadPrefix = "onionmail-list-v1:";
constexpr size_t kMaxNameBytes = 64;  // a local part
constexpr size_t kMaxEncodedBytes =
    1 + (1 + kMaxNameBytes) * 2 + 2 + mail::kMaxListMembers * (1 + mail::kMaxListMemberBytes) + 1;
static_assert(mail::kMaxListMemberBytes <= 255);  // u8 len
// Sealing adds a nonce and a tag (and a version byte or so); leave room.
constexpr size_t kMaxSealedBytes = kMaxEncodedBytes + 1024;

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void PutString(std::vector<uint8_t>& out, std::string_view s) {
  out.push_back(static_cast<uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

// The caller passes a valid name and a well-formed record (within limits).
std::vector<uint8_t> Encode(std::string_view name, const mail::ListRecord& record) {
  std::vector<uint8_t> out;
  out.reserve(5 + name.size() + record.owner.size() + record.members.size() * 16);
  const uint8_t flags =
      (record.announce ? kFlagAnnounce : 0) | (record.moderated ? kFlagModerated : 0);
  out.push_back(flags == 0 ? kListVersion : kListVersionFlags);
  PutString(out, name);
  PutString(out, record.owner);
  out.push_back(static_cast<uint8_t>(record.members.size() >> 8));
  out.push_back(static_cast<uint8_t>(record.members.size() & 0xff));
  for (const std::string& member : record.members) PutString(out, member);
  if (flags != 0) out.push_back(flags);
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
  if (!in.Byte(version) || (version != kListVersion && version != kListVersionFlags)) {
    return Corrupt();
  }
  if (!in.String(out.name) || !mail::ValidListName(out.name)) return Corrupt();
  if (!in.String(out.record.owner)) return Corrupt();
  if (!in.Byte(hi) || !in.Byte(lo)) return Corrupt();
  const size_t count = (size_t{hi} << 8) | lo;
  if (count > mail::kMaxListMembers) return Corrupt();
  out.record.members.resize(count);
  for (std::string& member : out.record.members) {
    if (!in.String(member)) return Corrupt();
  }
  if (version == kListVersionFlags) {
    uint8_t flags = 0;
    // Exactly one known flag (a version 2 file without a flag is not written).
    if (!in.Byte(flags) || (flags != kFlagAnnounce && flags != kFlagModerated)) return Corrupt();
    out.record.announce = flags == kFlagAnnounce;
    out.record.moderated = flags == kFlagModerated;
  }
  if (!in.AtEnd() || !mail::WellFormedListRecord(out.record)) return Corrupt();
  return out;
}

bool IsMember(const mail::ListRecord& record, std::string_view user) {
  return std::binary_search(record.members.begin(), record.members.end(), user);
}

}  // namespace

Error ListStoreFault(Error e) {
  if (e.code != ErrorCode::kPermissionDenied) return e;
  return MakeError(ErrorCode::kUnavailable, "refused by the key store: " + e.message);
}

MailingLists::MailingLists(hsm::KeyStore& keys, std::string dir)
    : keys_(keys),
      files_(keys, SealedFiles::Config{.dir = std::move(dir),
                                       .aad_prefix = std::string(kAadPrefix),
                                       .max_cached = kMaxCachedLists,
                                       .max_file_bytes = kMaxSealedBytes,
                                       .what = "mailing list"}) {}

Result<std::string> MailingLists::FileIdFor(std::string_view name) {
  if (!mail::ValidListName(name)) {
    return MakeError(ErrorCode::kInvalidArgument, "bad mailing list name");
  }
  auto digest = keys_.KeyedHash(kFilePurpose, AsBytes(name));
  if (!digest.ok()) return digest.error();
  return crypto::ToHex(*digest);
}

Result<MailingLists::StoredPtr> MailingLists::LoadFile(const std::string& file_id) {
  return files_.Read<Stored>(file_id, [](std::span<const uint8_t> plaintext) -> Result<Stored> {
    auto decoded = Decode(plaintext);
    if (!decoded.ok()) return decoded.error();
    return Stored{std::move(decoded->name), std::move(decoded->record)};
  });
}

Result<void> MailingLists::Store(const std::string& file_id, std::string_view name,
                                 const mail::ListRecord& record) {
  std::vector<uint8_t> encoded = Encode(name, record);
  auto written = files_.Write(file_id, encoded);
  WipeMemory(encoded.data(), encoded.size());
  return written;
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
  if (!file_id.ok()) return ListStoreFault(file_id.error());
  if (op == mail::ListOp::kShow || op == mail::ListOp::kPost) {  // reads: no write lock
    auto current = LoadNamed(*file_id, name);
    if (!current.ok()) return ListStoreFault(current.error());
    auto same = mail::ApplyListOp(*current, op, actor, user);
    if (!same.ok()) return same.error();
    if (!same->has_value()) return MakeError(ErrorCode::kInternal, "a read deleted a list");
    return std::move(**same);
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  auto current = LoadNamed(*file_id, name);
  if (!current.ok()) return ListStoreFault(current.error());
  auto next = mail::ApplyListOp(*current, op, actor, user);
  if (!next.ok()) return next.error();
  if (op == mail::ListOp::kCreate) {
    auto count = Count();
    if (!count.ok()) return ListStoreFault(count.error());
    if (*count >= mail::kMaxLists) {
      return MakeError(ErrorCode::kResourceExhausted, "the server holds its most mailing lists");
    }
  }
  if (op == mail::ListOp::kAdd && !mail::IsRemoteMember(user)) {  // a remote one: no check here
    if (!user_exists) return MakeError(ErrorCode::kInternal, "no user check for kAdd");
    auto exists = user_exists(user);
    if (!exists.ok()) return ListStoreFault(exists.error());
    if (!*exists) return MakeError(ErrorCode::kFailedPrecondition, "no such user");
  }
  if (!next->has_value()) {
    if (auto removed = files_.Remove(*file_id); !removed.ok())
      return ListStoreFault(removed.error());
    return mail::ListRecord{};
  }
  if (*next != *current) {
    if (auto stored = Store(*file_id, name, **next); !stored.ok()) {
      return ListStoreFault(stored.error());
    }
  }
  return std::move(**next);
}

Result<void> MailingLists::RemoveUser(std::string_view user) {
  if (!mail::ValidLocalPart(user)) return MakeError(ErrorCode::kInvalidArgument, "bad user name");
  std::lock_guard<std::mutex> lock(write_mu_);
  auto names = store::ListDirectory(files_.dir());
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return Ok();
    return names.error();
  }
  for (const std::string& file_id : *names) {
    if (!SealedFiles::IsKeyedHashId(file_id)) continue;  // .tmp
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
                                                : files_.Remove(file_id));
  }
  return Ok();
}

Result<size_t> MailingLists::Count() { return files_.CountFiles(); }

size_t MailingLists::cached_lists() { return files_.cached(); }

}  // namespace onionmail::keys
