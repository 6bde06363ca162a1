// The `file` KeyStore backend: a 32-byte server key in a 0600 file.
//
// Contract (see hsm/key_store.h, hsm/derived_key_store.h and docs/store.md):
// the key is read once into SecretBytes and used only as the HMAC-SHA256 key
// of DerivedKeyStore's Derive(label). For development only: production uses a
// hardware token (hsm/token.h), where the same derivation runs in the device.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "hsm/derived_key_store.h"
#include "hsm/file/file_erasable.h"
#include "hsm/key_store.h"

namespace onionmail::hsm {

namespace {

constexpr size_t kServerKeyBytes = 32;

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

// The file key's only use: HMAC-SHA256(file key, label) for DerivedKeyStore.
Result<std::unique_ptr<KeyStore>> MakeStore(SecretBytes key, const std::string& path) {
  auto shared = std::make_shared<SecretBytes>(std::move(key));
  auto store = DerivedKeyStore::Create(
      "file",
      [shared](std::span<const uint8_t> label) -> Result<SecretBytes> {
        auto mac = crypto::HmacSha256(*shared, label);
        if (!mac.ok()) return mac.error();
        SecretBytes out(SecretAccess::Grant(), std::span<const uint8_t>(*mac));
        WipeMemory(mac->data(), mac->size());
        return out;
      },
      [] { return Ok(); }, [] { return uint64_t{0}; }, FileErasableOps(path));
  if (!store.ok()) return store.error();
  return std::unique_ptr<KeyStore>(std::move(*store));
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
  return MakeStore(std::move(key), path);
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
  return MakeStore(std::move(key), path);
}

}  // namespace onionmail::hsm
