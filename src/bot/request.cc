#include "bot/request.h"

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include "base/ascii.h"

namespace onionmail::bot {
namespace {

// The header fields the bot reads, in the order of kWantedNames.
enum Wanted : int { kSubject, kMessageId, kAutoSubmitted, kContentType, kWantedCount };
constexpr std::array<std::string_view, kWantedCount> kWantedNames = {
    "subject", "message-id", "auto-submitted", "content-type"};

constexpr size_t kMaxMsgIdInner = 250;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

int WantedIndex(std::string_view name) {
  for (int i = 0; i < kWantedCount; ++i) {
    if (AsciiEqualsIgnoreCase(name, kWantedNames[i])) return i;
  }
  return -1;
}

// The part of a structured field's value before its parameters or comments.
std::string_view LeadingToken(std::string_view value) {
  size_t end = value.find_first_of(";(");
  return TrimBlanks(value.substr(0, end == std::string_view::npos ? value.size() : end));
}

bool IsAutoSubmitted(std::string_view value) {
  return !AsciiEqualsIgnoreCase(LeadingToken(value), "no");
}

bool IsMultipartReport(std::string_view value) {
  std::string type;
  for (char c : LeadingToken(value)) {
    if (!IsBlank(c)) type.push_back(c);
  }
  return AsciiEqualsIgnoreCase(type, "multipart/report");
}

// The first `max_words` words of `s` (split at ASCII white space); *more is
// set when a further word follows them.
std::vector<std::string_view> SplitWords(std::string_view s, size_t max_words, bool* more) {
  std::vector<std::string_view> words;
  *more = false;
  size_t pos = 0;
  while (true) {
    while (pos < s.size() && IsAsciiSpace(s[pos])) ++pos;
    if (pos == s.size()) break;
    if (words.size() == max_words) {
      *more = true;
      break;
    }
    size_t end = pos;
    while (end < s.size() && !IsAsciiSpace(s[end])) ++end;
    words.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

Command CommandWord(std::string_view word) {
  if (AsciiEqualsIgnoreCase(word, "HELP")) return Command::kHelp;
  if (AsciiEqualsIgnoreCase(word, "RULEZ") || AsciiEqualsIgnoreCase(word, "RULES"))
    return Command::kRulez;
  if (AsciiEqualsIgnoreCase(word, "IDENT")) return Command::kIdent;
  if (AsciiEqualsIgnoreCase(word, "CONFIG") || AsciiEqualsIgnoreCase(word, "LIMITS")) {
    return Command::kConfig;
  }
  if (AsciiEqualsIgnoreCase(word, "SPAM")) return Command::kSpam;
  if (AsciiEqualsIgnoreCase(word, "LIST")) return Command::kList;
  if (AsciiEqualsIgnoreCase(word, "VOUCHER")) return Command::kVoucher;
  if (AsciiEqualsIgnoreCase(word, "VMAT")) return Command::kVmat;
  return Command::kUnknown;
}

bool IsPrintableArg(std::string_view word) {
  if (word.empty() || word.size() > kMaxCommandArgBytes) return false;
  for (char c : word) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E) return false;
  }
  return true;
}

}  // namespace

Request ParseRequest(std::string_view request) {
  std::array<std::optional<std::string>, kWantedCount> values;
  int continuing = -1;  // the wanted field a continuation line extends
  size_t pos = 0;
  while (pos < request.size()) {
    size_t lf = request.find('\n', pos);
    size_t end = lf == std::string_view::npos ? request.size() : lf;
    std::string_view line = request.substr(pos, end - pos);
    pos = lf == std::string_view::npos ? request.size() : lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    if (IsBlank(line.front())) {
      if (continuing >= 0) values[continuing]->append(line);
      continue;
    }
    continuing = -1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && IsBlank(name.back())) name.remove_suffix(1);
    int which = WantedIndex(name);
    if (which < 0 || values[which].has_value()) continue;
    values[which] = std::string(line.substr(colon + 1));
    continuing = which;
  }

  Request parsed;
  if (values[kSubject]) parsed.subject = std::string(StripReplyPrefixes(*values[kSubject]));
  if (values[kMessageId]) {
    std::string_view id = TrimBlanks(*values[kMessageId]);
    if (IsWellFormedMsgId(id)) parsed.message_id = std::string(id);
  }
  parsed.automatic = (values[kAutoSubmitted] && IsAutoSubmitted(*values[kAutoSubmitted])) ||
                     (values[kContentType] && IsMultipartReport(*values[kContentType]));
  return parsed;
}

std::string_view StripReplyPrefixes(std::string_view subject) {
  std::string_view s = TrimBlanks(subject);
  while (s.size() >= 3 && AsciiLower(s[0]) == 'r' && AsciiLower(s[1]) == 'e') {
    size_t i = 2;
    while (i < s.size() && IsBlank(s[i])) ++i;
    if (i == s.size() || s[i] != ':') break;
    s = TrimBlanks(s.substr(i + 1));
  }
  return s;
}

CommandLine ParseCommandLine(std::string_view subject) {
  // Enough for the command and kMaxCommandArgs arguments, "SET IS SPAM"
  // taking two words more than "SPAM ADD"; `more` says there are too many.
  bool more = false;
  std::vector<std::string_view> words = SplitWords(subject, kMaxCommandArgs + 2, &more);
  CommandLine line;
  if (words.empty()) return line;
  line.command = CommandWord(words[0]);
  size_t first_arg = 1;
  if (line.command == Command::kUnknown && words.size() >= 3 &&
      AsciiEqualsIgnoreCase(words[0], "SET") && AsciiEqualsIgnoreCase(words[1], "IS") &&
      AsciiEqualsIgnoreCase(words[2], "SPAM")) {
    line.command = Command::kSpam;
    line.args.emplace_back("ADD");
    first_arg = 3;
  }
  line.args_ok = !more && line.args.size() + (words.size() - first_arg) <= kMaxCommandArgs;
  for (size_t i = first_arg; line.args_ok && i < words.size(); ++i) {
    if (!IsPrintableArg(words[i])) line.args_ok = false;
  }
  if (!line.args_ok) {
    line.args.clear();
    return line;
  }
  for (size_t i = first_arg; i < words.size(); ++i) line.args.emplace_back(words[i]);
  return line;
}

Command ParseCommand(std::string_view subject) { return ParseCommandLine(subject).command; }

bool IsWellFormedMsgId(std::string_view id) {
  if (id.size() < 5 || id.size() > kMaxMsgIdInner + 2) return false;
  if (id.front() != '<' || id.back() != '>') return false;
  std::string_view inner = id.substr(1, id.size() - 2);
  size_t ats = 0;
  for (char c : inner) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E || c == '<' || c == '>') return false;
    if (c == '@') ++ats;
  }
  return ats == 1 && inner.front() != '@' && inner.back() != '@';
}

}  // namespace onionmail::bot
