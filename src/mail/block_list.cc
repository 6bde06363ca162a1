// mail::CanonicalBlockEntry and mail::SenderIsBlocked (contract in
// mail/block_list.h).
#include "mail/block_list.h"

#include <algorithm>

#include "base/ascii.h"

namespace onionmail::mail {
namespace {

bool IsAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool ValidDotAtom(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '.' || s.back() == '.') return false;
  if (s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || IsAtext(c); });
}

bool ValidDomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      char l = AsciiLower(c);
      if (!((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-')) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> CanonicalBlockEntry(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = Trim(s.substr(1, s.size() - 2));
  size_t at = s.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view local = s.substr(0, at);
  std::string_view domain = s.substr(at + 1);
  if (!ValidDomain(domain)) return std::nullopt;
  std::string out;
  if (local.empty() || local == "*") {
    out = "@" + AsciiLower(domain);
  } else {
    if (!ValidDotAtom(local)) return std::nullopt;
    out = AsciiLower(local) + "@" + AsciiLower(domain);
  }
  if (out.size() > kMaxBlockEntryBytes) return std::nullopt;
  return out;
}

bool SenderIsBlocked(std::span<const std::string> entries, std::string_view sender) {
  if (sender.empty() || entries.empty()) return false;
  std::string lower = AsciiLower(sender);
  size_t at = lower.rfind('@');
  if (at == std::string::npos) return false;
  auto has = [&](const std::string& key) {
    return std::binary_search(entries.begin(), entries.end(), key);
  };
  return has(lower) || has(lower.substr(at));
}

}  // namespace onionmail::mail
