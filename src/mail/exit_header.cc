// RewriteExitHeader implementation (mail/exit_header.h).
#include "mail/exit_header.h"

#include <openssl/evp.h>

#include <optional>
#include <vector>

#include "base/ascii.h"

namespace onionmail::mail {
namespace {

// Characters that may continue a local part before an address, or a domain
// after it: an occurrence next to one of them is part of something longer.
bool LocalPartChar(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~.";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (static_cast<unsigned char>(c) >= 0x80) || kSpecials.find(c) != std::string_view::npos;
}
bool DomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || (static_cast<unsigned char>(c) >= 0x80);
}

// Replaces each occurrence of `from` (lower case) in `field`, any case, for
// which `before_ok(previous char)` holds (or it starts the field) and which
// is not followed by a domain character, with `to`.
template <typename BeforeOk>
std::string ReplaceAll(const std::string& field, const std::string& from, const std::string& to,
                       BeforeOk before_ok) {
  const std::string lower = AsciiLower(field);
  std::string out;
  size_t done = 0;
  for (size_t at = lower.find(from); at != std::string::npos; at = lower.find(from, at + 1)) {
    if (at < done) continue;
    const bool before = at == 0 || before_ok(field[at - 1]);
    const size_t end = at + from.size();
    const bool after = end >= field.size() || !DomainChar(field[end]);
    if (!before || !after) continue;
    out.append(field, done, at - done);
    out += to;
    done = end;
  }
  out.append(field, done, std::string::npos);
  return out;
}

// Whether `value` holds `address` (lower case), any case, on its own.
bool HoldsAddress(const std::string& value, const std::string& address) {
  return ReplaceAll(value, address, std::string(), [](char c) { return !LocalPartChar(c); }) !=
         value;
}

// The field's value, unfolded (CRLF removed, the white space kept).
std::string Unfolded(const std::string& field) {
  std::string out;
  const size_t colon = field.find(':');
  for (size_t i = colon + 1; i < field.size(); ++i) {
    if (field[i] == '\r' || field[i] == '\n') continue;
    out += field[i];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = AsciiLower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string PercentDecoded(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// The decoded text of an RFC 2047 encoded word's `encoding` ('b' or 'q') and
// `text`; nullopt when it is not one.
std::optional<std::string> DecodeWord(char encoding, std::string_view text) {
  if (encoding == 'q') {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '_') {
        out += ' ';
      } else if (text[i] == '=') {
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = HexValue(text[i + 1]);
        const int lo = HexValue(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        out += text[i];
      }
    }
    return out;
  }
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out(text.size() / 4 * 3 + 1);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes: drop them.
  size_t size = static_cast<size_t>(n);
  for (size_t pad = text.size(); pad > 0 && text[pad - 1] == '=' && size > 0; --pad) --size;
  return std::string(reinterpret_cast<const char*>(out.data()), size);
}

// `value` with each RFC 2047 encoded word (=?charset?B|Q?text?=) decoded and
// the white space between two adjacent encoded words removed (RFC 2047
// section 6.2: they display as one run of text).
std::string EncodedWordsDecoded(std::string_view value) {
  std::string out;
  size_t i = 0;
  bool last_was_word = false;
  size_t pending_space_start = std::string::npos;  // white space after a word
  while (i < value.size()) {
    if (value.compare(i, 2, "=?") == 0) {
      const size_t q1 = value.find('?', i + 2);
      if (q1 != std::string_view::npos && q1 + 2 < value.size() && value[q1 + 2] == '?') {
        const char encoding = AsciiLower(value[q1 + 1]);
        const size_t end = value.find("?=", q1 + 3);
        if ((encoding == 'b' || encoding == 'q') && end != std::string_view::npos) {
          auto decoded = DecodeWord(encoding, value.substr(q1 + 3, end - q1 - 3));
          if (decoded.has_value()) {
            out += *decoded;  // the space before it, if after a word, is dropped
            pending_space_start = std::string::npos;
            last_was_word = true;
            i = end + 2;
            continue;
          }
        }
      }
    }
    const char c = value[i];
    if ((c == ' ' || c == '\t') && last_was_word) {
      if (pending_space_start == std::string::npos) pending_space_start = i;
      ++i;
      continue;
    }
    if (pending_space_start != std::string::npos) {
      out.append(value.substr(pending_space_start, i - pending_space_start));
      pending_space_start = std::string::npos;
    }
    last_was_word = false;
    out += c;
    ++i;
  }
  if (pending_space_start != std::string::npos) out.append(value.substr(pending_space_start));
  return out;
}

bool NamesAnOnion(const std::string& value) {
  const std::string decoded = EncodedWordsDecoded(value);
  for (const std::string& view : {value, decoded, PercentDecoded(value), PercentDecoded(decoded)}) {
    if (AsciiLower(view).find(".onion") != std::string::npos) return true;
  }
  return false;
}

// `name` for an error message when it is a field of RFC 5322, 2045 or 2183
// (in its usual spelling); "a field" otherwise: a field name is the
// sender's text and may be anything.
std::string FieldForLog(std::string_view name) {
  for (std::string_view known : {"From",
                                 "Sender",
                                 "Reply-To",
                                 "To",
                                 "Cc",
                                 "Bcc",
                                 "Subject",
                                 "Comments",
                                 "Keywords",
                                 "Message-ID",
                                 "In-Reply-To",
                                 "References",
                                 "Date",
                                 "Resent-From",
                                 "Resent-Sender",
                                 "Resent-To",
                                 "Resent-Cc",
                                 "Resent-Bcc",
                                 "Resent-Message-ID",
                                 "MIME-Version",
                                 "Content-Type",
                                 "Content-Disposition",
                                 "Content-Description",
                                 "Content-ID",
                                 "Content-Transfer-Encoding",
                                 "User-Agent",
                                 "Organization",
                                 "List-Unsubscribe"}) {
    if (AsciiEqualsIgnoreCase(name, known)) return std::string(known);
  }
  return "a field";
}

bool IsMessageIdField(std::string_view name) {
  for (std::string_view id : {"message-id", "in-reply-to", "references", "resent-message-id"}) {
    if (AsciiEqualsIgnoreCase(name, id)) return true;
  }
  return false;
}

size_t CountAt(std::string_view value) {
  size_t n = 0;
  for (char c : value) n += c == '@';
  return n;
}

// The fields of `header` (each with its continuation lines and CRLFs) and
// whether the empty line ended it.
struct Fields {
  std::vector<std::string> fields;
  bool ended = false;
};

Result<Fields> SplitFields(std::string_view header) {
  Fields out;
  size_t pos = 0;
  while (pos < header.size()) {
    const size_t lf = header.find('\n', pos);
    if (lf == std::string_view::npos || lf == pos || header[lf - 1] != '\r') {
      return MakeError(ErrorCode::kInvalidArgument, "exit header: a line without CRLF");
    }
    const std::string_view line = header.substr(pos, lf + 1 - pos);
    if (line.substr(0, line.size() - 2).find_first_of("\r\n") != std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "exit header: a bare CR or LF");
    }
    pos = lf + 1;
    if (line == "\r\n") {
      if (pos != header.size()) {
        return MakeError(ErrorCode::kInvalidArgument, "exit header: bytes after its end");
      }
      out.ended = true;
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (out.fields.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "exit header: starts with a continuation");
      }
      out.fields.back().append(line);
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return MakeError(ErrorCode::kInvalidArgument, "exit header: a line that is no field");
    }
    for (char c : line.substr(0, colon)) {
      if (c < 33 || c > 126) {
        return MakeError(ErrorCode::kInvalidArgument, "exit header: a bad field name");
      }
    }
    out.fields.emplace_back(line);
  }
  return out;
}

bool ValidAddress(const std::string& address) {
  const size_t at = address.find('@');
  return at != std::string::npos && at > 0 && at + 1 < address.size() && CountAt(address) == 1 &&
         address == AsciiLower(address);
}

}  // namespace

Result<std::string> RewriteExitHeader(std::string_view header, const ExitSender& sender) {
  if (header.size() > kMaxExitHeaderBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "exit header: too long");
  }
  if (!ValidAddress(sender.address) || !ValidAddress(sender.alias)) {
    return MakeError(ErrorCode::kInvalidArgument, "exit header: bad sender or alias");
  }
  auto split = SplitFields(header);
  if (!split.ok()) return split.error();
  const std::string onion = sender.address.substr(sender.address.find('@') + 1);
  const std::string exit_domain = sender.alias.substr(sender.alias.find('@') + 1);

  std::string out;
  size_t from_fields = 0;
  for (const std::string& raw : split->fields) {
    const std::string name = raw.substr(0, raw.find(':'));
    if (AsciiEqualsIgnoreCase(name, "received") || AsciiEqualsIgnoreCase(name, "return-path"))
      continue;
    std::string field =
        ReplaceAll(raw, sender.address, sender.alias, [](char c) { return !LocalPartChar(c); });
    if (IsMessageIdField(name)) {
      field = ReplaceAll(field, onion, exit_domain, [](char c) { return c == '@' || c == '.'; });
    }
    const std::string value = Unfolded(field);
    if (NamesAnOnion(name) || NamesAnOnion(value)) {
      return MakeError(ErrorCode::kPermissionDenied, "onion name in " + FieldForLog(name));
    }
    const bool is_from = AsciiEqualsIgnoreCase(name, "from");
    if (is_from || AsciiEqualsIgnoreCase(name, "sender")) {
      from_fields += is_from;
      if (CountAt(value) != 1 || !HoldsAddress(value, sender.alias)) {
        return MakeError(ErrorCode::kPermissionDenied,
                         std::string(is_from ? "From" : "Sender") + " is not the sender");
      }
    }
    out += field;
  }
  if (from_fields != 1) return MakeError(ErrorCode::kPermissionDenied, "From is not the sender");
  if (split->ended) out += "\r\n";
  return out;
}

}  // namespace onionmail::mail
