// bot::ComposeReply: the server@ bot's reply as an RFC 5322 message (bot/bot.h),
// and the pieces of it that depend on nothing but their arguments.
//
// Contract:
//  - ComposeReply() writes, in this order: Date, From "onionmaild"
//    <server@domain>, To <user@domain>, Subject "Re: " + subject (or
//    "Re: HELP" when subject is empty), Message-ID <message_id_local@domain>,
//    In-Reply-To and References (only when in_reply_to is not empty),
//    Auto-Submitted: auto-replied, MIME-Version: 1.0, Content-Type: text/plain;
//    charset=utf-8, Content-Transfer-Encoding: 8bit, an empty line and the
//    body (AppendBody). The caller vouches for the header values: domain and
//    user validated, subject from SanitizeSubject(), in_reply_to a well-formed
//    msg-id, message_id_local from mail::NewMessageIdLocal()
//    (mail/message_fields.h, which also has the date, mail::Rfc5322Date).
//  - AppendBody() appends text with every line ending (CRLF, LF or a lone CR)
//    made CRLF, NUL octets dropped (8bit forbids them, RFC 2045), lines longer
//    than kMaxBodyLine octets split (at a UTF-8 character boundary when one is
//    within 3 octets) and a final CRLF when the text does not end in one.
//  - SanitizeSubject(): the octets 0x20..0x7E of subject (others dropped), at
//    most kMaxSubject octets, surrounding spaces removed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace onionmail::bot {

inline constexpr size_t kMaxBodyLine = 998;
inline constexpr size_t kMaxSubject = 200;

struct ReplyParts {
  std::string_view domain;
  std::string_view user;
  std::string_view date;
  std::string_view subject;
  std::string_view message_id_local;
  std::string_view in_reply_to;
  std::string_view body;
};

std::string ComposeReply(const ReplyParts& parts);

void AppendBody(std::string_view text, std::string* out);

std::string SanitizeSubject(std::string_view subject);

}  // namespace onionmail::bot
