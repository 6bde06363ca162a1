// Session state machine: greeting, EHLO, mandatory TLS, envelope rules,
// limits and line-level protocol errors. DATA and AUTH have their own files.
#include "smtp/session.h"

#include <gtest/gtest.h>

#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using namespace std::string_literals;

TEST_F(SessionTest, GreetingNamesHostAndEsmtp) {
  Run("QUIT\r\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0], "220 mx.example.onion ESMTP onionmaild\r\n");
  EXPECT_EQ(replies[1], "221 2.0.0 mx.example.onion closing connection\r\n");
}

TEST_F(SessionTest, EhloBeforeTlsOffersStartTlsButNotAuth) {
  cfg.max_message_bytes = 12345;
  Run("EHLO client.test\r\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[1],
            "250-mx.example.onion\r\n250-PIPELINING\r\n250-SIZE 12345\r\n250-8BITMIME\r\n"
            "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n");
}

TEST_F(SessionTest, EhloAfterTlsOffersAuthButNotStartTls) {
  RunTls("");
  const std::string& ehlo = replies[3];
  EXPECT_NE(ehlo.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  EXPECT_NE(ehlo.find("PIPELINING"), std::string::npos);
  EXPECT_NE(ehlo.find("ENHANCEDSTATUSCODES"), std::string::npos);
}

TEST_F(SessionTest, HeloIsAcceptedAndAllowsATransaction) {
  Run("STARTTLS\r\n", "HELO client.test\r\nMAIL FROM:<x@remote.onion>\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 220, 250, 250));
  EXPECT_EQ(replies[2], "250 mx.example.onion\r\n");
}

TEST_F(SessionTest, HeloWithoutArgumentIs501) {
  Run("HELO\r\nEHLO\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 501, 501));
}

TEST_F(SessionTest, EveryCommandButTheSafeOnesIsRejectedWith530BeforeTls) {
  Run("EHLO client.test\r\n"
      "MAIL FROM:<x@remote.onion>\r\n"
      "RCPT TO:<bob@example.onion>\r\n"
      "DATA\r\n"
      "AUTH PLAIN " +
      Plain("", "alice", "alice-pw") +
      "\r\n"
      "AUTH LOGIN\r\n"
      "VRFY bob\r\n"
      "EXPN staff\r\n"
      "HELP\r\n"
      "NOOP\r\n"
      "RSET\r\n"
      "QUIT\r\n");
  EXPECT_THAT(Codes(),
              ElementsAre(220, 250, 530, 530, 530, 530, 530, 530, 530, 530, 250, 250, 221));
  EXPECT_EQ(replies[2], "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_TRUE(backend.verify_calls.empty());
  EXPECT_TRUE(backend.checked.empty());
  EXPECT_EQ(backend.begun, 0);
}

TEST_F(SessionTest, RepliesToAPipelinedGroupAreSentTogether) {
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\n"
      "Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250, 221));
  // The group MAIL, RCPT, DATA arrived at once: its three replies leave in one
  // send (with the EHLO reply still buffered before them), then 250 and 221.
  const auto& sends = conn.Sends();
  ASSERT_GE(sends.size(), 2u) << conn.Output();
  const std::string& group = sends[sends.size() - 2];
  EXPECT_NE(group.find("250 2.1.0 "), std::string::npos) << group;
  EXPECT_NE(group.find("250 2.1.5 "), std::string::npos) << group;
  EXPECT_EQ(group.substr(group.size() - 6), "<LF>\r\n") << group;  // ends with the 354
  EXPECT_EQ(sends.back().substr(0, 4), "250 ") << sends.back();
  EXPECT_NE(sends.back().find("221 "), std::string::npos) << sends.back();
}

TEST_F(SessionTest, CommandsPipelinedAfterStartTlsAreNeverExecuted) {
  conn.Feed(
      "EHLO client.test\r\nSTARTTLS\r\nMAIL FROM:<x@remote.onion>\r\n"
      "RCPT TO:<bob@example.onion>\r\n");
  conn.FeedAfterTls("EHLO client.test\r\nRCPT TO:<bob@example.onion>\r\n");
  Session(conn, backend, cfg).Run();
  replies = SplitReplies(conn.Output());
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 220, 250, 503));
  EXPECT_EQ(replies[4], "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_TRUE(backend.checked.empty());
  EXPECT_EQ(conn.tls_starts(), 1);
}

TEST_F(SessionTest, FailedTlsHandshakeEndsTheSessionSilently) {
  conn.set_fail_tls(true);
  Run("EHLO client.test\r\nSTARTTLS\r\nNOOP\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 220));
  EXPECT_EQ(replies[2], "220 2.0.0 Ready to start TLS\r\n");
}

TEST_F(SessionTest, StartTlsWhenAlreadyInTlsIs503) {
  RunTls("STARTTLS\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(503));
  EXPECT_EQ(conn.tls_starts(), 1);
}

TEST_F(SessionTest, StartTlsWithArgumentIs501) {
  Run("STARTTLS now\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 501));
  EXPECT_EQ(conn.tls_starts(), 0);
}

TEST_F(SessionTest, TlsForgetsEhloSoMailNeedsANewEhlo) {
  Run("EHLO client.test\r\nSTARTTLS\r\n",
      "MAIL FROM:<x@remote.onion>\r\nEHLO c\r\n"
      "MAIL FROM:<x@remote.onion>\r\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 220, 503, 250, 250));
}

TEST_F(SessionTest, RcptBeforeMailIsRejectedWith503) {
  RunTls("RCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(503));
  EXPECT_TRUE(backend.checked.empty());
}

TEST_F(SessionTest, DataWithoutMailOrRcptIsRejectedWith503) {
  RunTls("DATA\r\nMAIL FROM:<x@remote.onion>\r\nDATA\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(503, 250, 503));
  EXPECT_EQ(backend.begun, 0);
}

TEST_F(SessionTest, NestedMailIsRejectedWith503) {
  RunTls("MAIL FROM:<x@remote.onion>\r\nMAIL FROM:<y@remote.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 503));
}

TEST_F(SessionTest, RcptToAnotherDomainIsRelayingDenied) {
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@elsewhere.onion>\r\n"
      "RCPT TO:<bob@sub.example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 550));
  EXPECT_EQ(replies[5], "550 5.7.1 Relaying denied\r\n");
  EXPECT_TRUE(backend.checked.empty());
}

TEST_F(SessionTest, RcptToUnknownLocalUserIs550UserUnknown) {
  RunTls("MAIL FROM:<x@remote.onion>\r\nRCPT TO:<nobody@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_EQ(replies[5], "550 5.1.1 User unknown\r\n");
}

TEST_F(SessionTest, UnknownRecipientsPastTheLimitGet421AndCloseEvenAcrossTransactions) {
  cfg.max_unknown_recipients = 2;
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<nobody@example.onion>\r\n"
      "RCPT TO:<bob@example.onion>\r\nRSET\r\nMAIL FROM:<x@remote.onion>\r\n"
      "RCPT TO:<nobody2@example.onion>\r\nRCPT TO:<nobody3@example.onion>\r\n"
      "RCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 250, 250, 250, 550, 421));
  EXPECT_EQ(Last(), "421 4.7.0 mx.example.onion Error: too many unknown recipients, closing\r\n");
}

TEST_F(SessionTest, RcptWithInvalidLocalPartIsRefusedWithoutAskingTheBackend) {
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob+tag@example.onion>\r\n"
      "RCPT TO:<../x@example.onion>\r\nRCPT TO:<\"bob\"@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 501, 501));
  EXPECT_TRUE(backend.checked.empty());
}

TEST_F(SessionTest, RcptWhileTheDiskIsBelowItsReserveIs452InsufficientStorage) {
  backend.check_error = ErrorCode::kResourceExhausted;
  RunTls("MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 452, 503));
  EXPECT_EQ(replies[5], "452 4.3.1 Insufficient system storage, try again later\r\n");
  EXPECT_EQ(backend.begun, 0);
}

TEST_F(SessionTest, RcptToAFullMailboxIs452MailboxFullAndTheOtherRecipientsStillGetTheMessage) {
  backend.full_mailboxes.insert("bob");
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\n"
      "RCPT TO:<carol@example.onion>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 452, 250, 354, 250));
  EXPECT_EQ(replies[5], "452 4.2.2 Mailbox full, try again later\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("carol"));
}

TEST_F(SessionTest, TheRecipientCheckIsToldTheSizeDeclaredInThisTransactionOnly) {
  RunTls(
      "MAIL FROM:<x@remote.onion> SIZE=5000\r\nRCPT TO:<bob@example.onion>\r\nRSET\r\n"
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 250, 250));
  EXPECT_THAT(backend.declared_sizes, ElementsAre(5000u, 0u));
}

TEST_F(SessionTest, RecipientWhoseBlockListHoldsTheSenderIs550AndTheOthersGetTheMessage) {
  backend.blocked.insert("bob x@remote.onion");
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\n"
      "RCPT TO:<carol@example.onion>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 250, 354, 250));
  EXPECT_EQ(replies[5], "550 5.7.1 The recipient does not accept mail from this sender\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("carol"));
}

TEST_F(SessionTest, TheRecipientCheckIsToldTheSenderAsGivenOrEmptyForTheNullSender) {
  RunTls(
      "MAIL FROM:<X@Remote.onion>\r\nRCPT TO:<bob@example.onion>\r\nRSET\r\n"
      "MAIL FROM:<>\r\nRCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 250, 250));
  EXPECT_THAT(backend.senders, ElementsAre("X@Remote.onion", ""));
}

TEST_F(SessionTest, RcptCheckTemporaryFailureIs451) {
  backend.check_error = ErrorCode::kUnavailable;
  RunTls("MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 451));
  EXPECT_EQ(replies[5].substr(0, 10), "451 4.3.0 ");
}

TEST_F(SessionTest, RcptWhileServerIsSealedIs451SayingSo) {
  backend.check_error = ErrorCode::kSealed;
  RunTls("MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 451));
  EXPECT_EQ(replies[5], "451 4.3.0 Server sealed, waiting for its peers; try again later\r\n");
}

TEST_F(SessionTest, RecipientIsMatchedCaseInsensitivelyAndLowerCased) {
  RunTls("MAIL FROM:<x@remote.onion>\r\nRCPT TO:<BoB@Example.ONION>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250));
  EXPECT_THAT(backend.checked, ElementsAre("bob"));
}

TEST_F(SessionTest, BarePostmasterMeansTheLocalPostmaster) {
  RunTls("MAIL FROM:<x@remote.onion>\r\nRCPT TO:<Postmaster>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_THAT(backend.checked, ElementsAre("postmaster"));
}

TEST_F(SessionTest, BarePostmasterIsAcceptedWhenThatUserExists) {
  backend.AddUser("postmaster", "pm");
  RunTls("MAIL FROM:<x@remote.onion>\r\nRCPT TO:<postmaster>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250));
}

TEST_F(SessionTest, MoreThanMaxRecipientsGets452) {
  cfg.max_recipients = 2;
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<alice@example.onion>\r\n"
      "RCPT TO:<bob@example.onion>\r\nRCPT TO:<carol@example.onion>\r\n"
      "RCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 452, 250));
  EXPECT_EQ(replies[7], "452 4.5.3 Error: too many recipients\r\n");
}

TEST_F(SessionTest, RsetAbortsTheTransaction) {
  RunTls(
      "MAIL FROM:<x@remote.onion>\r\nRCPT TO:<bob@example.onion>\r\nRSET\r\nDATA\r\n"
      "RCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 503, 503));
  EXPECT_EQ(backend.begun, 0);
}

TEST_F(SessionTest, EhloAbortsTheTransaction) {
  RunTls("MAIL FROM:<x@remote.onion>\r\nEHLO again\r\nRCPT TO:<bob@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 503));
}

TEST_F(SessionTest, SimpleCommandsAndUnknownVerbs) {
  RunTls(
      "noop\r\nVRFY bob\r\nEXPN list\r\nHELP\r\nFOO bar\r\nBDAT 10 "
      "LAST\r\nrset\r\nquit\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 252, 502, 214, 500, 500, 250, 221));
  EXPECT_EQ(replies[8], "500 5.5.1 Error: command not recognized\r\n");
}

TEST_F(SessionTest, MailSyntaxErrorsAre501And555) {
  RunTls(
      "MAIL x@remote.onion\r\nMAIL FROM:x@remote.onion\r\nMAIL FROM:<x@>\r\n"
      "MAIL FROM:<x@remote.onion> SMTPUTF8\r\nMAIL FROM:<x@remote.onion> SIZE=abc\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(501, 501, 501, 555, 501));
  EXPECT_EQ(replies[4], "501 5.5.4 Syntax error in parameters or arguments\r\n");
}

TEST_F(SessionTest, SizeParameterAboveLimitIs552) {
  cfg.max_message_bytes = 1000;
  RunTls(
      "MAIL FROM:<x@remote.onion> SIZE=1001\r\nMAIL FROM:<x@remote.onion> SIZE=1000 "
      "BODY=8BITMIME\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(552, 250));
  EXPECT_EQ(replies[4], "552 5.3.4 Message size exceeds fixed limit\r\n");
}

TEST_F(SessionTest, BareLfInCommandIs521AndCloses) {
  RunTls("NOOP\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(521));
  EXPECT_NE(Last().find("bare LF/CR not allowed"), std::string::npos);
  EXPECT_EQ(Last().substr(0, 10), "521 5.5.2 ");
}

TEST_F(SessionTest, BareCrInCommandIs521AndCloses) {
  RunTls("NOOP\rMAIL FROM:<x@remote.onion>\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(521));
}

TEST_F(SessionTest, BareLfBeforeTlsIs521Too) {
  Run("EHLO client.test\n");
  EXPECT_THAT(Codes(), ElementsAre(220, 521));
}

TEST_F(SessionTest, NulInCommandIs500AndTheSessionGoesOn) {
  RunTls("NOOP\0x\r\nNOOP\r\n"s);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(500, 250));
  EXPECT_EQ(replies[4].substr(0, 10), "500 5.5.2 ");
}

TEST_F(SessionTest, OverlongCommandLineIs500AndCloses) {
  cfg.max_command_line = 100;
  RunTls("NOOP " + std::string(200, 'a') + "\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(500));
  EXPECT_EQ(Last(), "500 5.5.2 Error: line too long, closing connection\r\n");
}

TEST_F(SessionTest, OverlongUnterminatedCommandIs500AndCloses) {
  cfg.max_command_line = 100;
  Run(std::string(5000, 'A'));
  EXPECT_THAT(Codes(), ElementsAre(220, 500));
}

TEST_F(SessionTest, CommandLineAtTheLimitIsAccepted) {
  cfg.max_command_line = 100;
  RunTls("NOOP " + std::string(95, 'a') + "\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250));
}

class TimeoutConnection : public net::FakeConnection {
 public:
  using FakeConnection::FakeConnection;
  Result<net::Line> ReadLine(size_t max_bytes) override {
    if (Buffered() == 0) return MakeError(ErrorCode::kDeadlineExceeded, "idle");
    return FakeConnection::ReadLine(max_bytes);
  }
};

TEST_F(SessionTest, IdleTimeoutGets421BeforeClosing) {
  TimeoutConnection tconn("NOOP\r\n");
  Session(tconn, backend, cfg).Run();
  replies = SplitReplies(tconn.Output());
  EXPECT_THAT(Codes(), ElementsAre(220, 250, 421));
  EXPECT_EQ(Last(), "421 4.4.2 mx.example.onion Error: timeout exceeded\r\n");
}

}  // namespace
}  // namespace onionmail::smtp
