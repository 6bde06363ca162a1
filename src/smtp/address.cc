#include "smtp/address.h"

#include <cstring>

namespace onionmail::smtp {
namespace {

constexpr size_t kMaxLocalPart = 64;  // RFC 5321 4.5.3.1.1
constexpr size_t kMaxDomain = 255;    // RFC 5321 4.5.3.1.2
constexpr size_t kMaxPath = 256;      // RFC 5321 4.5.3.1.3 (with brackets)

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5322 atext.
bool IsAtext(char c) {
  return IsAlnum(c) || (c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

bool IsDotAtom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!IsAtext(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool IsDomain(std::string_view s) {
  if (s.empty() || s.size() > kMaxDomain) return false;
  if (s.front() == '[') {
    // Address literal: printable ASCII without brackets, backslash or space.
    if (s.size() < 3 || s.back() != ']') return false;
    for (char c : s.substr(1, s.size() - 2)) {
      if (c <= ' ' || c > '~' || c == '[' || c == ']' || c == '\\') return false;
    }
    return true;
  }
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// Strips an RFC 5321 A-d-l ("@one,@two:") if present; nullopt if malformed.
std::optional<std::string_view> StripSourceRoute(std::string_view s) {
  if (s.empty() || s.front() != '@') return s;
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view route = s.substr(0, colon);
  size_t start = 0;
  while (start < route.size()) {
    size_t comma = route.find(',', start);
    std::string_view hop =
        route.substr(start, comma == std::string_view::npos ? route.npos : comma - start);
    if (hop.size() < 2 || hop.front() != '@' || !IsDomain(hop.substr(1))) return std::nullopt;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
    if (start == route.size()) return std::nullopt;  // trailing comma
  }
  return s.substr(colon + 1);
}

}  // namespace

std::optional<Address> ParsePathContent(std::string_view content) {
  if (content.size() + 2 > kMaxPath) return std::nullopt;
  auto mailbox = StripSourceRoute(content);
  if (!mailbox) return std::nullopt;
  size_t at = mailbox->rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view local = mailbox->substr(0, at);
  std::string_view domain = mailbox->substr(at + 1);
  // A quoted local part is legal SMTP, but this server does not need it.
  if (local.size() > kMaxLocalPart || !IsDotAtom(local)) return std::nullopt;
  if (!IsDomain(domain)) return std::nullopt;
  return Address{std::string(local), std::string(domain)};
}

bool IsValidLocalPart(std::string_view local_part) {
  if (local_part.empty() || local_part.size() > kMaxLocalPart) return false;
  if (local_part.front() == '.' || local_part.back() == '.') return false;
  char prev = 0;
  for (char c : local_part) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
    if (c == '.' && prev == '.') return false;
    prev = c;
  }
  return true;
}

}  // namespace onionmail::smtp
