// bot::ParseRequest: what the server@ bot reads of a request (bot/bot.h): the
// command in its Subject, its Message-ID and whether a machine sent it.
//
// Contract:
//  - The request is hostile bytes (NULs, 8-bit bytes, bare CR or LF, huge
//    lines, no final line ending); parsing never fails and is linear in the
//    request's size. Only the header section is read: the lines before the
//    first empty one, or the whole request when there is none. A line ends at
//    LF, with one CR before it dropped. A line opening with a space or tab
//    continues the previous field (unfolding keeps its blanks); a line without
//    a colon is skipped. Field names match without regard to case and only the
//    first Subject, Message-ID, Auto-Submitted and Content-Type count.
//  - Request::subject: the Subject's value with any number of leading "Re:"
//    prefixes (any case, blanks allowed before the colon and between them) and
//    surrounding spaces and tabs removed. Raw bytes: the caller sanitizes.
//  - Request::message_id: the Message-ID when it is a well-formed msg-id
//    (IsWellFormedMsgId), without surrounding blanks; else empty.
//  - Request::automatic: an Auto-Submitted whose keyword (before any ";" or
//    comment) is other than "no", in any case, or a Content-Type whose media
//    type is multipart/report (RFC 3834).
//  - ParseCommandLine(): the subject split into words at ASCII white space.
//    The first word, matched without regard to case against HELP,
//    RULEZ/RULES, IDENT, CONFIG/LIMITS, SPAM, LIST and VOUCHER, is the command; no word at
//    all is kHelp, any other word kUnknown, except that "SET IS SPAM" (the
//    original OnionMail's form, any case) is kSpam with "ADD" in place of
//    its first three words. The words after the command are its arguments,
//    copied only when they are all printable (every octet 0x21..0x7E), at
//    most kMaxCommandArgBytes octets each and at most kMaxCommandArgs of
//    them; otherwise `args` is empty and `args_ok` false. Only the first
//    kMaxCommandArgs + 2 words are looked at, so the work and the copy are
//    bounded whatever the subject. ParseCommand() is its `command`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"  // AsciiEqualsIgnoreCase, AsciiLower

namespace onionmail::bot {

enum class Command { kHelp, kRulez, kIdent, kConfig, kSpam, kList, kVoucher, kVmat, kUnknown };

// An argument has room for the longest entry mail::CanonicalBlockEntry()
// accepts (200 octets) written in angle brackets or with a "*" (202), and for
// a list's address "<name>.list@<domain>" under a domain of up to 195 octets
// (every onion address).
inline constexpr size_t kMaxCommandArgs = 8;
inline constexpr size_t kMaxCommandArgBytes = 260;

struct CommandLine {
  Command command = Command::kHelp;
  std::vector<std::string> args;  // printable ASCII words, bounded (above)
  bool args_ok = true;            // false: the arguments were refused
};

struct Request {
  std::string subject;
  std::string message_id;
  bool automatic = false;
};

Request ParseRequest(std::string_view request);

// The subject without leading "Re:" prefixes and surrounding blanks.
std::string_view StripReplyPrefixes(std::string_view subject);

CommandLine ParseCommandLine(std::string_view subject);
Command ParseCommand(std::string_view subject);

// "<" + 1..250 octets of 0x21..0x7E other than "<" and ">", holding exactly one
// "@" with octets on both sides, + ">"; no blanks around it.
bool IsWellFormedMsgId(std::string_view id);

}  // namespace onionmail::bot
