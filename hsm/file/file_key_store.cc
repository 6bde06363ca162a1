// The `file` KeyStore backend: a 32-byte server key in a 0600 file.
//
// Contract (see hsm/key_store.h and docs/store.md): the key is read once into
// SecretBytes; the record key and every keyed-hash subkey are HKDF-SHA256
// derivations of it, so the raw server key is used for nothing else.
//   KeyedHash(purpose, data) = HMAC-SHA256(HKDF(key, "onionmail keyed-hash v1 " + purpose), data)
//   SealRecord/OpenRecord    = AES-256-GCM (crypto::AeadSeal) under HKDF(key, "onionmail record v1")
// This backend is a stand-in until the hardware key store (PKCS#11 / TPM 2.0).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "hsm/key_store.h"

namespace onionmail::hsm {

namespace {

constexpr size_t kServerKeyBytes = 32;
constexpr std::string_view kRecordInfo = "onionmail record v1";
constexpr std::string_view kKeyedHashInfo = "onionmail keyed-hash v1 ";

Error SysError(ErrorCode code, const std::string& what, const std::string& path, int err) {
  return MakeError(code, what + " " + path + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class FileKeyStore : public KeyStore {
 public:
  explicit FileKeyStore(SecretBytes server_key) : server_key_(std::move(server_key)) {}

  Result<void> Init() {
    auto record_key = crypto::HkdfSha256(server_key_, {}, kRecordInfo, crypto::kAeadKeyBytes);
    if (!record_key.ok()) return record_key.error();
    record_key_ = std::move(*record_key);
    return Ok();
  }

  std::string_view backend_name() const override { return "file"; }

  Result<std::array<uint8_t, 32>> KeyedHash(std::string_view purpose,
                                            std::span<const uint8_t> data) override {
    if (purpose.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty keyed-hash purpose");
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hash_keys_.find(std::string(purpose));
    if (it == hash_keys_.end()) {
      std::string info(kKeyedHashInfo);
      info.append(purpose);
      auto subkey = crypto::HkdfSha256(server_key_, {}, info, 32);
      if (!subkey.ok()) return subkey.error();
      it = hash_keys_.emplace(std::string(purpose), std::move(*subkey)).first;
    }
    return crypto::HmacSha256(it->second, data);
  }

  Result<std::vector<uint8_t>> SealRecord(std::span<const uint8_t> plaintext,
                                          std::span<const uint8_t> aad) override {
    return crypto::AeadSeal(record_key_, plaintext, aad);
  }

  Result<SecretBytes> OpenRecord(std::span<const uint8_t> sealed,
                                 std::span<const uint8_t> aad) override {
    auto opened = crypto::AeadOpen(record_key_, sealed, aad);
    if (!opened.ok()) return MakeError(ErrorCode::kDataLoss, "sealed record failed authentication");
    return opened;
  }

 private:
  SecretBytes server_key_;
  SecretBytes record_key_;
  std::mutex mu_;
  std::map<std::string, SecretBytes> hash_keys_;  // purpose -> HMAC key (derived on first use)
};

Result<std::unique_ptr<KeyStore>> MakeStore(SecretBytes key) {
  auto store = std::make_unique<FileKeyStore>(std::move(key));
  ONIONMAIL_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<KeyStore>(std::move(store));
}

Result<void> SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return SysError(ErrorCode::kInternal, "cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return SysError(ErrorCode::kInternal, "cannot fsync", dir, errno);
  return Ok();
}

}  // namespace

Result<std::unique_ptr<KeyStore>> CreateFileKeyStore(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    int err = errno;
    if (err == EEXIST) return MakeError(ErrorCode::kAlreadyExists, "key file " + path + " exists");
    return SysError(ErrorCode::kInternal, "cannot create key file", path, err);
  }
  SecretBytes key = crypto::RandomSecret(kServerKeyBytes);
  auto bytes = key.Reveal(SecretAccess::Grant());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::unlink(path.c_str());
      return SysError(ErrorCode::kInternal, "cannot write key file", path, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), 0600) != 0 || ::fsync(fd.get()) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return SysError(ErrorCode::kInternal, "cannot sync key file", path, err);
  }
  ONIONMAIL_RETURN_IF_ERROR(SyncDir(ParentDir(path)));
  return MakeStore(std::move(key));
}

Result<std::unique_ptr<KeyStore>> OpenFileKeyStore(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ENOENT) return MakeError(ErrorCode::kNotFound, "key file " + path + " not found");
    if (err == ELOOP || err == EACCES) {
      return SysError(ErrorCode::kPermissionDenied, "refusing key file", path, err);
    }
    return SysError(ErrorCode::kInternal, "cannot open key file", path, err);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return SysError(ErrorCode::kInternal, "cannot stat key file", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kPermissionDenied, "key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 0077) != 0) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "key file " + path + " is accessible by group or others (need mode 0600)");
  }
  if (st.st_size != static_cast<off_t>(kServerKeyBytes)) {
    return MakeError(ErrorCode::kDataLoss, "key file " + path + " has the wrong size");
  }
  SecretBytes key(kServerKeyBytes);
  auto bytes = key.Reveal(SecretAccess::Grant());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError(ErrorCode::kInternal, "cannot read key file", path, errno);
    if (n == 0) return MakeError(ErrorCode::kDataLoss, "key file " + path + " is truncated");
    done += static_cast<size_t>(n);
  }
  return MakeStore(std::move(key));
}

}  // namespace onionmail::hsm
