// mail::ComposeFailureReport and mail::ReportStatus (mail/failure_report.h):
// the delivery status notification of a relay that reached some remote
// servers and not others.
#include "mail/failure_report.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace onionmail::mail {
namespace {

using namespace std::literals;

constexpr char kId[] = "0123456789abcdef0123456789abcdef";
constexpr char kDelimiter[] = "--=_onionmaild_report_0123456789abcdef0123456789abcdef";

FailedDelivery Failed(std::string domain, std::vector<std::string> recipients, int code,
                      std::string enhanced, bool may_have_arrived = false) {
  FailedDelivery failed;
  failed.domain = std::move(domain);
  failed.recipients = std::move(recipients);
  failed.code = code;
  failed.enhanced = std::move(enhanced);
  failed.may_have_arrived = may_have_arrived;
  return failed;
}

FailureReportParts Parts(const std::vector<FailedDelivery>& failed) {
  FailureReportParts parts;
  parts.domain = "me.onion";
  parts.user = "alice";
  parts.date = "Tue, 14 Nov 2023 22:13:20 +0000";
  parts.message_id_local = kId;
  parts.failed = failed;
  parts.delivered_servers = 1;
  parts.local_recipients = 2;
  return parts;
}

std::string Report(const std::vector<FailedDelivery>& failed, std::string_view headers = "") {
  FailureReportParts parts = Parts(failed);
  parts.original_headers = headers;
  return ComposeFailureReport(parts);
}

// The content of the part whose Content-Type line is `type`, up to the CRLF
// that belongs to the next delimiter; "" when there is no such part.
std::string PartContent(const std::string& report, std::string_view type) {
  std::string head =
      std::string(kDelimiter) + "\r\nContent-Type: " + std::string(type) + "\r\n\r\n";
  size_t start = report.find(head);
  if (start == std::string::npos) return "";
  start += head.size();
  size_t end = report.find("\r\n"s + kDelimiter, start);
  if (end == std::string::npos) return "";
  return report.substr(start, end - start);
}

std::vector<std::string> Lines(const std::string& report) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < report.size()) {
    size_t eol = report.find("\r\n", pos);
    if (eol == std::string::npos) eol = report.size();
    lines.push_back(report.substr(pos, eol - pos));
    pos = eol + 2;
  }
  return lines;
}

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(FailureReportTest, PermanentRefusalIsReportedWithItsEnhancedStatus) {
  std::vector<FailedDelivery> failed = {Failed("bob.onion", {"bob@bob.onion"}, 550, "5.1.1")};
  EXPECT_EQ(Report(failed, "From: <alice@me.onion>\r\nSubject: hi\r\n\r\nbody\r\n"),
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "From: \"onionmaild\" <server@me.onion>\r\n"
            "To: <alice@me.onion>\r\n"
            "Subject: Undelivered mail: 1 recipient(s) did not get your message\r\n"
            "Message-ID: <0123456789abcdef0123456789abcdef@me.onion>\r\n"
            "Auto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; "
            "boundary=\"=_onionmaild_report_0123456789abcdef0123456789abcdef\"\r\n"
            "\r\n"
            "--=_onionmaild_report_0123456789abcdef0123456789abcdef\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            "This is the mail server me.onion.\r\n"
            "\r\n"
            "Your message was taken by 1 other mail server(s) for their recipients\r\n"
            "and delivered to 2 recipient(s) on this server, but the 1 recipient(s)\r\n"
            "below did not get it.\r\n"
            "\r\n"
            "This server does not try again: to reach them, send your message again,\r\n"
            "to them only.\r\n"
            "\r\n"
            "  bob@bob.onion: refused by its server (550 5.1.1)\r\n"
            "\r\n"
            "--=_onionmaild_report_0123456789abcdef0123456789abcdef\r\n"
            "Content-Type: message/delivery-status\r\n"
            "\r\n"
            "Reporting-MTA: dns; me.onion\r\n"
            "\r\n"
            "Final-Recipient: rfc822; bob@bob.onion\r\n"
            "Action: failed\r\n"
            "Status: 5.1.1\r\n"
            "Remote-MTA: dns; bob.onion\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1\r\n"
            "\r\n"
            "--=_onionmaild_report_0123456789abcdef0123456789abcdef\r\n"
            "Content-Type: text/rfc822-headers\r\n"
            "\r\n"
            "From: <alice@me.onion>\r\n"
            "Subject: hi\r\n"
            "\r\n"
            "--=_onionmaild_report_0123456789abcdef0123456789abcdef--\r\n");
}

TEST(ReportStatusTest, WellFormedEnhancedCodeOfTheRepliesClassIsKept) {
  EXPECT_EQ(ReportStatus(Failed("x", {}, 550, "5.1.1")), "5.1.1");
  EXPECT_EQ(ReportStatus(Failed("x", {}, 452, "4.2.2")), "4.2.2");
  EXPECT_EQ(ReportStatus(Failed("x", {}, 554, "5.123.999")), "5.123.999");
  EXPECT_EQ(ReportStatus(Failed("x", {}, 599, "5.0.0")), "5.0.0");
}

TEST(ReportStatusTest, EnhancedCodeOfAnotherClassGivesTheGenericStatus) {
  EXPECT_EQ(ReportStatus(Failed("x", {}, 550, "4.2.2")), "5.0.0");
  EXPECT_EQ(ReportStatus(Failed("x", {}, 451, "5.1.1")), "4.0.0");
}

TEST(ReportStatusTest, MalformedEnhancedCodeGivesTheGenericStatus) {
  for (const char* enhanced :
       {"", "5", "5.", "5.1", "5.1.", "5..1", "5.1.1.", "5.1.1 ", " 5.1.1", "5.1234.1", "5.1.1234",
        "2.0.0", "3.1.1", "5,1,1", "5.a.1", "51.1.1"}) {
    EXPECT_EQ(ReportStatus(Failed("x", {}, 550, enhanced)), "5.0.0") << enhanced;
    EXPECT_EQ(ReportStatus(Failed("x", {}, 421, enhanced)), "4.0.0") << enhanced;
  }
}

TEST(ReportStatusTest, NoReplyIsABadConnectionWhateverTheEnhancedCode) {
  EXPECT_EQ(ReportStatus(Failed("x", {}, 0, "")), "4.4.2");
  EXPECT_EQ(ReportStatus(Failed("x", {}, 0, "5.1.1")), "4.4.2");
  EXPECT_EQ(ReportStatus(Failed("x", {}, 0, "", true)), "4.4.2");
}

TEST(ReportStatusTest, CodeOutsideTheFailureRangeCountsAsNoReply) {
  EXPECT_EQ(ReportStatus(Failed("x", {}, 250, "2.0.0")), "4.4.2");
  EXPECT_EQ(ReportStatus(Failed("x", {}, 600, "5.1.1")), "4.4.2");
  EXPECT_EQ(ReportStatus(Failed("x", {}, -550, "5.1.1")), "4.4.2");
}

TEST(FailureReportTest, EveryRecipientOfEveryFailedServerHasALineAndABlock) {
  std::vector<FailedDelivery> failed = {
      Failed("b.onion", {"bob@b.onion", "bea@b.onion"}, 554, "5.7.1"),
      Failed("c.onion", {"carl@c.onion"}, 451, "4.3.0"),
      Failed("d.onion", {"dan@d.onion", "dora@d.onion"}, 0, ""),
  };
  std::string report = Report(failed);
  EXPECT_NE(
      report.find("\r\nSubject: Undelivered mail: 5 recipient(s) did not get your message\r\n"),
      std::string::npos);
  std::string text = PartContent(report, "text/plain; charset=us-ascii");
  EXPECT_EQ(text.substr(text.find("\r\n  ") + 2),
            "  bob@b.onion: refused by its server (554 5.7.1)\r\n"
            "  bea@b.onion: refused by its server (554 5.7.1)\r\n"
            "  carl@c.onion: its server deferred it (temporary failure) (451 4.3.0)\r\n"
            "  dan@d.onion: its server could not be reached or the connection failed (4.4.2)\r\n"
            "  dora@d.onion: its server could not be reached or the connection failed (4.4.2)\r\n");
  EXPECT_EQ(PartContent(report, "message/delivery-status"),
            "Reporting-MTA: dns; me.onion\r\n"
            "\r\n"
            "Final-Recipient: rfc822; bob@b.onion\r\n"
            "Action: failed\r\n"
            "Status: 5.7.1\r\n"
            "Remote-MTA: dns; b.onion\r\n"
            "Diagnostic-Code: smtp; 554 5.7.1\r\n"
            "\r\n"
            "Final-Recipient: rfc822; bea@b.onion\r\n"
            "Action: failed\r\n"
            "Status: 5.7.1\r\n"
            "Remote-MTA: dns; b.onion\r\n"
            "Diagnostic-Code: smtp; 554 5.7.1\r\n"
            "\r\n"
            "Final-Recipient: rfc822; carl@c.onion\r\n"
            "Action: failed\r\n"
            "Status: 4.3.0\r\n"
            "Remote-MTA: dns; c.onion\r\n"
            "Diagnostic-Code: smtp; 451 4.3.0\r\n"
            "\r\n"
            "Final-Recipient: rfc822; dan@d.onion\r\n"
            "Action: failed\r\n"
            "Status: 4.4.2\r\n"
            "Remote-MTA: dns; d.onion\r\n"
            "\r\n"
            "Final-Recipient: rfc822; dora@d.onion\r\n"
            "Action: failed\r\n"
            "Status: 4.4.2\r\n"
            "Remote-MTA: dns; d.onion\r\n");
}

TEST(FailureReportTest, MissingReplyAfterTheFinalDotSaysItMayHaveArrived) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 0, "", true)};
  std::string report = Report(failed);
  EXPECT_NE(report.find("\r\n  bob@b.onion: its server did not answer after the message was "
                        "sent: it may have arrived (4.4.2)\r\n"),
            std::string::npos);
  EXPECT_EQ(report.find("could not be reached"), std::string::npos);
  EXPECT_EQ(report.find("Diagnostic-Code"), std::string::npos);
}

TEST(FailureReportTest, MayHaveArrivedIsIgnoredWhenTheServerReplied) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 452, "4.3.1", true)};
  std::string report = Report(failed);
  EXPECT_NE(report.find("  bob@b.onion: its server deferred it (temporary failure) (452 4.3.1)"),
            std::string::npos);
  EXPECT_EQ(report.find("may have arrived"), std::string::npos);
}

TEST(FailureReportTest, NothingDeliveredElsewhereIsStillWordedTruly) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 550, "")};
  FailureReportParts parts = Parts(failed);
  parts.delivered_servers = 0;
  parts.local_recipients = 0;
  std::string report = ComposeFailureReport(parts);
  EXPECT_NE(report.find("taken by 0 other mail server(s) for their recipients\r\n"
                        "and delivered to 0 recipient(s) on this server"),
            std::string::npos);
  EXPECT_NE(report.find("(550 5.0.0)"), std::string::npos);
}

TEST(FailureReportTest, HeadersPartIsOmittedWhenThereAreNoHeaders) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 550, "5.1.1")};
  for (std::string_view headers : {""sv, "\r\n"sv, "\nSubject: after the blank line\n"sv}) {
    std::string report = Report(failed, headers);
    EXPECT_EQ(report.find("text/rfc822-headers"), std::string::npos);
    EXPECT_EQ(Count(report, kDelimiter), 3u);  // two parts, and the closing delimiter
    EXPECT_TRUE(
        report.ends_with("Diagnostic-Code: smtp; 550 5.1.1\r\n\r\n"s + kDelimiter + "--\r\n"));
  }
}

TEST(FailureReportTest, HeadersGetCrlfAndAsciiAndStopAtTheFirstEmptyLine) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 550, "5.1.1")};
  std::string headers =
      "From: <alice@me.onion>\nSubject: caf\xC3\xA9\rX-A: a\0b\r\n"s
      "X-Fold: one\r\n two\n\nX-Body: not a header\r\n";
  EXPECT_EQ(PartContent(Report(failed, headers), "text/rfc822-headers"),
            "From: <alice@me.onion>\r\n"
            "Subject: caf??\r\n"
            "X-A: ab\r\n"
            "X-Fold: one\r\n"
            " two\r\n");
}

TEST(FailureReportTest, HeadersWithoutAFinalLineEndingGetOne) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 550, "5.1.1")};
  EXPECT_EQ(PartContent(Report(failed, "Subject: hi"), "text/rfc822-headers"), "Subject: hi\r\n");
}

TEST(FailureReportTest, HeadersAreCutAt16KiBAtALineBoundary) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 550, "5.1.1")};
  // Lines of 100 octets with their CRLF: 163 of them fit in 16384 octets.
  std::string headers;
  for (int i = 0; i < 1000; ++i) headers += "X-Filler: " + std::string(88, 'a' + i % 26) + "\r\n";
  std::string part = PartContent(Report(failed, headers), "text/rfc822-headers");
  EXPECT_EQ(part.size(), 16300u);
  EXPECT_EQ(part, headers.substr(0, 16300));
  EXPECT_LE(part.size(), kMaxReportHeaders);
}

TEST(FailureReportTest, HeadersOfExactly16KiBAreKeptWhole) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 550, "5.1.1")};
  std::string headers;
  for (int i = 0; i < 128; ++i) headers += "X-K: " + std::string(121, 'k') + "\r\n";
  ASSERT_EQ(headers.size(), kMaxReportHeaders);
  EXPECT_EQ(PartContent(Report(failed, headers), "text/rfc822-headers"), headers);
  // One octet more, and the last line no longer fits.
  std::string longer = headers.substr(0, headers.size() - 2) + "k\r\n";
  EXPECT_EQ(PartContent(Report(failed, longer), "text/rfc822-headers"),
            headers.substr(0, headers.size() - 128));
}

TEST(FailureReportTest, FoldedPiecesOfALongHeaderLineCountAsLinesForTheCap) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 550, "5.1.1")};
  std::string headers;
  for (int i = 0; i < 16; ++i) headers += "X-K: " + std::string(1017, 'k') + "\r\n";
  // Each 1022-octet line becomes 998 octets, then " " and the other 24:
  // 1027 octets with the CRLFs, so 15 lines fit and the 16th does not.
  std::string folded = "X-K: " + std::string(993, 'k') + "\r\n " + std::string(24, 'k') + "\r\n";
  std::string part = PartContent(Report(failed, headers), "text/rfc822-headers");
  EXPECT_EQ(folded.size(), 1027u);
  EXPECT_EQ(part.size(), 15 * folded.size());
  EXPECT_TRUE(part.starts_with(folded));
  EXPECT_TRUE(part.ends_with(folded));
}

TEST(FailureReportTest, NoLineIsLongerThan998Octets) {
  std::string long_rcpt = std::string(2000, 'r') + "@b.onion";
  std::vector<FailedDelivery> failed = {
      Failed(std::string(3000, 'b') + ".onion", {long_rcpt}, 550, "5.1.1")};
  FailureReportParts parts = Parts(failed);
  std::string domain(5000, 'd');
  std::string user(5000, 'u');
  std::string headers = "X-Long: " + std::string(5000, 'h') + "\r\nX-Next: n\r\n";
  parts.domain = domain;
  parts.user = user;
  parts.original_headers = headers;
  std::string report = ComposeFailureReport(parts);
  for (const std::string& line : Lines(report)) EXPECT_LE(line.size(), kMaxReportLine);
  // The long header line is folded, not lost.
  std::string part = PartContent(report, "text/rfc822-headers");
  EXPECT_EQ(Count(part, "h"), 5000u);
  EXPECT_TRUE(part.ends_with("\r\nX-Next: n\r\n"));
}

TEST(FailureReportTest, CrLfAndNulInjectedIntoValuesAreDropped) {
  std::vector<FailedDelivery> failed = {
      Failed("b.onion\r\nBcc: eve@e.onion", {"bob@b.onion\r\nX-Evil: 1\n\0"s}, 550, "5.1.1")};
  FailureReportParts parts = Parts(failed);
  std::string user = "alice\r\nBcc: eve@e.onion";
  parts.user = user;
  std::string report = ComposeFailureReport(parts);
  EXPECT_EQ(report.find("\nBcc"), std::string::npos);
  EXPECT_EQ(report.find("\nX-Evil"), std::string::npos);
  EXPECT_EQ(report.find('\0'), std::string::npos);
  EXPECT_NE(report.find("\r\nTo: <aliceBcc: eve@e.onion@me.onion>\r\n"), std::string::npos);
  EXPECT_NE(report.find("\r\nFinal-Recipient: rfc822; bob@b.onionX-Evil: 1\r\n"),
            std::string::npos);
  EXPECT_NE(report.find("\r\nRemote-MTA: dns; b.onionBcc: eve@e.onion\r\n"), std::string::npos);
  EXPECT_NE(report.find("\r\n  bob@b.onionX-Evil: 1: refused by its server (550 5.1.1)\r\n"),
            std::string::npos);
}

TEST(FailureReportTest, HeaderAndTextPartsAreUsAsciiOnly) {
  std::vector<FailedDelivery> failed = {Failed("b\xC3\xA9.onion", {"b\xC3\xA9@b.onion"}, 550, "")};
  FailureReportParts parts = Parts(failed);
  parts.user =
      "al\xC3\xAF"
      "ce";
  std::string headers = "Subject: \xFF\xFE\r\n";
  parts.original_headers = headers;
  std::string report = ComposeFailureReport(parts);
  for (char c : report) {
    unsigned char u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u < 0x80 && u != 0) << static_cast<int>(u);
  }
  EXPECT_NE(report.find("To: <al??ce@me.onion>"), std::string::npos);
}

TEST(FailureReportTest, HeaderLineThatLooksLikeTheBoundaryIsDefused) {
  std::vector<FailedDelivery> failed = {Failed("b.onion", {"bob@b.onion"}, 550, "5.1.1")};
  std::string headers = "Subject: hi\r\n"s + kDelimiter + "--\r\n";
  std::string report = Report(failed, headers);
  EXPECT_EQ(Count(report, "\r\n"s + kDelimiter), 4u);
  EXPECT_NE(report.find("\r\n?-=_onionmaild_report_"), std::string::npos);
}

}  // namespace
}  // namespace onionmail::mail
