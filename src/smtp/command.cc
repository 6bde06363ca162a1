#include "smtp/command.h"

#include <limits>

namespace onionmail::smtp {
namespace {

struct VerbName {
  const char* name;
  Verb verb;
};

constexpr VerbName kVerbs[] = {
    {"EHLO", Verb::kEhlo}, {"HELO", Verb::kHelo}, {"MAIL", Verb::kMail},
    {"RCPT", Verb::kRcpt}, {"DATA", Verb::kData}, {"RSET", Verb::kRset},
    {"NOOP", Verb::kNoop}, {"QUIT", Verb::kQuit}, {"VRFY", Verb::kVrfy},
    {"EXPN", Verb::kExpn}, {"HELP", Verb::kHelp}, {"STARTTLS", Verb::kStartTls},
    {"AUTH", Verb::kAuth}, {"TORM", Verb::kTorm}, {"TKIM", Verb::kTkim},
    {"VMAT", Verb::kVmat},
};

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         AsciiEqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

// Result of splitting "<path> params": the text between the brackets and
// the parameter text after them.
struct PathAndParams {
  std::string_view path;
  std::string_view params;
};

// `arg` is the MAIL/RCPT argument, `keyword` "FROM:" or "TO:".
std::optional<PathAndParams> SplitPath(std::string_view arg, std::string_view keyword) {
  if (!StartsWithIgnoreCase(arg, keyword)) return std::nullopt;
  std::string_view rest = arg.substr(keyword.size());
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // common client habit
  if (rest.empty() || rest.front() != '<') return std::nullopt;
  size_t close = rest.find('>');
  if (close == std::string_view::npos) return std::nullopt;
  PathAndParams out{rest.substr(1, close - 1), rest.substr(close + 1)};
  if (!out.params.empty()) {
    if (out.params.front() != ' ') return std::nullopt;
    while (!out.params.empty() && out.params.front() == ' ') out.params.remove_prefix(1);
  }
  return out;
}

std::optional<uint64_t> ParseSize(std::string_view value) {
  if (value.empty() || value.size() > 40) return std::nullopt;
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      n = std::numeric_limits<uint64_t>::max();  // saturate: certainly too big
    } else {
      n = n * 10 + digit;
    }
  }
  return n;
}

// Parses MAIL parameters into `out`; returns the rejection reply if any.
std::optional<Reply> ParseMailParams(std::string_view params, MailFrom& out) {
  bool seen_body = false, seen_auth = false;
  while (!params.empty()) {
    size_t space = params.find(' ');
    std::string_view param = params.substr(0, space);
    params = space == std::string_view::npos ? std::string_view() : params.substr(space + 1);
    if (param.empty()) continue;  // repeated spaces
    size_t eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (AsciiEqualsIgnoreCase(key, "SIZE")) {
      auto size = ParseSize(value);
      if (!size || out.size) return Reply::kSyntaxError;
      out.size = size;
    } else if (AsciiEqualsIgnoreCase(key, "BODY")) {
      if (seen_body ||
          !(AsciiEqualsIgnoreCase(value, "7BIT") || AsciiEqualsIgnoreCase(value, "8BITMIME"))) {
        return Reply::kSyntaxError;
      }
      seen_body = true;
      out.body_8bitmime = AsciiEqualsIgnoreCase(value, "8BITMIME");
    } else if (AsciiEqualsIgnoreCase(key, "AUTH")) {
      // RFC 4954 section 5: accepted and ignored (we never relay).
      if (seen_auth || value.empty()) return Reply::kSyntaxError;
      seen_auth = true;
    } else {
      return Reply::kUnknownParameter;
    }
  }
  return std::nullopt;
}

}  // namespace

Command ParseCommand(std::string_view line) {
  size_t space = line.find(' ');
  std::string_view verb = line.substr(0, space);
  Command cmd;
  if (space != std::string_view::npos) cmd.arg = line.substr(space + 1);
  for (const auto& v : kVerbs) {
    if (AsciiEqualsIgnoreCase(verb, v.name)) {
      cmd.verb = v.verb;
      break;
    }
  }
  return cmd;
}

Parsed<MailFrom> ParseMailFrom(std::string_view arg) {
  auto split = SplitPath(arg, "FROM:");
  if (!split) return Reply::kSyntaxError;
  MailFrom out;
  if (!split->path.empty()) {
    auto address = ParsePathContent(split->path);
    if (!address) return Reply::kBadSenderSyntax;
    out.sender = std::move(*address);
  }
  if (auto reject = ParseMailParams(split->params, out)) return *reject;
  return out;
}

Parsed<RcptTo> ParseRcptTo(std::string_view arg) {
  auto split = SplitPath(arg, "TO:");
  if (!split) return Reply::kSyntaxError;
  if (!split->params.empty()) return Reply::kUnknownParameter;
  RcptTo out;
  if (AsciiEqualsIgnoreCase(split->path, "postmaster")) {
    out.recipient.local = "postmaster";
    out.bare_postmaster = true;
    return out;
  }
  auto address = ParsePathContent(split->path);
  if (!address) return Reply::kBadAddressSyntax;
  out.recipient = std::move(*address);
  return out;
}

}  // namespace onionmail::smtp
