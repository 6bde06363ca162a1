#include "pop3/command.h"

#include <array>
#include <charconv>
#include <utility>

#include "base/ascii.h"

namespace onionmail::pop3 {
namespace {

constexpr std::array<std::pair<std::string_view, Verb>, 15> kVerbs = {{
    {"CAPA", Verb::kCapa},
    {"STLS", Verb::kStls},
    {"USER", Verb::kUser},
    {"PASS", Verb::kPass},
    {"AUTH", Verb::kAuth},
    {"STAT", Verb::kStat},
    {"LIST", Verb::kList},
    {"UIDL", Verb::kUidl},
    {"RETR", Verb::kRetr},
    {"TOP", Verb::kTop},
    {"DELE", Verb::kDele},
    {"RSET", Verb::kRset},
    {"NOOP", Verb::kNoop},
    {"QUIT", Verb::kQuit},
    {"RQUS", Verb::kRqus},
}};

}  // namespace

Command ParseCommand(std::string_view line) {
  Command command;
  size_t space = line.find(' ');
  std::string_view keyword = line.substr(0, space);
  if (space != std::string_view::npos) command.rest = line.substr(space + 1);
  for (const auto& [name, verb] : kVerbs) {
    if (AsciiEqualsIgnoreCase(keyword, name)) {
      command.verb = verb;
      break;
    }
  }
  std::string_view rest = command.rest;
  while (!rest.empty()) {
    size_t end = rest.find(' ');
    std::string_view token = rest.substr(0, end);
    if (!token.empty()) command.args.push_back(token);
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return command;
}

std::optional<uint64_t> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> NormalizeUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    char l = AsciiLower(c);
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '_' || l == '-';
    if (!ok) return std::nullopt;
    out.push_back(l);
  }
  if (out.front() == '.' || out.back() == '.') return std::nullopt;
  if (out.find("..") != std::string::npos) return std::nullopt;
  return out;
}

}  // namespace onionmail::pop3
