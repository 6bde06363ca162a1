// mail::ComposeFailureReport: the delivery status notification (RFC 3464, a
// multipart/report of RFC 6522) the SMTP front end puts in the sender's own
// mailbox when a relayed message reached some remote onion servers and not
// others (the client got 250, so it learns of the failed recipients only
// from this message). Pure: no I/O, no clock, no randomness.
//
// Contract:
//  - The message has CRLF line endings, no line over kMaxReportLine octets,
//    and only US-ASCII in its header and in its first two parts. Headers, in
//    order: Date, From "onionmaild" <server@domain>, To <user@domain>,
//    Subject "Undelivered mail: N recipient(s) did not get your message" (N
//    the failed recipients), Message-ID <message_id_local@domain>,
//    Auto-Submitted: auto-replied, MIME-Version: 1.0, Content-Type:
//    multipart/report; report-type=delivery-status;
//    boundary="=_onionmaild_report_<message_id_local>".
//  - Part 1, text/plain; charset=us-ascii: what was and was not delivered,
//    that this server does not retry, and a line per failed recipient:
//    "  rcpt: <why> (<code> <status>)", or "(<status>)" when code is 0.
//  - Part 2, message/delivery-status: "Reporting-MTA: dns; <domain>", then a
//    block per failed recipient (Final-Recipient: rfc822, Action: failed,
//    Status: ReportStatus(), Remote-MTA: dns, and Diagnostic-Code: smtp
//    "<code> <status>" when code is not 0), as RFC 3464 section 2.1 has it.
//  - Part 3, text/rfc822-headers, only when original_headers gives at least
//    one line: its lines up to the first empty one, each ending CRLF (bare
//    LF and CR made CRLF), NUL octets dropped, octets >= 0x80 made '?', a
//    line longer than kMaxReportLine folded (continued on lines that begin
//    with a space), at most kMaxReportHeaders octets cut at a line boundary.
//    A line that would read as the report's boundary gets a '?' first.
//  - Every value put in a header or field line (domain, user, date,
//    message_id_local, recipients, remote domains) has CR, LF and NUL
//    dropped, other octets outside 0x20..0x7E made '?', and is cut to
//    kMaxReportValue octets. The callers vouch for them (validated
//    addresses, Rfc5322Date, NewMessageIdLocal: mail/message_fields.h);
//    this is defence only. `failed` should hold at least one recipient.
//  - A code outside 400..599 counts as 0 (no reply). ReportStatus():
//    `enhanced` when well formed (class 4 or 5, then "." 1-3 digits "." 1-3
//    digits, RFC 3463) and of the code's class; else "5.0.0" for 5xx,
//    "4.0.0" for 4xx, "4.4.2" for 0.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onionmail::mail {

inline constexpr size_t kMaxReportLine = 998;
inline constexpr size_t kMaxReportHeaders = 16384;
inline constexpr size_t kMaxReportValue = 400;

// The recipients one remote server had accepted and did not get the message.
struct FailedDelivery {
  std::string domain;                   // the remote server's onion name, lower case
  std::vector<std::string> recipients;  // forward paths it had accepted ("bob@<domain>")
  int code = 0;          // its reply to DATA or to the final dot, 400..599; 0: it never replied
  std::string enhanced;  // its enhanced status code ("5.1.1"), may be empty or malformed
  bool may_have_arrived = false;  // the whole message and the final dot were sent, no reply came
};

struct FailureReportParts {
  std::string_view domain;                 // this server's domain (its .onion), lower case
  std::string_view user;                   // the sender's local part on this server
  std::string_view date;                   // RFC 5322 date of now (mail::Rfc5322Date)
  std::string_view message_id_local;       // from mail::NewMessageIdLocal (32 hex digits)
  std::string_view original_headers;       // header block of the message as relayed; may be empty
  std::span<const FailedDelivery> failed;  // at least one
  size_t delivered_servers = 0;            // how many remote servers took the message
  size_t local_recipients = 0;             // how many recipients on this server got it
};

std::string ComposeFailureReport(const FailureReportParts& parts);

std::string ReportStatus(const FailedDelivery& failed);

}  // namespace onionmail::mail
