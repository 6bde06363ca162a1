// POP3 command-line parsing (RFC 1939 section 3, RFC 2449, RFC 2595, RFC 5034).
//
// Contract:
//  - ParseCommand() never copies the line: `rest` and `args` are views into
//    the caller's line buffer, so a PASS/AUTH line can be wiped afterwards.
//  - The keyword is matched case-insensitively; an unrecognised keyword gives
//    Verb::kUnknown. `rest` is everything after the first space, verbatim (PASS
//    uses it because a password may contain spaces); `args` is `rest` split on
//    spaces with empty tokens dropped.
//  - Numbers are parsed strictly with std::from_chars: decimal digits only,
//    no sign, no spaces, no overflow.
//  - NormalizeUserName() applies the mailbox-name rule (lower-cased, 1..64 of
//    [a-z0-9._-], no leading/trailing '.', no "..") and returns nullopt for an
//    invalid name, which the session treats exactly like a failed login.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"  // AsciiEqualsIgnoreCase, AsciiLower

namespace onionmail::pop3 {

enum class Verb {
  kUnknown,
  kCapa,
  kStls,
  kUser,
  kPass,
  kAuth,
  kStat,
  kList,
  kUidl,
  kRetr,
  kTop,
  kDele,
  kRset,
  kNoop,
  kQuit,
  kRqus,  // registration with a voucher (docs/PROTOCOL.md, "Registration: RQUS")
};

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view rest;               // after the first space, verbatim
  std::vector<std::string_view> args;  // `rest` split on spaces
};

Command ParseCommand(std::string_view line);

// A decimal number without sign or spaces; nullopt on anything else.
std::optional<uint64_t> ParseNumber(std::string_view text);

std::optional<std::string> NormalizeUserName(std::string_view name);

}  // namespace onionmail::pop3
