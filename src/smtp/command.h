// SMTP command line parsing (RFC 5321 section 4.1, RFC 1870 SIZE,
// RFC 6152 8BITMIME, RFC 4954 AUTH= parameter).
//
// Contract:
//  - ParseCommand() splits a command line (without CRLF) into a verb, matched
//    case-insensitively, and the raw argument text after the first space.
//    It never fails: unknown verbs are Verb::kUnknown.
//  - ParseMailFrom()/ParseRcptTo() take the argument of MAIL/RCPT
//    ("FROM:<path> params" / "TO:<path> params") and return either the parsed
//    value or the Reply that explains the rejection (bad syntax, bad address,
//    unsupported parameter). Policy (domains, limits, authentication) is the
//    session's business, not the parser's.
//  - Paths must be in angle brackets; one optional space after the colon is
//    tolerated; a source route is stripped; "<>" is the null reverse-path
//    (MAIL only); "<postmaster>" without a domain is accepted for RCPT only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "smtp/address.h"
#include "smtp/reply.h"

namespace onionmail::smtp {

enum class Verb {
  kEhlo,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kExpn,
  kHelp,
  kStartTls,
  kAuth,
  kTorm,  // peer protocol (docs/PROTOCOL.md); only if the session serves it
  kTkim,  // server proof (docs/PROTOCOL.md, "TKIM"); only if the session serves it
  kVmat,  // alias for a user of the proven server (docs/PROTOCOL.md, "VMAT"); likewise
  kUnknown,
};

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view arg;  // text after the verb and one space; points into the line
};

Command ParseCommand(std::string_view line);

struct MailFrom {
  std::optional<Address> sender;  // nullopt = null reverse-path "<>"
  std::optional<uint64_t> size;   // SIZE=, saturated at UINT64_MAX
  bool body_8bitmime = false;     // BODY=8BITMIME (RFC 6152); BODY=7BIT or none: false
};

struct RcptTo {
  // For "<postmaster>" (no domain) the domain is left empty and
  // bare_postmaster is set; the session maps it to its own domain.
  Address recipient;
  bool bare_postmaster = false;
};

template <typename T>
using Parsed = std::variant<T, Reply>;

Parsed<MailFrom> ParseMailFrom(std::string_view arg);
Parsed<RcptTo> ParseRcptTo(std::string_view arg);

}  // namespace onionmail::smtp
