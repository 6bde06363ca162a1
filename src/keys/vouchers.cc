// Vouchers (see vouchers.h).
#include "keys/vouchers.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <span>
#include <utility>

#include "crypto/hex.h"
#include "crypto/random.h"
#include "mail/registration.h"
#include "store/durable_file.h"

namespace onionmail::keys {

namespace {

constexpr std::string_view kPurpose = "voucher";
constexpr size_t kIdChars = 64;  // hex of a 32-byte keyed hash

bool ValidId(std::string_view id) {
  return id.size() == kIdChars && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Error NotAVoucher() { return MakeError(ErrorCode::kInvalidArgument, "not a voucher"); }
Error NoSuchVoucher() { return MakeError(ErrorCode::kUnauthenticated, "no such voucher"); }

}  // namespace

Vouchers::Vouchers(hsm::KeyStore& keys, std::string dir) : keys_(keys), dir_(std::move(dir)) {}

Result<std::string> Vouchers::PathOf(std::string_view voucher) {
  std::optional<std::string> canonical = mail::CanonicalVoucher(voucher);
  if (!canonical) return NotAVoucher();
  auto digest = keys_.KeyedHash(
      kPurpose, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(canonical->data()),
                                         canonical->size()));
  WipeMemory(canonical->data(), canonical->size());
  if (!digest.ok()) return digest.error();
  return dir_ + "/" + crypto::ToHex(*digest);
}

Result<void> Vouchers::Create(const std::string& path) {
  auto fd = store::CreateExclusive(path);
  if (!fd.ok()) return fd.error();
  auto synced = store::SyncFd(fd->get(), path);
  if (!synced.ok()) {
    (void)::unlink(path.c_str());
    return synced.error();
  }
  return Ok();
}

Result<std::vector<SecretBytes>> Vouchers::Add(size_t count) {
  if (count < 1 || count > kMaxAdd) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "vouchers are made 1 to " + std::to_string(kMaxAdd) + " at a time");
  }
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(dir_));
  std::vector<SecretBytes> made;
  std::vector<std::string> paths;
  made.reserve(count);
  paths.reserve(count);
  auto undo = [&](const Error& e) -> Error {
    for (const std::string& p : paths) (void)::unlink(p.c_str());
    (void)store::SyncDir(dir_);
    return e;
  };
  while (made.size() < count) {
    SecretBytes voucher = crypto::RandomSymbols(crypto::kBase32LowerAlphabet, mail::kVoucherChars);
    auto path = PathOf(voucher.RevealString(SecretAccess::Grant()));
    if (!path.ok()) return undo(path.error());
    auto created = Create(*path);
    if (!created.ok()) {
      if (created.error().code == ErrorCode::kAlreadyExists) continue;  // 2^-100: draw again
      return undo(created.error());
    }
    paths.push_back(std::move(*path));
    made.push_back(std::move(voucher));
  }
  auto synced = store::SyncDir(dir_);
  if (!synced.ok()) return undo(synced.error());
  return made;
}

Result<bool> Vouchers::Exists(std::string_view voucher) {
  auto path = PathOf(voucher);
  if (!path.ok()) {
    if (path.error().code == ErrorCode::kInvalidArgument) return false;
    return path.error();
  }
  struct stat st;
  if (::lstat(path->c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return store::ErrnoError("cannot stat", *path, errno);
  }
  return S_ISREG(st.st_mode);
}

Result<void> Vouchers::Claim(std::string_view voucher) {
  auto path = PathOf(voucher);
  if (!path.ok()) {
    if (path.error().code == ErrorCode::kInvalidArgument) return NoSuchVoucher();
    return path.error();
  }
  if (::unlink(path->c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NoSuchVoucher();  // used, or never made
    return store::ErrnoError("cannot remove", *path, errno);
  }
  auto synced = store::SyncDir(dir_);
  if (!synced.ok()) {
    // Not durably used: give it back rather than lose it in a crash later.
    if (Create(*path).ok()) (void)store::SyncDir(dir_);
    return synced.error();
  }
  return Ok();
}

Result<void> Vouchers::Restore(std::string_view voucher) {
  auto path = PathOf(voucher);
  if (!path.ok()) return path.error();
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(dir_));
  auto created = Create(*path);
  if (!created.ok() && created.error().code != ErrorCode::kAlreadyExists) return created.error();
  return store::SyncDir(dir_);
}

Result<std::vector<std::string>> Vouchers::Ids() {
  auto names = store::ListDirectory(dir_);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return std::vector<std::string>{};
    return names.error();
  }
  std::erase_if(*names, [](const std::string& n) { return !ValidId(n); });
  return names;
}

Result<size_t> Vouchers::Count() {
  auto ids = Ids();
  if (!ids.ok()) return ids.error();
  return ids->size();
}

Result<size_t> Vouchers::Clear() {
  auto ids = Ids();
  if (!ids.ok()) return ids.error();
  if (ids->empty()) return size_t{0};
  size_t removed = 0;
  std::optional<Error> first_error;
  for (const std::string& id : *ids) {
    const std::string path = dir_ + "/" + id;
    if (::unlink(path.c_str()) == 0) {
      ++removed;
    } else if (errno != ENOENT && !first_error) {  // ENOENT: claimed meanwhile
      first_error = store::ErrnoError("cannot remove", path, errno);
    }
  }
  auto synced = store::SyncDir(dir_);
  if (first_error) return *first_error;
  if (!synced.ok()) return synced.error();
  return removed;
}

}  // namespace onionmail::keys
