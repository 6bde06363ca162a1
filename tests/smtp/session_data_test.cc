// Session DATA phase: what reaches storage, trace headers, dot-unstuffing,
// SMTP smuggling payloads, NUL bytes, size limits and backend failures.
#include <gtest/gtest.h>

#include "smtp/session.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::string_literals;

constexpr char kEnvelope[] =
    "MAIL FROM:<carol@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\n";

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST_F(SessionTest, AcceptedMessageIsStoredWithTraceHeadersAndExactBody) {
  const std::string body = "Subject: hi\r\n\r\nHello Bob.\r\n";
  RunTls(std::string(kEnvelope) + body + ".\r\nQUIT\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250, 221));
  EXPECT_EQ(replies[6], "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(replies[7], "250 2.0.0 Ok: queued\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  const auto& d = backend.delivered[0];
  EXPECT_EQ(d.envelope.reverse_path, "carol@remote.onion");
  EXPECT_THAT(d.envelope.local_parts, ElementsAre("bob"));
  EXPECT_THAT(d.bytes, StartsWith("Return-Path: <carol@remote.onion>\r\n"
                                  "Received: by mx.example.onion (onionmaild) with ESMTPS; "));
  EXPECT_TRUE(EndsWith(d.bytes, "+0000\r\n" + body)) << d.bytes;
  EXPECT_EQ(d.bytes.find("client.test"), std::string::npos);  // no client identity
}

TEST_F(SessionTest, NullReversePathIsAcceptedForBounces) {
  RunTls("MAIL FROM:<>\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\nbounce\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(backend.delivered[0].envelope.reverse_path, "");
  EXPECT_THAT(backend.delivered[0].bytes, StartsWith("Return-Path: <>\r\n"));
}

TEST_F(SessionTest, DotStuffedLinesAreUnstuffed) {
  RunTls(std::string(kEnvelope) + "..x\r\n..\r\n...\r\n.\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_TRUE(EndsWith(backend.delivered[0].bytes, "\r\n.x\r\n.\r\n..\r\n"))
      << backend.delivered[0].bytes;
}

TEST_F(SessionTest, EmptyMessageIsDeliveredAsJustTheTraceHeaders) {
  RunTls(std::string(kEnvelope) + ".\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_TRUE(EndsWith(backend.delivered[0].bytes, "+0000\r\n"));
}

TEST_F(SessionTest, DuplicateRecipientsGetOneDelivery) {
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\n"
      "RCPT TO:<BOB@example.onion>\r\nRCPT TO:<alice@example.onion>\r\n"
      "RCPT TO:<bob@example.onion>\r\nDATA\r\nhi\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("bob", "alice"));
}

TEST_F(SessionTest, SeveralTransactionsOnOneConnection) {
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\none\r\n.\r\n"
      "MAIL FROM:<y@remote.onion>\r\nRCPT TO:<alice@example.onion>\r\nDATA\r\ntwo\r\n.\r\n"
      "RSET\r\nMAIL FROM:<z@remote.onion>\r\nRCPT TO:<carol@example.onion>\r\nDATA\r\n"
      "three\r\n.\r\nQUIT\r\n");
  EXPECT_THAT(CodesAfterTls(),
              ElementsAre(250, 250, 354, 250, 250, 250, 354, 250, 250, 250, 250, 354, 250, 221));
  ASSERT_EQ(backend.delivered.size(), 3u);
  EXPECT_TRUE(EndsWith(backend.delivered[0].bytes, "\r\none\r\n"));
  EXPECT_THAT(backend.delivered[1].envelope.local_parts, ElementsAre("alice"));
  EXPECT_EQ(backend.delivered[1].envelope.reverse_path, "y@remote.onion");
  EXPECT_TRUE(EndsWith(backend.delivered[2].bytes, "\r\nthree\r\n"));
}

// SMTP smuggling (CVE-2023-51764 class): a bare LF or CR anywhere in DATA
// must end the session with 521; nothing is delivered and the smuggled second
// transaction is never seen.
class SmugglingTest : public SessionTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(SmugglingTest, BareLineEndingInDataIs521AndNothingIsDelivered) {
  RunTls(std::string(kEnvelope) + "Subject: smuggle\r\n\r\nhello" + GetParam() +
         "MAIL FROM:<x@y.onion>\r\nRCPT TO:<alice@example.onion>\r\nDATA\r\nsmuggled\r\n.\r\n"
         "QUIT\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 521));
  EXPECT_THAT(Last(), HasSubstr("bare LF/CR not allowed"));
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.begun, 1);
  EXPECT_EQ(backend.abandoned, 1);
  EXPECT_EQ(backend.checked.size(), 1u);  // the smuggled RCPT never ran
}

INSTANTIATE_TEST_SUITE_P(Payloads, SmugglingTest,
                         ::testing::Values("\n.\r\n", "\r.\r\n", "\n.\n", "\r\n.\n", "\n", "\r",
                                           "\r\n.\r", "\r\nx\ry\r\n.\r\n"));

TEST_F(SessionTest, NulInDataIs554AfterTheEndAndTheSessionContinues) {
  RunTls(std::string(kEnvelope) + "bad\0byte\r\nmore\r\n.\r\n"s + kEnvelope + "good\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 554, 250, 250, 354, 250));
  EXPECT_EQ(replies[7], "554 5.6.0 Message contains NUL bytes, rejected\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_TRUE(EndsWith(backend.delivered[0].bytes, "\r\ngood\r\n"));
}

TEST_F(SessionTest, MessageOverTheLimitIs552AfterTheEndAndNothingIsDelivered) {
  cfg.max_message_bytes = 100;
  std::string big;
  for (int i = 0; i < 10; ++i) big += std::string(20, 'x') + "\r\n";
  RunTls(std::string(kEnvelope) + big + ".\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 552, 250));
  EXPECT_TRUE(backend.delivered.empty());
}

std::string ReceivedLines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "Received: by hop" + std::to_string(i) + ".onion\r\n";
  return out;
}

TEST_F(SessionTest, MessageWithMoreReceivedHeadersThanTheLimitIs554MailLoopAndNothingIsStored) {
  RunTls(std::string(kEnvelope) + ReceivedLines(101) + "\r\nloop\r\n.\r\n" + kEnvelope +
         "good\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 554, 250, 250, 354, 250));
  EXPECT_EQ(replies[7], "554 5.4.6 Too many hops (Received headers): mail loop, rejected\r\n");
  EXPECT_EQ(backend.abandoned, 1);
  ASSERT_EQ(backend.delivered.size(), 1u);  // only the second, and the session went on
  EXPECT_TRUE(EndsWith(backend.delivered[0].bytes, "\r\ngood\r\n"));
}

TEST_F(SessionTest, MessageWithExactlyTheDefaultHundredReceivedHeadersIsAccepted) {
  RunTls(std::string(kEnvelope) + ReceivedLines(100) + "\r\nfar\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250));
  EXPECT_EQ(backend.delivered.size(), 1u);
}

TEST_F(SessionTest, MessageExactlyAtTheLimitIsAccepted) {
  cfg.max_message_bytes = 20;
  RunTls(std::string(kEnvelope) + std::string(18, 'x') + "\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250));
  EXPECT_EQ(backend.delivered.size(), 1u);
}

TEST_F(SessionTest, OverlongDataLineIs500AndClosesWithNothingDelivered) {
  cfg.max_text_line = 100;
  RunTls(std::string(kEnvelope) + std::string(300, 'x') + "\r\n.\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 500));
  EXPECT_EQ(Last().substr(0, 10), "500 5.5.2 ");
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.abandoned, 1);
}

TEST_F(SessionTest, ConnectionLostMidDataCommitsNothing) {
  RunTls(std::string(kEnvelope) + "Subject: cut\r\n\r\npartial body\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354));
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.abandoned, 1);
}

TEST_F(SessionTest, LoneDotWithoutCrlfDoesNotEndData) {
  RunTls(std::string(kEnvelope) + "body\r\n.");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354));
  EXPECT_TRUE(backend.delivered.empty());
}

class DeadlineConnection : public net::FakeConnection {
 public:
  using FakeConnection::FakeConnection;
  Result<net::Line> ReadLine(size_t max_bytes) override {
    if (Buffered() == 0) return MakeError(ErrorCode::kDeadlineExceeded, "idle");
    return FakeConnection::ReadLine(max_bytes);
  }
};

TEST_F(SessionTest, TimeoutMidDataCommitsNothingAndSends421) {
  DeadlineConnection tconn;
  tconn.Feed("STARTTLS\r\n");
  tconn.FeedAfterTls(std::string("EHLO c\r\n") + kEnvelope + "partial\r\n");
  Session(tconn, backend, cfg).Run();
  replies = SplitReplies(tconn.Output());
  EXPECT_THAT(Codes(), ElementsAre(220, 220, 250, 250, 250, 354, 421));
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.abandoned, 1);
}

TEST_F(SessionTest, BeginMessageFailureIs451AfterReadingTheData) {
  backend.fail_begin = true;
  RunTls(std::string(kEnvelope) + "MAIL FROM:<evil@x.onion>\r\n.\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 451, 250));
  EXPECT_EQ(replies[7].substr(0, 10), "451 4.3.0 ");
}

TEST_F(SessionTest, AppendFailureIs451AndNothingIsDelivered) {
  backend.fail_append = true;
  RunTls(std::string(kEnvelope) + "body\r\n.\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 451, 250));
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionTest, CommitFailureIs451) {
  backend.fail_commit = true;
  RunTls(std::string(kEnvelope) + "body\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 451));
  EXPECT_TRUE(backend.delivered.empty());
}

}  // namespace
}  // namespace onionmail::smtp
