// OutputFiles (see output_files.h).
#include "ctl/output_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "base/secret_bytes.h"
#include "store/durable_file.h"

namespace onionmail::ctl {
namespace {

constexpr uint8_t kOpWrite = 1;
constexpr uint8_t kOpRemove = 2;
constexpr uint8_t kReplyOk = 0xff;
constexpr size_t kMaxOutputBytes = 60000;
constexpr size_t kMaxMessage = kMaxOutputBytes + 2;

Result<std::string> Absolute(const std::string& path) {
  if (path.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty output file name");
  if (path.back() == '/') {
    return MakeError(ErrorCode::kInvalidArgument, path + " names a directory, not a file");
  }
  if (path.front() == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
    return MakeError(ErrorCode::kInternal, std::string("getcwd: ") + std::strerror(errno));
  }
  return std::string(cwd) + "/" + path;
}

Result<void> CheckNew(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    return MakeError(ErrorCode::kAlreadyExists, path + " exists: refusing to overwrite it");
  }
  if (errno != ENOENT) return store::ErrnoError("cannot check", path, errno);
  const std::string dir = store::DirName(path);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kNotFound, "directory " + dir + " does not exist");
  }
  return Ok();
}

[[noreturn]] void WriterMain(int sock, const std::vector<std::string>& paths) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::vector<uint8_t> buf(kMaxMessage);
  for (;;) {
    ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string reply(1, static_cast<char>(kReplyOk));
    size_t len = static_cast<size_t>(n);
    if (len < 2 || buf[1] >= paths.size()) {
      reply = std::string(1, static_cast<char>(ErrorCode::kInvalidArgument)) + "bad request";
    } else {
      auto r =
          DoOutputFileOp(buf[0], paths[buf[1]], std::span<const uint8_t>(buf.data() + 2, len - 2));
      if (!r.ok()) reply = std::string(1, static_cast<char>(r.error().code)) + r.error().message;
    }
    WipeMemory(buf.data(), len);
    if (::send(sock, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
  }
  ::_exit(0);
}

}  // namespace

Result<void> DoOutputFileOp(uint8_t op, const std::string& path, std::span<const uint8_t> bytes) {
  if (op == kOpWrite) return store::WriteFileDurably(store::DirName(path), path, bytes, false);
  if (op == kOpRemove) return store::SecureDelete(path);
  return MakeError(ErrorCode::kInvalidArgument, "unknown output file operation");
}

Result<std::unique_ptr<OutputFiles>> OutputFiles::Prepare(const std::vector<std::string>& paths,
                                                          WriterMode mode) {
  if (paths.size() > 255) return MakeError(ErrorCode::kInvalidArgument, "too many output files");
  std::unique_ptr<OutputFiles> out(new OutputFiles());
  std::set<std::string> seen;
  for (const std::string& p : paths) {
    auto abs = Absolute(p);
    if (!abs.ok()) return abs.error();
    if (!seen.insert(*abs).second) {
      return MakeError(ErrorCode::kInvalidArgument, *abs + " is named for two outputs");
    }
    ONIONMAIL_RETURN_IF_ERROR(CheckNew(*abs));
    out->paths_.push_back(*abs);
  }
  out->written_.assign(out->paths_.size(), false);
  if (mode == WriterMode::kAuto) {
    mode = ::geteuid() == 0 ? WriterMode::kChild : WriterMode::kInProcess;
  }
  if (mode == WriterMode::kInProcess || out->paths_.empty()) return out;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return MakeError(ErrorCode::kInternal, std::string("socketpair: ") + std::strerror(errno));
  }
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return MakeError(ErrorCode::kInternal, std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    WriterMain(fds[1], out->paths_);
  }
  ::close(fds[1]);
  out->socket_ = fds[0];
  out->child_ = pid;
  return out;
}

OutputFiles::~OutputFiles() {
  if (socket_ >= 0) ::close(socket_);
  if (child_ > 0) {
    while (::waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

Result<void> OutputFiles::Request(uint8_t op, size_t index, std::span<const uint8_t> bytes) {
  if (socket_ < 0) return DoOutputFileOp(op, paths_[index], bytes);
  SecretBytes msg(bytes.size() + 2);
  auto raw = msg.Reveal(SecretAccess::Grant());
  raw[0] = op;
  raw[1] = static_cast<uint8_t>(index);
  if (!bytes.empty()) std::memcpy(raw.data() + 2, bytes.data(), bytes.size());
  ssize_t sent;
  do {
    sent = ::send(socket_, raw.data(), raw.size(), MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  char reply[1024];
  ssize_t n = -1;
  if (sent == static_cast<ssize_t>(raw.size())) {
    do {
      n = ::recv(socket_, reply, sizeof(reply), 0);
    } while (n < 0 && errno == EINTR);
  }
  if (n < 1) {
    return MakeError(ErrorCode::kInternal,
                     "the output file writer is gone; " + paths_[index] + " was not written");
  }
  if (static_cast<uint8_t>(reply[0]) == kReplyOk) return Ok();
  uint8_t code = static_cast<uint8_t>(reply[0]);
  ErrorCode ec = code <= static_cast<uint8_t>(ErrorCode::kMailboxFull)
                     ? static_cast<ErrorCode>(code)
                     : ErrorCode::kInternal;
  return MakeError(ec, std::string(reply + 1, static_cast<size_t>(n - 1)));
}

Result<void> OutputFiles::Write(size_t index, std::span<const uint8_t> bytes) {
  if (index >= paths_.size()) return MakeError(ErrorCode::kInvalidArgument, "no such output");
  if (written_[index]) return MakeError(ErrorCode::kAlreadyExists, paths_[index] + " written");
  if (bytes.size() > kMaxOutputBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "output too large for " + paths_[index]);
  }
  ONIONMAIL_RETURN_IF_ERROR(Request(kOpWrite, index, bytes));
  written_[index] = true;
  return Ok();
}

Result<SecretBytes> ReadSecretFile(const std::string& path, size_t max_bytes, bool* loose_mode) {
  *loose_mode = false;
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (raw < 0) return store::ErrnoError("cannot open", path, errno);
  store::UniqueFd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return store::ErrnoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, path + " is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  *loose_mode = (st.st_mode & 0077) != 0;
  SecretBytes out(static_cast<size_t>(st.st_size));
  auto raw_out = out.Reveal(SecretAccess::Grant());
  ONIONMAIL_RETURN_IF_ERROR(store::ReadExact(fd.get(), raw_out, path));
  return out;
}

Result<void> OutputFiles::Remove(size_t index) {
  if (index >= paths_.size() || !written_[index]) {
    return MakeError(ErrorCode::kFailedPrecondition, "output not written: nothing to remove");
  }
  ONIONMAIL_RETURN_IF_ERROR(Request(kOpRemove, index, {}));
  written_[index] = false;
  return Ok();
}

}  // namespace onionmail::ctl
