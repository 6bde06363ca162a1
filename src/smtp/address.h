// Mail address handling for the SMTP front end (RFC 5321 section 4.1.2).
//
// Contract:
//  - ParsePathContent() parses what stands between '<' and '>' of a path:
//    an optional source route ("@a,@b:") is stripped, the rest must be
//    Local-part "@" Domain with a dot-atom local part (quoted local parts are
//    rejected), an ASCII domain (labels of [A-Za-z0-9-] or an address
//    literal) and lengths within RFC 5321 limits. Nothing with control
//    characters, spaces or 8-bit bytes is ever accepted, so a parsed address
//    is safe to put into a header line.
//  - IsValidLocalPart() is this server's rule for its own users' names:
//    1..64 chars of [a-z0-9._-], not starting or ending with '.', no "..".
//    (Same rule as mail::ValidLocalPart, kept here so om_smtp does not depend
//    on om_mail.)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/ascii.h"  // AsciiLower, AsciiEqualsIgnoreCase: used with addresses

namespace onionmail::smtp {

struct Address {
  std::string local;   // as received (case preserved)
  std::string domain;  // as received (case preserved)

  std::string ToString() const { return local + "@" + domain; }
};

std::optional<Address> ParsePathContent(std::string_view content);

bool IsValidLocalPart(std::string_view local_part);

}  // namespace onionmail::smtp
