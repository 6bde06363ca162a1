#include "bot/reply_message.h"

#include <cstddef>

namespace onionmail::bot {
namespace {

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// One line of text (no line ending in it), NULs dropped, split into CRLF lines
// of at most kMaxBodyLine octets.
void AppendLine(std::string_view line, std::string* out) {
  std::string clean;
  clean.reserve(line.size());
  for (char c : line) {
    if (c != '\0') clean.push_back(c);
  }
  size_t start = 0;
  while (clean.size() - start > kMaxBodyLine) {
    size_t cut = start + kMaxBodyLine;
    size_t back = cut;
    while (back > cut - 3 && IsUtf8Continuation(clean[back])) --back;
    if (!IsUtf8Continuation(clean[back])) cut = back;
    out->append(clean, start, cut - start);
    out->append("\r\n");
    start = cut;
  }
  out->append(clean, start, std::string::npos);
  out->append("\r\n");
}

void AppendHeader(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

}  // namespace

std::string ComposeReply(const ReplyParts& parts) {
  std::string domain(parts.domain);
  std::string out;
  out.reserve(1024 + parts.body.size());
  AppendHeader(&out, "Date", parts.date);
  AppendHeader(&out, "From", "\"onionmaild\" <server@" + domain + ">");
  AppendHeader(&out, "To", "<" + std::string(parts.user) + "@" + domain + ">");
  AppendHeader(&out, "Subject",
               "Re: " + std::string(parts.subject.empty() ? "HELP" : parts.subject));
  AppendHeader(&out, "Message-ID", "<" + std::string(parts.message_id_local) + "@" + domain + ">");
  if (!parts.in_reply_to.empty()) {
    AppendHeader(&out, "In-Reply-To", parts.in_reply_to);
    AppendHeader(&out, "References", parts.in_reply_to);
  }
  AppendHeader(&out, "Auto-Submitted", "auto-replied");
  AppendHeader(&out, "MIME-Version", "1.0");
  AppendHeader(&out, "Content-Type", "text/plain; charset=utf-8");
  AppendHeader(&out, "Content-Transfer-Encoding", "8bit");
  out.append("\r\n");
  AppendBody(parts.body, &out);
  return out;
}

void AppendBody(std::string_view text, std::string* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) {
      AppendLine(text.substr(pos), out);
      return;
    }
    AppendLine(text.substr(pos, eol - pos), out);
    pos = eol + 1;
    if (text[eol] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
  }
}

std::string SanitizeSubject(std::string_view subject) {
  std::string kept;
  for (char c : subject) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E || (c == ' ' && kept.empty())) continue;
    if (kept.size() == kMaxSubject) break;
    kept.push_back(c);
  }
  while (!kept.empty() && kept.back() == ' ') kept.pop_back();
  return kept;
}

}  // namespace onionmail::bot
