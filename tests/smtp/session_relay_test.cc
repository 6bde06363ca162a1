// Session relaying (docs/federation.md, step 3): who may give a remote
// recipient, what reaches the remote, and
// how the remote's replies and the relay's failures reach the client.
// Several remote servers in one transaction: session_fanout_test.cc.
#include <gtest/gtest.h>

#include <string>

#include "smtp/session.h"
#include "tests/smtp/fake_relay.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Valid v3 onion names (tests/mail/relay_test.cc).
constexpr char kRemote[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
constexpr char kOther[] = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";

std::string Rcpt(const std::string& local, const std::string& domain = kRemote) {
  return "RCPT TO:<" + local + "@" + domain + ">\r\n";
}

class SessionRelayTest : public SessionTest {
 protected:
  SessionRelayTest() { relay = &fake; }

  static std::string Auth() { return "AUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\n"; }
  // AUTH as alice and MAIL FROM her own address, then `commands`.
  void RunRelay(const std::string& commands) {
    RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\n" + commands);
  }
  // Codes after the TLS preamble, AUTH and MAIL.
  std::vector<int> CodesAfterMail() const {
    std::vector<int> codes = CodesAfterTls();
    EXPECT_GE(codes.size(), 2u);
    EXPECT_EQ(codes[0], 235);
    EXPECT_EQ(codes[1], 250);
    return std::vector<int>(codes.begin() + 2, codes.end());
  }
  // The reply to the n-th command after MAIL (0-based).
  const std::string& AfterMail(size_t n) const { return replies.at(kTlsPreamble + 2 + n); }

  FakeRelayBackend fake;
};

TEST_F(SessionRelayTest, RemoteRecipientFromUnauthenticatedClientIsRelayDeniedWith550) {
  RunTls("MAIL FROM:<carol@elsewhere.onion>\r\n" + Rcpt("bob"));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_EQ(replies[5], "550 5.7.1 Relaying denied\r\n");
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionRelayTest, AuthenticatedClientWithNullSenderIsRelayDeniedWith550) {
  RunTls(Auth() + "MAIL FROM:<>\r\n" + Rcpt("bob"));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550));
  EXPECT_EQ(Last(), "550 5.7.1 Relaying denied\r\n");
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionRelayTest, AuthenticatedClientWithForeignSenderIsRelayDeniedWith550) {
  RunTls(Auth() + "MAIL FROM:<alice@elsewhere.onion>\r\n" + Rcpt("bob"));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550));
  EXPECT_EQ(Last(), "550 5.7.1 Relaying denied\r\n");
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionRelayTest, DomainThatIsNotAV3OnionIsRelayDeniedWith550) {
  std::string bad_checksum = kRemote;
  bad_checksum[52] = bad_checksum[52] == 'i' ? 'k' : 'i';
  RunRelay(Rcpt("bob", "example.com") + Rcpt("bob", "expyuzz4wqqyqhjn.onion") +
           Rcpt("bob", bad_checksum) + Rcpt("bob", "[127.0.0.1]") +
           Rcpt("bob", std::string("mx.") + kRemote));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(550, 550, 550, 550, 550));
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionRelayTest, WithoutRelayBackendAuthenticatedRemoteRecipientIsRelayDeniedWith550) {
  relay = nullptr;
  RunRelay(Rcpt("bob"));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(550));
  EXPECT_EQ(Last(), "550 5.7.1 Relaying denied\r\n");
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionRelayTest, RelayedMessageReachesTheRemoteUnstuffedWithReceivedFirstAndNoReturnPath) {
  RunTls(Auth() + "MAIL FROM:<Alice@Example.Onion> SIZE=120\r\n" + Rcpt("bob") +
         Rcpt("Carol", "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYP3KEAD.ONION") +
         "DATA\r\nSubject: hi\r\n\r\n..dotted\r\n...\r\nend\r\n.\r\nQUIT\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250, 221));
  EXPECT_EQ(AfterMail(0), "250 2.1.5 Remote server accepted the recipient\r\n");
  EXPECT_EQ(AfterMail(2), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(AfterMail(3), "250 2.0.0 Ok: delivered to the remote server\r\n");
  ASSERT_EQ(fake.begins.size(), 1u);
  EXPECT_EQ(fake.begins[0].domain, kRemote);
  EXPECT_EQ(fake.begins[0].reverse_path, "alice@example.onion");
  EXPECT_EQ(fake.begins[0].declared_size, 120u);
  EXPECT_FALSE(fake.begins[0].body_8bitmime);
  EXPECT_THAT(fake.rcpts,
              ElementsAre(std::string("bob@") + kRemote, std::string("Carol@") + kRemote));
  EXPECT_THAT(fake.appended,
              StartsWith("Received: by mx.example.onion (onionmaild) with ESMTPSA; "));
  // The Received header, then the body exactly, dot-unstuffed, to the end.
  ASSERT_NE(fake.appended.find("+0000\r\n"), std::string::npos);
  EXPECT_EQ(fake.appended.substr(fake.appended.find("+0000\r\n")),
            "+0000\r\nSubject: hi\r\n\r\n.dotted\r\n..\r\nend\r\n");
  EXPECT_EQ(fake.appended.find("Return-Path"), std::string::npos);
  EXPECT_THAT(fake.events,
              ElementsAre("begin", "rcpt", "rcpt", "data", "append", "finish", "end", "destroyed"));
  EXPECT_EQ(fake.destroyed_after_end, 1);
  EXPECT_TRUE(backend.checked.empty());
  EXPECT_EQ(backend.begun, 0);
}

TEST_F(SessionRelayTest, Body8BitMimeOfTheClientIsDeclaredToTheRemoteAnd7BitIsNot) {
  RunTls(Auth() + "MAIL FROM:<alice@example.onion> BODY=8BITMIME\r\n" + Rcpt("bob") +
         "RSET\r\nMAIL FROM:<alice@example.onion> BODY=7BIT\r\n" + Rcpt("bob") +
         "RSET\r\nMAIL FROM:<alice@example.onion> body=8bitmime SIZE=9\r\n" + Rcpt("bob"));
  ASSERT_EQ(fake.begins.size(), 3u);
  EXPECT_TRUE(fake.begins[0].body_8bitmime);
  EXPECT_FALSE(fake.begins[1].body_8bitmime);
  EXPECT_TRUE(fake.begins[2].body_8bitmime);
  EXPECT_EQ(fake.begins[2].declared_size, 9u);
}

TEST_F(SessionRelayTest, RemoteWithout8BitMimeForAn8BitBodyIs550With563AndNoTransaction) {
  fake.begin_error = ErrorCode::kPermissionDenied;
  RunTls(Auth() + "MAIL FROM:<alice@example.onion> BODY=8BITMIME\r\n" + Rcpt("bob") + "DATA\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(550, 503));
  EXPECT_EQ(AfterMail(0),
            "550 5.6.3 Remote server does not accept 8-bit mail (no 8BITMIME), send it as 7-bit "
            "MIME\r\n");
  EXPECT_EQ(fake.opened, 0);
}

TEST_F(SessionRelayTest, RemoteRefusalOfARecipientIsPassedOnWithItsCodesAndOurText) {
  fake.rcpt_replies[std::string("bob@") + kRemote] = {550, "5.1.1"};
  RunRelay(Rcpt("bob") + Rcpt("carol") + "DATA\r\nhi\r\n.\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(550, 250, 354, 250));
  EXPECT_EQ(AfterMail(0), "550 5.1.1 Remote server refused the recipient\r\n");
  EXPECT_EQ(fake.end_calls, 1);
}

TEST_F(SessionRelayTest, RemoteEnhancedCodeThatIsMalformedOrOfAnotherClassIsReplaced) {
  fake.rcpt_replies[std::string("bob@") + kRemote] = {550, "5.1.1 EVIL TEXT\r\n250 2.0.0 Ok"};
  fake.rcpt_replies[std::string("carol@") + kRemote] = {450, "2.1.5"};
  fake.rcpt_replies[std::string("dave@") + kRemote] = {452, "4.2.2"};
  RunRelay(Rcpt("bob") + Rcpt("carol") + Rcpt("dave"));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(550, 450, 452));
  EXPECT_EQ(AfterMail(0), "550 5.0.0 Remote server refused the recipient\r\n");
  EXPECT_EQ(AfterMail(1),
            "450 4.0.0 Remote server cannot take the recipient now, try again later\r\n");
  EXPECT_EQ(AfterMail(2),
            "452 4.2.2 Remote server cannot take the recipient now, try again later\r\n");
  EXPECT_EQ(conn.Output().find("EVIL"), std::string::npos);
}

TEST_F(SessionRelayTest, SecondRemoteDomainOpensASecondRemoteTransaction) {
  RunRelay(Rcpt("bob") + Rcpt("bob", kOther) + Rcpt("carol"));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 250));
  ASSERT_EQ(fake.begins.size(), 2u);
  EXPECT_EQ(fake.begins[0].domain, kRemote);
  EXPECT_EQ(fake.begins[1].domain, kOther);
  EXPECT_EQ(fake.rcpts.size(), 3u);
}

TEST_F(SessionRelayTest, DuplicateRemoteRecipientIsForwardedOnce) {
  RunRelay(Rcpt("bob") + Rcpt("bob") + "DATA\r\nhi\r\n.\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_EQ(fake.rcpts.size(), 1u);
}

TEST_F(SessionRelayTest, MaxRecipientsAppliesToRemoteRecipients) {
  cfg.max_recipients = 1;
  RunRelay(Rcpt("bob") + Rcpt("carol"));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 452));
  EXPECT_EQ(AfterMail(1), "452 4.5.3 Error: too many recipients\r\n");
  EXPECT_EQ(fake.rcpts.size(), 1u);
}

TEST_F(SessionRelayTest, UnreachableRemoteIs451With441AndTheNextRemoteRcptTriesAgain) {
  fake.begin_error = ErrorCode::kUnavailable;
  RunRelay(Rcpt("bob") + Rcpt("carol") + "DATA\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(451, 451, 503));
  EXPECT_EQ(AfterMail(0), "451 4.4.1 Remote server unreachable, try again later\r\n");
  EXPECT_EQ(fake.begins.size(), 2u);
  EXPECT_EQ(fake.opened, 0);
}

struct BeginFailure {
  ErrorCode code;
  const char* reply;
};

class SessionRelayBeginTest : public SessionRelayTest,
                              public ::testing::WithParamInterface<BeginFailure> {};

TEST_P(SessionRelayBeginTest, BeginErrorIsAnsweredAsMailRelayHSays) {
  fake.begin_error = GetParam().code;
  RunRelay(Rcpt("bob"));
  EXPECT_THAT(AfterMail(0), StartsWith(GetParam().reply));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, SessionRelayBeginTest,
    ::testing::Values(BeginFailure{ErrorCode::kUnavailable, "451 4.4.1 "},
                      BeginFailure{ErrorCode::kDeadlineExceeded, "451 4.4.1 "},
                      BeginFailure{ErrorCode::kFailedPrecondition, "451 4.7.5 "},
                      BeginFailure{ErrorCode::kResourceExhausted, "451 4.3.2 "},
                      BeginFailure{ErrorCode::kInvalidArgument, "501 5.5.4 "},
                      BeginFailure{ErrorCode::kPermissionDenied, "550 5.6.3 "},
                      BeginFailure{ErrorCode::kInternal, "451 4.4.2 "}));

TEST_F(SessionRelayTest, RemoteMailRefusalIs550WithItsEnhancedCodeAndNoTransaction) {
  fake.mail_reply = {553, "5.7.1"};
  RunRelay(Rcpt("bob") + Rcpt("carol"));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(550, 550));
  EXPECT_EQ(AfterMail(0), "550 5.7.1 Remote server refused the sender\r\n");
  EXPECT_EQ(fake.begins.size(), 2u);  // tried again
  EXPECT_EQ(fake.opened, 0);
}

TEST_F(SessionRelayTest, RemoteMailTemporaryRefusalIs451) {
  fake.mail_reply = {421, "4.3.2"};
  RunRelay(Rcpt("bob"));
  EXPECT_EQ(AfterMail(0),
            "451 4.3.2 Remote server refused the sender for now, try again later\r\n");
}

TEST_F(SessionRelayTest, RemoteDataRefusal554IsPassedOnAndEndsTheTransactionWithoutEnd) {
  fake.data_reply = {554, "5.7.1"};
  RunRelay(Rcpt("bob") + "DATA\r\nRCPT TO:<bob@" + kRemote + ">\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 554, 503));
  EXPECT_EQ(AfterMail(1), "554 5.7.1 Remote server refused the message\r\n");
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionRelayTest, RemoteTemporaryFailureAtTheFinalDotIsPassedOnAs4xx) {
  fake.end_reply = {452, "4.2.2"};
  RunRelay(Rcpt("bob") + "DATA\r\nhi\r\n.\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 354, 452, 250));
  EXPECT_EQ(AfterMail(2), "452 4.2.2 Remote server did not take the message, try again later\r\n");
}

TEST_F(SessionRelayTest, RemotePermanentFailureAtTheFinalDotIsPassedOnAs5xx) {
  fake.end_reply = {552, "5.3.4"};
  RunRelay(Rcpt("bob") + "DATA\r\nhi\r\n.\r\n");
  EXPECT_EQ(AfterMail(2), "552 5.3.4 Remote server refused the message\r\n");
}

TEST_F(SessionRelayTest, ErrorAtTheFinalDotIs451With442) {
  fake.end_error = ErrorCode::kDeadlineExceeded;
  RunRelay(Rcpt("bob") + "DATA\r\nhi\r\n.\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 354, 451, 250));
  EXPECT_THAT(AfterMail(2), StartsWith("451 4.4.2 "));
}

TEST_F(SessionRelayTest, AppendErrorIs451With442AfterTheClientsDotAndNoEnd) {
  fake.append_error = ErrorCode::kUnavailable;
  RunRelay(Rcpt("bob") + "DATA\r\nline one\r\nline two\r\n.\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 354, 451, 250));
  EXPECT_EQ(AfterMail(2), "451 4.4.2 Connection to the remote server failed, try again later\r\n");
  EXPECT_EQ(fake.append_calls, 1);  // nothing more after the first failure
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionRelayTest, BareLfMidRelayIs521AndTheTransactionDiesWithoutEnd) {
  RunRelay(Rcpt("bob") + "DATA\r\nhello\n.\r\nQUIT\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 354, 521));
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionRelayTest, OversizedRelayedMessageIs552AndTheTransactionDiesWithoutEnd) {
  cfg.max_message_bytes = 20;
  RunRelay(Rcpt("bob") + "DATA\r\n" + std::string(30, 'x') + "\r\n.\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 354, 552));
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionRelayTest, RelayedMessageOverTheHopLimitIs554With546AndDiesWithoutEnd) {
  cfg.max_received_headers = 2;
  RunRelay(Rcpt("bob") + "DATA\r\nReceived: a\r\nReceived: b\r\nReceived: c\r\n\r\nx\r\n.\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 354, 554));
  EXPECT_THAT(Last(), HasSubstr("5.4.6 Too many hops"));
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionRelayTest, ClientGoneMidDataDestroysTheTransactionWithoutEnd) {
  RunRelay(Rcpt("bob") + "DATA\r\npartial\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 354));
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionRelayTest, RsetDestroysTheRemoteTransaction) {
  RunRelay(Rcpt("bob") + "RSET\r\nMAIL FROM:<alice@example.onion>\r\n" + Rcpt("bob"));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 250, 250));
  EXPECT_THAT(fake.events, ElementsAre("begin", "rcpt", "destroyed", "begin", "rcpt", "destroyed"));
  EXPECT_EQ(fake.destroyed_without_end, 2);
}

TEST_F(SessionRelayTest, NewEhloDestroysTheRemoteTransaction) {
  RunRelay(Rcpt("bob") + "EHLO again\r\nMAIL FROM:<alice@example.onion>\r\n" + Rcpt("bob"));
  EXPECT_THAT(fake.events, ElementsAre("begin", "rcpt", "destroyed", "begin", "rcpt", "destroyed"));
}

TEST_F(SessionRelayTest, QuitDestroysTheRemoteTransactionWithoutEnd) {
  RunRelay(Rcpt("bob") + "QUIT\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 221));
  EXPECT_THAT(fake.events, ElementsAre("begin", "rcpt", "destroyed"));
  EXPECT_EQ(fake.end_calls, 0);
}

TEST_F(SessionRelayTest, RemoteCode354ToRcptIs451With442AndEndsTheTransaction) {
  fake.rcpt_reply = {354, "2.0.0"};
  RunRelay(Rcpt("bob") + "DATA\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(451, 503));
  EXPECT_EQ(AfterMail(0), "451 4.4.2 Connection to the remote server failed, try again later\r\n");
  EXPECT_EQ(AfterMail(1), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionRelayTest, RcptErrorIs451With442AndTheClientMustSendMailAgain) {
  fake.rcpt_error = ErrorCode::kUnavailable;
  RunRelay(Rcpt("bob") + Rcpt("carol") + "MAIL FROM:<alice@example.onion>\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(451, 503, 250));
  EXPECT_THAT(AfterMail(0), StartsWith("451 4.4.2 "));
  EXPECT_EQ(fake.begins.size(), 1u);
}

TEST_F(SessionRelayTest, DataWithOnlyRefusedRemoteRecipientsIs503) {
  fake.rcpt_reply = {550, "5.1.1"};
  RunRelay(Rcpt("bob") + "DATA\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(550, 503));
  EXPECT_EQ(fake.data_calls, 0);
}

TEST_F(SessionRelayTest, EhloReplyIsTheSameWithARelayBackend) {
  RunTls("");
  std::string with_relay = replies[3];
  conn.ClearOutput();
  net::FakeConnection plain_conn;
  plain_conn.Feed("EHLO client.test\r\nSTARTTLS\r\n");
  plain_conn.FeedAfterTls("EHLO client.test\r\n");
  Session(plain_conn, backend, cfg).Run();
  EXPECT_EQ(SplitReplies(plain_conn.Output())[3], with_relay);
}

}  // namespace
}  // namespace onionmail::smtp
