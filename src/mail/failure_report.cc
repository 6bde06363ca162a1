#include "mail/failure_report.h"

#include <algorithm>
#include <string>

namespace onionmail::mail {
namespace {

constexpr std::string_view kBoundaryPrefix = "=_onionmaild_report_";
// RFC 2046 allows boundaries of up to 70 characters.
constexpr size_t kMaxBoundaryId = 70 - kBoundaryPrefix.size();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAsciiAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A caller-supplied value made safe for one header or field line.
std::string Value(std::string_view value) {
  std::string out;
  out.reserve(std::min(value.size(), kMaxReportValue));
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') continue;
    if (out.size() == kMaxReportValue) break;
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u > 0x7E ? '?' : c);
  }
  return out;
}

// RFC 3463 status-code with class 4 or 5: class "." 1*3digit "." 1*3digit.
bool WellFormedStatus(std::string_view s) {
  if (s.size() < 5 || (s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t pos = 2;
  for (int field = 0; field < 2; ++field) {
    size_t start = pos;
    while (pos < s.size() && pos - start < 4 && IsDigit(s[pos])) ++pos;
    if (pos == start || pos - start > 3) return false;
    if (field == 0) {
      if (pos == s.size() || s[pos] != '.') return false;
      ++pos;
    }
  }
  return pos == s.size();
}

// The remote's reply code, or 0 when it is not a failure reply (none came).
int EffectiveCode(const FailedDelivery& failed) {
  return failed.code >= 400 && failed.code <= 599 ? failed.code : 0;
}

const char* Why(const FailedDelivery& failed) {
  int code = EffectiveCode(failed);
  if (code >= 500) return "refused by its server";
  if (code >= 400) return "its server deferred it (temporary failure)";
  if (failed.may_have_arrived) {
    return "its server did not answer after the message was sent: it may have arrived";
  }
  return "its server could not be reached or the connection failed";
}

// "<code> <status>", or "<status>" when the remote never replied.
std::string CodeAndStatus(const FailedDelivery& failed) {
  int code = EffectiveCode(failed);
  std::string status = ReportStatus(failed);
  if (code == 0) return status;
  return std::to_string(code) + " " + status;
}

void AppendLine(std::string* out, std::string_view line) {
  out->append(line);
  out->append("\r\n");
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

// Appends `line` (no line ending in it, at most kMaxReportLine octets a
// piece) to `out` unless that would make `out` longer than kMaxReportHeaders;
// returns false when it did not fit.
bool AppendCapped(std::string* out, std::string_view line) {
  if (out->size() + line.size() + 2 > kMaxReportHeaders) return false;
  AppendLine(out, line);
  return true;
}

// The text/rfc822-headers part's content; see the header's contract.
std::string CleanHeaders(std::string_view headers, std::string_view delimiter) {
  std::string out;
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t eol = headers.find_first_of("\r\n", pos);
    std::string_view raw = headers.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? headers.size() : eol + 1;
    if (eol != std::string_view::npos && headers[eol] == '\r' && pos < headers.size() &&
        headers[pos] == '\n') {
      ++pos;
    }
    std::string line;
    line.reserve(std::min(raw.size(), kMaxReportHeaders));
    for (char c : raw) {
      if (c == '\0') continue;
      if (line.size() > kMaxReportHeaders) break;  // could not fit anyway
      line.push_back(static_cast<unsigned char>(c) >= 0x80 ? '?' : c);
    }
    if (line.empty()) break;
    if (std::string_view(line).starts_with(delimiter)) line[0] = '?';
    std::string_view rest = line;
    if (!AppendCapped(&out, rest.substr(0, kMaxReportLine))) break;
    rest.remove_prefix(std::min(rest.size(), kMaxReportLine));
    while (!rest.empty()) {
      std::string piece = " ";
      piece.append(rest.substr(0, kMaxReportLine - 1));
      rest.remove_prefix(piece.size() - 1);
      if (!AppendCapped(&out, piece)) return out;
    }
  }
  return out;
}

void AppendText(const FailureReportParts& parts, std::string_view domain, size_t failed_count,
                std::string* out) {
  AppendLine(out, "This is the mail server " + std::string(domain) + ".");
  AppendLine(out, "");
  AppendLine(out, "Your message was taken by " + std::to_string(parts.delivered_servers) +
                      " other mail server(s) for their recipients");
  AppendLine(out, "and delivered to " + std::to_string(parts.local_recipients) +
                      " recipient(s) on this server, but the " + std::to_string(failed_count) +
                      " recipient(s)");
  AppendLine(out, "below did not get it.");
  AppendLine(out, "");
  AppendLine(out, "This server does not try again: to reach them, send your message again,");
  AppendLine(out, "to them only.");
  AppendLine(out, "");
  for (const FailedDelivery& failed : parts.failed) {
    std::string why = std::string(Why(failed)) + " (" + CodeAndStatus(failed) + ")";
    for (const std::string& recipient : failed.recipients) {
      AppendLine(out, "  " + Value(recipient) + ": " + why);
    }
  }
}

void AppendStatus(const FailureReportParts& parts, std::string_view domain, std::string* out) {
  AppendField(out, "Reporting-MTA", "dns; " + std::string(domain));
  for (const FailedDelivery& failed : parts.failed) {
    std::string status = ReportStatus(failed);
    std::string remote = Value(failed.domain);
    int code = EffectiveCode(failed);
    for (const std::string& recipient : failed.recipients) {
      AppendLine(out, "");
      AppendField(out, "Final-Recipient", "rfc822; " + Value(recipient));
      AppendField(out, "Action", "failed");
      AppendField(out, "Status", status);
      AppendField(out, "Remote-MTA", "dns; " + remote);
      if (code != 0) AppendField(out, "Diagnostic-Code", "smtp; " + CodeAndStatus(failed));
    }
  }
}

}  // namespace

std::string ReportStatus(const FailedDelivery& failed) {
  int code = EffectiveCode(failed);
  if (code == 0) return "4.4.2";
  if (WellFormedStatus(failed.enhanced) && failed.enhanced[0] - '0' == code / 100) {
    return failed.enhanced;
  }
  return code >= 500 ? "5.0.0" : "4.0.0";
}

std::string ComposeFailureReport(const FailureReportParts& parts) {
  const std::string domain = Value(parts.domain);
  const std::string id = Value(parts.message_id_local);
  std::string boundary(kBoundaryPrefix);
  for (char c : id) {
    if (boundary.size() == kBoundaryPrefix.size() + kMaxBoundaryId) break;
    if (IsAsciiAlnum(c)) boundary.push_back(c);
  }
  const std::string delimiter = "--" + boundary;
  size_t failed_count = 0;
  for (const FailedDelivery& failed : parts.failed) failed_count += failed.recipients.size();

  std::string out;
  out.reserve(4096 + std::min(parts.original_headers.size(), kMaxReportHeaders));
  AppendField(&out, "Date", Value(parts.date));
  AppendField(&out, "From", "\"onionmaild\" <server@" + domain + ">");
  AppendField(&out, "To", "<" + Value(parts.user) + "@" + domain + ">");
  AppendField(&out, "Subject",
              "Undelivered mail: " + std::to_string(failed_count) +
                  " recipient(s) did not get your message");
  AppendField(&out, "Message-ID", "<" + id + "@" + domain + ">");
  AppendField(&out, "Auto-Submitted", "auto-replied");
  AppendField(&out, "MIME-Version", "1.0");
  AppendField(&out, "Content-Type",
              "multipart/report; report-type=delivery-status; boundary=\"" + boundary + "\"");
  AppendLine(&out, "");

  // Each part's content ends with CRLF; the CRLF before the next delimiter
  // belongs to the delimiter (RFC 2046 section 5.1.1).
  AppendLine(&out, delimiter);
  AppendField(&out, "Content-Type", "text/plain; charset=us-ascii");
  AppendLine(&out, "");
  AppendText(parts, domain, failed_count, &out);
  AppendLine(&out, "");
  AppendLine(&out, delimiter);
  AppendField(&out, "Content-Type", "message/delivery-status");
  AppendLine(&out, "");
  AppendStatus(parts, domain, &out);
  AppendLine(&out, "");
  std::string headers = CleanHeaders(parts.original_headers, delimiter);
  if (!headers.empty()) {
    AppendLine(&out, delimiter);
    AppendField(&out, "Content-Type", "text/rfc822-headers");
    AppendLine(&out, "");
    out.append(headers);
    AppendLine(&out, "");
  }
  AppendLine(&out, delimiter + "--");
  return out;
}

}  // namespace onionmail::mail
