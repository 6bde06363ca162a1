// Password input for onionmailctl.
#include "ctl/password_input.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "crypto/random.h"

namespace onionmail::ctl {

namespace {
constexpr size_t kMaxPassword = 1024;

// Reads up to kMaxPassword+2 bytes from fd into a SecretBytes.
Result<SecretBytes> ReadAll(int fd, bool stop_at_newline) {
  SecretBytes buf(kMaxPassword + 2);
  auto raw = buf.Reveal(SecretAccess::Grant());
  size_t used = 0;
  while (used < raw.size()) {
    ssize_t n = ::read(fd, raw.data() + used, stop_at_newline ? 1 : raw.size() - used);
    if (n < 0) return MakeError(ErrorCode::kInternal, "cannot read password");
    if (n == 0) break;
    used += static_cast<size_t>(n);
    if (stop_at_newline && raw[used - 1] == '\n') break;
  }
  if (used > kMaxPassword + 1) return MakeError(ErrorCode::kInvalidArgument, "password too long");
  if (used > 0 && raw[used - 1] == '\n') --used;
  if (used > 0 && raw[used - 1] == '\r') --used;
  buf.Truncate(used);
  return buf;
}
}  // namespace

Result<void> CheckPassword(const SecretBytes& password) {
  if (password.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty password");
  if (password.size() > kMaxPassword) {
    return MakeError(ErrorCode::kInvalidArgument, "password too long");
  }
  for (uint8_t c : password.Reveal(SecretAccess::Grant())) {
    if (c == 0 || c == '\r' || c == '\n') {
      return MakeError(ErrorCode::kInvalidArgument, "password contains NUL, CR or LF");
    }
  }
  return Ok();
}

Result<SecretBytes> ReadPasswordFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kNotFound, "cannot open password file " + path);
  auto r = ReadAll(fd, false);
  ::close(fd);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(CheckPassword(*r));
  return r;
}

Result<SecretBytes> PromptPassword(const std::string& prompt, bool confirm) {
  int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "no terminal for a password prompt: use a --*-password-file option");
  }
  struct termios old_mode;
  bool have_mode = tcgetattr(tty, &old_mode) == 0;
  if (have_mode) {
    struct termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    (void)tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  auto ask = [&](const std::string& text) {
    (void)!::write(tty, text.data(), text.size());
    auto r = ReadAll(tty, true);
    (void)!::write(tty, "\n", 1);
    return r;
  };
  auto first = ask(prompt + ": ");
  Result<SecretBytes> out = MakeError(ErrorCode::kInternal, "unreachable");
  if (!first.ok()) {
    out = first.error();
  } else if (confirm) {
    auto second = ask("Again: ");
    if (!second.ok()) {
      out = second.error();
    } else if (!first->Equals(*second)) {
      out = MakeError(ErrorCode::kInvalidArgument, "passwords do not match");
    } else {
      out = std::move(first);
    }
  } else {
    out = std::move(first);
  }
  if (have_mode) (void)tcsetattr(tty, TCSAFLUSH, &old_mode);
  ::close(tty);
  if (!out.ok()) return out;
  ONIONMAIL_RETURN_IF_ERROR(CheckPassword(*out));
  return out;
}

Result<void> CheckNewPassword(const SecretBytes& password) {
  if (password.size() < kMinNewPasswordLength) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a new password needs at least " + std::to_string(kMinNewPasswordLength) +
                         " characters: anyone who knows the address can try passwords over "
                         "Tor (leave the option out to have one generated)");
  }
  return Ok();
}

SecretBytes GeneratePassword() {
  // No l, o, 0 or 1: the operator may read it out or copy it by hand.
  return crypto::RandomSymbols("abcdefghijkmnpqrstuvwxyz23456789", 24);
}

}  // namespace onionmail::ctl
