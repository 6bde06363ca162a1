// mail::ValidLocalPart (contract in mail/backend.h).
#include <algorithm>

#include "mail/backend.h"

namespace onionmail::mail {

bool ValidLocalPart(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (s.front() == '.' || s.back() == '.') return false;
  if (s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace onionmail::mail
