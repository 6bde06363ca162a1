// SealedFiles (see sealed_files.h).
#include "keys/sealed_files.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "store/durable_file.h"

namespace onionmail::keys {

namespace {

bool UsableId(std::string_view id) {
  return !id.empty() && id.front() != '.' && id.find('/') == std::string_view::npos;
}

// Built as a string: GCC 12 reports a false -Warray-bounds for a vector of
// a short prefix with the id inserted after it.
std::vector<uint8_t> Aad(const std::string& prefix, const std::string& id) {
  const std::string aad = prefix + id;
  return std::vector<uint8_t>(aad.begin(), aad.end());
}

// The whole file behind `fd`, at most max_bytes (kDataLoss if longer).
Result<std::vector<uint8_t>> ReadAll(int fd, size_t max_bytes, const std::string& path,
                                     const std::string& what) {
  std::vector<uint8_t> out;
  std::array<uint8_t, 16384> buf;
  for (;;) {
    auto got = store::ReadSome(fd, buf, path);
    if (!got.ok()) return got.error();
    if (*got == 0) return out;
    if (out.size() + *got > max_bytes) {
      return MakeError(ErrorCode::kDataLoss, what + " file is corrupt");
    }
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*got));
  }
}

Error BadId() { return MakeError(ErrorCode::kInvalidArgument, "bad sealed file id"); }

}  // namespace

SealedFiles::SealedFiles(hsm::KeyStore& keys, Config config)
    : keys_(keys), config_(std::move(config)), tmp_dir_(config_.dir + "/.tmp") {}

Result<SealedFiles::Value> SealedFiles::ReadErased(const std::string& id,
                                                   const ErasedDecode& decode) {
  if (!UsableId(id)) return BadId();
  const std::string path = PathOf(id);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return store::ErrnoError("cannot stat", path, errno);
    Forget(id);
    return Value();
  }
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) {
      if (it->second.id == FileIdOf(st)) return it->second.value;
      cache_.erase(it);
    }
  }
  auto fd = store::OpenForRead(path);
  if (!fd.ok()) {
    if (fd.error().code == ErrorCode::kNotFound) return Value();  // deleted meanwhile
    return fd.error();
  }
  // The identity of what is read, not of what was lstat'ed: a file replaced
  // in between is cached under its own identity.
  if (::fstat(fd->get(), &st) != 0) return store::ErrnoError("cannot stat", path, errno);
  auto sealed = ReadAll(fd->get(), config_.max_file_bytes, path, config_.what);
  if (!sealed.ok()) return sealed.error();
  auto plain = keys_.OpenRecord(*sealed, Aad(config_.aad_prefix, id));
  if (!plain.ok()) {
    // A device that is unavailable or refuses (hsm::KeyStore: any other code
    // than kDataLoss) is no bad file: the caller may retry, never skip it.
    if (plain.error().code != ErrorCode::kDataLoss) return plain.error();
    return MakeError(ErrorCode::kDataLoss, config_.what + " failed authentication");
  }
  auto value = decode(plain->Reveal(SecretAccess::Grant()));
  if (!value.ok()) return value.error();
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= config_.max_cached && cache_.find(id) == cache_.end()) cache_.clear();
  cache_.insert_or_assign(id, Cached{FileIdOf(st), *value});
  return std::move(*value);
}

Result<void> SealedFiles::Write(const std::string& id, std::span<const uint8_t> plaintext) {
  if (!UsableId(id)) return BadId();
  auto sealed = keys_.SealRecord(plaintext, Aad(config_.aad_prefix, id));
  if (!sealed.ok()) return sealed.error();
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(config_.dir));
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(tmp_dir_));
  // Forgotten rather than cached under the new file's identity: lstat'ing it
  // after the rename could see another writer's file. The next read opens it.
  Forget(id);
  return store::WriteFileDurably(tmp_dir_, PathOf(id), *sealed, /*replace=*/true);
}

Result<void> SealedFiles::Remove(const std::string& id) {
  if (!UsableId(id)) return BadId();
  Forget(id);
  auto deleted = store::SecureDelete(PathOf(id));
  if (!deleted.ok() && deleted.error().code != ErrorCode::kNotFound) return deleted.error();
  return Ok();
}

void SealedFiles::Forget(const std::string& id) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_.erase(id);
}

size_t SealedFiles::cached() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.size();
}

Result<size_t> SealedFiles::CountFiles() const {
  auto names = store::ListDirectory(config_.dir);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return size_t{0};
    return names.error();
  }
  size_t count = 0;
  for (const std::string& name : *names) {
    struct stat st;
    const std::string path = config_.dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      return store::ErrnoError("cannot stat", path, errno);
    }
    if (S_ISREG(st.st_mode)) ++count;
  }
  return count;
}

bool SealedFiles::IsKeyedHashId(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace onionmail::keys
