// VmatTable (see vmat_table.h).
#include "keys/vmat_table.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <span>
#include <utility>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "crypto/hex.h"
#include "store/durable_file.h"

namespace onionmail::keys {
namespace {

constexpr std::string_view kFilePurpose = "vmat";
constexpr std::string_view kAadPrefix = "onionmail-vmat-v1:";
constexpr std::string_view kSenderFilePurpose = "vmat-sender";
constexpr std::string_view kSenderAadPrefix = "onionmail-vmat-sender-v1:";
// Sealing adds a nonce and a tag (and a version byte or so); leave room.
constexpr size_t kMaxSealedBytes = 3 + 64 + mail::kMaxVmatTargetBytes + 1024;

Error BadArgument() { return MakeError(ErrorCode::kInvalidArgument, "bad VMAT alias or target"); }

}  // namespace

VmatTable::VmatTable(hsm::KeyStore& keys, std::string dir)
    : keys_(keys),
      files_(keys, SealedFiles::Config{.dir = dir,
                                       .aad_prefix = std::string(kAadPrefix),
                                       .max_cached = kMaxCached,
                                       .max_file_bytes = kMaxSealedBytes,
                                       .what = "VMAT alias"}),
      senders_(keys, SealedFiles::Config{.dir = dir + "-senders",
                                         .aad_prefix = std::string(kSenderAadPrefix),
                                         .max_cached = kMaxCached,
                                         .max_file_bytes = kMaxSealedBytes,
                                         .what = "VMAT sender"}) {}

Result<std::string> VmatTable::FileIdFor(std::string_view alias) {
  if (!mail::ValidVmatAlias(alias)) return BadArgument();
  auto digest = keys_.KeyedHash(
      kFilePurpose,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(alias.data()), alias.size()));
  if (!digest.ok()) return digest.error();
  return crypto::ToHex(*digest);
}

Result<std::string> VmatTable::SenderFileIdFor(std::string_view target) {
  if (!mail::ValidVmatTarget(target)) return BadArgument();
  auto digest = keys_.KeyedHash(
      kSenderFilePurpose,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(target.data()), target.size()));
  if (!digest.ok()) return digest.error();
  return crypto::ToHex(*digest);
}

Result<std::shared_ptr<const mail::VmatRecord>> VmatTable::Load(SealedFiles& files,
                                                                const std::string& file_id) {
  return files.Read<mail::VmatRecord>(
      file_id, [](std::span<const uint8_t> plaintext) -> Result<mail::VmatRecord> {
        auto record =
            mail::DecodeVmatRecord(std::vector<uint8_t>(plaintext.begin(), plaintext.end()));
        if (!record) return MakeError(ErrorCode::kDataLoss, "VMAT alias file is corrupt");
        return std::move(*record);
      });
}

Result<std::optional<std::string>> VmatTable::Lookup(std::string_view alias) {
  auto file_id = FileIdFor(alias);
  if (!file_id.ok()) return file_id.error();
  auto record = Load(files_, *file_id);
  if (!record.ok()) return record.error();
  if (*record == nullptr) return std::optional<std::string>();
  if ((*record)->alias != alias) {
    return MakeError(ErrorCode::kDataLoss, "VMAT alias file holds another alias");
  }
  return std::optional<std::string>((*record)->target);
}

Result<void> VmatTable::Add(std::string_view alias, std::string_view target) {
  if (!mail::ValidVmatTarget(target)) return BadArgument();
  auto file_id = FileIdFor(alias);
  if (!file_id.ok()) return file_id.error();
  std::lock_guard<std::mutex> lock(write_mu_);
  struct stat st;
  const std::string path = files_.dir() + "/" + *file_id;
  if (::lstat(path.c_str(), &st) == 0) {
    return MakeError(ErrorCode::kAlreadyExists, "the VMAT alias exists");
  }
  if (errno != ENOENT) return store::ErrnoError("cannot stat", path, errno);
  auto count = Count();
  if (!count.ok()) return count.error();
  if (*count >= kMaxAliases) {
    return MakeError(ErrorCode::kResourceExhausted, "the server holds its most VMAT aliases");
  }
  std::vector<uint8_t> encoded = mail::EncodeVmatRecord({std::string(alias), std::string(target)});
  auto written = files_.Write(*file_id, encoded);
  WipeMemory(encoded.data(), encoded.size());
  if (!written.ok()) return written;
  return SetSender(alias, target, /*replace=*/false);
}

Result<std::optional<std::string>> VmatTable::SenderAlias(std::string_view target) {
  auto file_id = SenderFileIdFor(target);
  if (!file_id.ok()) return file_id.error();
  auto record = Load(senders_, *file_id);
  if (!record.ok()) return record.error();
  if (*record == nullptr) return std::optional<std::string>();
  if ((*record)->target != target) {
    return MakeError(ErrorCode::kDataLoss, "VMAT sender file holds another target");
  }
  auto leads_to = Lookup((*record)->alias);
  if (!leads_to.ok()) return leads_to.error();
  if (*leads_to != target) return std::optional<std::string>();  // stale
  return std::optional<std::string>((*record)->alias);
}

Result<void> VmatTable::MakeSender(std::string_view alias) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto target = Lookup(alias);
  if (!target.ok()) return target.error();
  if (!target->has_value()) return MakeError(ErrorCode::kNotFound, "no such VMAT alias");
  return SetSender(alias, **target, /*replace=*/true);
}

Result<void> VmatTable::SetSender(std::string_view alias, std::string_view target, bool replace) {
  auto file_id = SenderFileIdFor(target);
  if (!file_id.ok()) return file_id.error();
  if (!replace) {
    auto current = SenderAlias(target);
    if (current.ok() && current->has_value()) return Ok();
    if (!current.ok() && current.error().code != ErrorCode::kDataLoss) return current.error();
  }
  std::vector<uint8_t> encoded = mail::EncodeVmatRecord({std::string(alias), std::string(target)});
  auto written = senders_.Write(*file_id, encoded);
  WipeMemory(encoded.data(), encoded.size());
  return written;
}

Result<void> VmatTable::Remove(std::string_view alias) {
  auto file_id = FileIdFor(alias);
  if (!file_id.ok()) return file_id.error();
  std::lock_guard<std::mutex> lock(write_mu_);
  auto current = Lookup(alias);
  if (!current.ok() && current.error().code != ErrorCode::kDataLoss) return current.error();
  if (current.ok() && !current->has_value()) {
    return MakeError(ErrorCode::kNotFound, "no such VMAT alias");
  }
  ONIONMAIL_RETURN_IF_ERROR(files_.Remove(*file_id));  // a file that does not open goes too
  if (!current.ok()) return Ok();  // its target is unknown: its sender file, if any, is stale
  const std::string& target = **current;
  auto sender_id = SenderFileIdFor(target);
  if (!sender_id.ok()) return sender_id.error();
  auto sender = Load(senders_, *sender_id);
  if (sender.ok() && (*sender == nullptr || (*sender)->alias != alias)) return Ok();
  // It was the sending alias (or its file does not open): pass the role on.
  auto rest = List();
  if (!rest.ok()) return rest.error();
  for (const mail::VmatRecord& other : *rest) {
    if (other.target == target) return SetSender(other.alias, target, /*replace=*/true);
  }
  return senders_.Remove(*sender_id);
}

Result<std::vector<mail::VmatRecord>> VmatTable::List() {
  std::vector<mail::VmatRecord> out;
  auto names = store::ListDirectory(files_.dir());
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return out;
    return names.error();
  }
  for (const std::string& file_id : *names) {
    if (!SealedFiles::IsKeyedHashId(file_id)) continue;  // .tmp
    auto record = Load(files_, file_id);
    if (!record.ok()) {
      if (record.error().code != ErrorCode::kDataLoss) return record.error();
      log::Warning("key", "VMAT alias file " + file_id.substr(0, 8) + "... does not open (" +
                              record.error().message + "): skipped");
      continue;
    }
    if (*record != nullptr) out.push_back(**record);
  }
  std::sort(out.begin(), out.end(),
            [](const mail::VmatRecord& a, const mail::VmatRecord& b) { return a.alias < b.alias; });
  return out;
}

Result<size_t> VmatTable::Count() { return files_.CountFiles(); }

}  // namespace onionmail::keys
