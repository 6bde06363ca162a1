// ASCII case folding for protocol text (domain names, local parts, SMTP and
// POP3 keywords, header field names): only 'A'..'Z' change; every other
// byte, UTF-8 included, is left as it is, whatever the C locale says.
//
// Contract: pure functions, no allocation but AsciiLower(string_view)'s
// result; usable in constexpr contexts (the char forms).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace onionmail {

constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

constexpr bool AsciiEqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

}  // namespace onionmail
