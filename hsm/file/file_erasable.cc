// FileErasableOps implementation: plain POSIX calls, no store library (hsm/
// sits below src/store).
#include "hsm/file/file_erasable.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crypto/kdf.h"
#include "crypto/random.h"

namespace onionmail::hsm {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr char kInfix[] = ".erasable-";

Error SysError(const std::string& what, const std::string& path, int err) {
  return MakeError(ErrorCode::kInternal, what + " " + path + ": " + std::strerror(err));
}

struct Paths {
  std::string dir;
  std::string prefix;  // base name of the key file + kInfix
};

Paths PathsOf(const std::string& key_path) {
  size_t slash = key_path.rfind('/');
  Paths p;
  p.dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : key_path.substr(0, slash));
  p.prefix = (slash == std::string::npos ? key_path : key_path.substr(slash + 1)) + kInfix;
  return p;
}

std::string FileOf(const Paths& p, uint64_t epoch) {
  return p.dir + "/" + p.prefix + std::to_string(epoch);
}

Result<void> SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError("cannot open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return SysError("cannot fsync", dir, err);
  return Ok();
}

Result<void> WriteAll(int fd, std::span<const uint8_t> bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return SysError("cannot write", path, errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return SysError("cannot fsync", path, errno);
  return Ok();
}

Result<void> Create(const Paths& p, uint64_t epoch) {
  const std::string path = FileOf(p, epoch);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return MakeError(ErrorCode::kAlreadyExists, "erasable epoch exists");
    return SysError("cannot create", path, errno);
  }
  SecretBytes secret = crypto::RandomSecret(kSecretBytes);
  auto written = WriteAll(fd, secret.Reveal(SecretAccess::Grant()), path);
  ::close(fd);
  if (!written.ok()) {
    ::unlink(path.c_str());
    return written.error();
  }
  return SyncDir(p.dir);
}

Result<SecretBytes> Derive(const Paths& p, uint64_t epoch, std::span<const uint8_t> label) {
  const std::string path = FileOf(p, epoch);
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, "no erasable secret for epoch");
    return SysError("cannot open", path, errno);
  }
  SecretBytes secret(kSecretBytes);
  auto bytes = secret.Reveal(SecretAccess::Grant());
  ssize_t n = ::read(fd, bytes.data(), bytes.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(kSecretBytes)) {
    return MakeError(ErrorCode::kDataLoss, "erasable secret file " + path + " is truncated");
  }
  auto mac = crypto::HmacSha256(secret, label);
  if (!mac.ok()) return mac.error();
  SecretBytes out(SecretAccess::Grant(), std::span<const uint8_t>(*mac));
  WipeMemory(mac->data(), mac->size());
  return out;
}

Result<void> Erase(const Paths& p, uint64_t epoch) {
  const std::string path = FileOf(p, epoch);
  int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Ok();
    return SysError("cannot open", path, errno);
  }
  std::vector<uint8_t> zeros(kSecretBytes, 0);
  auto written = WriteAll(fd, zeros, path);
  ::close(fd);
  if (!written.ok()) return written.error();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return SysError("cannot unlink", path, errno);
  return SyncDir(p.dir);
}

Result<std::vector<uint64_t>> Epochs(const Paths& p) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(p.dir.c_str()), ::closedir);
  if (!dir) return SysError("cannot list", p.dir, errno);
  std::vector<uint64_t> out;
  while (struct dirent* e = ::readdir(dir.get())) {
    std::string name = e->d_name;
    if (name.rfind(p.prefix, 0) != 0) continue;
    std::string digits = name.substr(p.prefix.size());
    if (digits.empty() || digits.size() > 20 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    errno = 0;
    unsigned long long v = std::strtoull(digits.c_str(), nullptr, 10);
    if (errno == 0 && std::to_string(v) == digits) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ErasableOps FileErasableOps(const std::string& key_path) {
  const Paths p = PathsOf(key_path);
  return ErasableOps{
      [p](uint64_t epoch) { return Create(p, epoch); },
      [p](uint64_t epoch, std::span<const uint8_t> label) { return Derive(p, epoch, label); },
      [p](uint64_t epoch) { return Erase(p, epoch); }, [p] { return Epochs(p); }};
}

}  // namespace onionmail::hsm
