// How onionmailctl obtains passwords: from a file, from a prompt on the
// terminal (echo off), or generated. Never from argv or the environment.
//
// Contract: the result is a SecretBytes; intermediate buffers are wiped. A
// password file loses exactly one trailing "\n" (or "\r\n"). Empty passwords
// and passwords over 1024 bytes are rejected (kInvalidArgument). Passwords
// must not contain NUL, CR or LF (they could not be typed in SMTP AUTH).
// CheckNewPassword is for passwords being set (user add, user passwd), not
// for the current password that a POP3 change quotes: those must be at least
// kMinNewPasswordLength characters, since anyone who knows a user's address
// can guess at the KDF's pace over Tor (SECURITY.md, "Malicious user or sender").
#pragma once

#include <string>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::ctl {

Result<SecretBytes> ReadPasswordFile(const std::string& path);
// Prompts on /dev/tty twice (entry and confirmation) unless confirm is false.
Result<SecretBytes> PromptPassword(const std::string& prompt, bool confirm);
// 24 characters from a 32-symbol alphabet (120 bits).
SecretBytes GeneratePassword();
Result<void> CheckPassword(const SecretBytes& password);
inline constexpr size_t kMinNewPasswordLength = 12;
Result<void> CheckNewPassword(const SecretBytes& password);

}  // namespace onionmail::ctl
