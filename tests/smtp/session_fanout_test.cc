// One transaction to several remote servers (session.h, "Local and remote
// recipients together, at DATA"): every remote that took a recipient gets
// the message; when none takes it nothing is kept anywhere, when all do the
// client gets 250, and when only some do the client gets 250 and the sender
// a delivery status report in their own mailbox.
#include <gtest/gtest.h>

#include <string>

#include "smtp/session.h"
#include "tests/smtp/fake_relay.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Valid v3 onion names (tests/mail/relay_test.cc).
constexpr char kFirst[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
constexpr char kSecond[] = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";
constexpr char kThird[] = "ibaueq2eivdeoscjjjfuytkoj5ifcustkrkvmv2ylfnfwxc5lzp26mqd.onion";

std::string Rcpt(const std::string& local, const std::string& domain) {
  return "RCPT TO:<" + local + "@" + domain + ">\r\n";
}

const std::string kTwoServers = Rcpt("bob", kFirst) + Rcpt("carol", kSecond);
const std::string kData = "DATA\r\nSubject: hi\r\n\r\nhello\r\n.\r\n";

class SessionFanOutTest : public SessionTest {
 protected:
  SessionFanOutTest() { relay = &fake; }
  void RunFanOut(const std::string& commands) {
    RunTls("AUTH PLAIN " + Plain("", "alice", "alice-pw") +
           "\r\nMAIL FROM:<alice@example.onion>\r\n" + commands);
  }
  std::vector<int> CodesAfterMail() const {
    std::vector<int> codes = CodesAfterTls();
    EXPECT_GE(codes.size(), 2u);
    return std::vector<int>(codes.begin() + 2, codes.end());
  }
  // The one message stored with a null reverse path: the report.
  std::string Report() const {
    for (const auto& d : backend.delivered) {
      if (d.envelope.reverse_path.empty()) return d.bytes;
    }
    ADD_FAILURE() << "no report stored";
    return "";
  }
  FakeRelayBackend fake;
};

TEST_F(SessionFanOutTest, TwoRemoteServersBothGetTheMessageAndTheClient250) {
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_EQ(Last(), "250 2.0.0 Ok: delivered to the remote servers\r\n");
  ASSERT_EQ(fake.begins.size(), 2u);
  for (const char* domain : {kFirst, kSecond}) {
    EXPECT_THAT(fake.appended_by_domain[domain], StartsWith("Received: by mx.example.onion"));
    EXPECT_THAT(fake.appended_by_domain[domain], HasSubstr("\r\nSubject: hi\r\n\r\nhello\r\n"));
  }
  EXPECT_THAT(fake.ended, ElementsAre(kFirst, kSecond));
  EXPECT_EQ(fake.destroyed_after_end, 2);
  EXPECT_TRUE(backend.delivered.empty());  // no report
}

TEST_F(SessionFanOutTest, EveryServerGetsItsFinalDotBeforeAnyAnswerIsRead) {
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(fake.events, ElementsAre("begin", "rcpt", "begin", "rcpt", "data", "data", "append",
                                       "finish", "finish", "end", "destroyed", "end", "destroyed"));
}

TEST_F(SessionFanOutTest, ServerWhoseFinalDotCannotBeSentIsReportedAndNotEnded) {
  fake.finish_errors[kFirst] = ErrorCode::kUnavailable;
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_THAT(fake.ended, ElementsAre(kSecond));
  std::string report = Report();
  EXPECT_THAT(report, HasSubstr(std::string("Final-Recipient: rfc822; bob@") + kFirst));
  EXPECT_THAT(report, Not(HasSubstr("may have arrived")));
}

TEST_F(SessionFanOutTest, ServersAreEndedInTheOrderOfTheirFirstRecipient) {
  RunFanOut(Rcpt("carol", kSecond) + Rcpt("bob", kFirst) + Rcpt("dave", kSecond) + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 250, 354, 250));
  EXPECT_THAT(fake.finished, ElementsAre(kSecond, kFirst));
  EXPECT_THAT(fake.ended, ElementsAre(kSecond, kFirst));
  EXPECT_EQ(fake.begins.size(), 2u);
}

TEST_F(SessionFanOutTest, ServerBeyondMaxRemoteServersIs452AndKnownServersStillTakeRecipients) {
  cfg.max_remote_servers = 2;
  RunFanOut(kTwoServers + Rcpt("dave", kThird) + Rcpt("erin", kFirst));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 452, 250));
  EXPECT_EQ(replies.at(kTlsPreamble + 2 + 2),
            "452 4.5.3 Too many destination servers in one transaction, send the others in "
            "another\r\n");
  EXPECT_EQ(fake.begins.size(), 2u);
}

TEST_F(SessionFanOutTest, MaxRecipientsCountsTheRecipientsOfEveryServer) {
  cfg.max_recipients = 2;
  RunFanOut(kTwoServers + Rcpt("dave", kFirst));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 452));
  EXPECT_EQ(Last(), "452 4.5.3 Error: too many recipients\r\n");
}

TEST_F(SessionFanOutTest, OneServerRefusingTheMessageGives250AndAReportToTheSender) {
  fake.end_replies[kSecond] = {550, "5.7.1"};
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_EQ(Last(),
            "250 2.0.0 Ok: delivered to some recipients; the others are listed in a report in "
            "your mailbox\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(backend.delivered[0].envelope.reverse_path, "");
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice"));
  std::string report = Report();
  EXPECT_THAT(report, StartsWith("Return-Path: <>\r\n"));
  EXPECT_THAT(report, HasSubstr("To: <alice@example.onion>\r\n"));
  EXPECT_THAT(report, HasSubstr("report-type=delivery-status"));
  EXPECT_THAT(report, HasSubstr(std::string("Final-Recipient: rfc822; carol@") + kSecond));
  EXPECT_THAT(report, HasSubstr("Status: 5.7.1\r\n"));
  EXPECT_THAT(report, HasSubstr("Diagnostic-Code: smtp; 550 5.7.1\r\n"));
  EXPECT_THAT(report, Not(HasSubstr(std::string("bob@") + kFirst)));
  EXPECT_THAT(report, HasSubstr("Subject: hi\r\n"));  // the original's header block
  EXPECT_THAT(report, Not(HasSubstr("hello")));       // but not its body
}

TEST_F(SessionFanOutTest, EveryServerRefusingTheMessageGivesTheFirstRefusalAndNoReport) {
  fake.end_replies[kFirst] = {554, "5.7.1"};
  fake.end_replies[kSecond] = {451, "4.3.0"};
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 554));
  EXPECT_THAT(Last(), StartsWith("554 5.7.1 "));
  EXPECT_EQ(fake.end_calls, 2);
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionFanOutTest, LocalRecipientsKeepTheirCopyWhenOnlySomeServersTakeIt) {
  fake.end_replies[kFirst] = {451, "4.3.0"};
  RunFanOut(kTwoServers + Rcpt("bob", "example.onion") + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 2u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("bob"));
  EXPECT_EQ(backend.delivered[0].envelope.reverse_path, "alice@example.onion");
  std::string report = Report();
  EXPECT_THAT(report, HasSubstr(std::string("Final-Recipient: rfc822; bob@") + kFirst));
  EXPECT_THAT(report, HasSubstr("Status: 4.3.0\r\n"));
}

TEST_F(SessionFanOutTest, LocalCopyIsDroppedWhenNoServerTakesTheMessage) {
  fake.end_reply = {554, "5.7.1"};
  RunFanOut(kTwoServers + Rcpt("bob", "example.onion") + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 250, 354, 554));
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.abandoned, 1);
}

TEST_F(SessionFanOutTest, ServerRefusingDataIsReportedAndTheOthersGetTheMessage) {
  fake.data_replies[kFirst] = {554, "5.5.0"};
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_THAT(fake.ended, ElementsAre(kSecond));
  EXPECT_EQ(fake.appended_by_domain.count(kFirst), 0u);
  std::string report = Report();
  EXPECT_THAT(report, HasSubstr(std::string("Final-Recipient: rfc822; bob@") + kFirst));
  EXPECT_THAT(report, HasSubstr("Diagnostic-Code: smtp; 554 5.5.0\r\n"));
}

TEST_F(SessionFanOutTest, EveryServerRefusingDataGivesTheFirstRefusalBefore354) {
  fake.data_replies[kFirst] = {452, "4.3.1"};
  fake.data_replies[kSecond] = {554, "5.5.0"};
  RunFanOut(kTwoServers + Rcpt("bob", "example.onion") + "DATA\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 250, 452, 250));
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 2);
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionFanOutTest, ServerFailingWhileStreamingIsReportedAndNeverEnded) {
  fake.append_errors[kSecond] = ErrorCode::kUnavailable;
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_THAT(fake.ended, ElementsAre(kFirst));
  EXPECT_EQ(fake.destroyed_without_end, 1);
  std::string report = Report();
  EXPECT_THAT(report, HasSubstr(std::string("Final-Recipient: rfc822; carol@") + kSecond));
  EXPECT_THAT(report, HasSubstr("Status: 4.4.2\r\n"));
  EXPECT_THAT(report, Not(HasSubstr("Diagnostic-Code")));
  EXPECT_THAT(report, Not(HasSubstr("may have arrived")));
}

TEST_F(SessionFanOutTest, ServerSilentAfterTheFinalDotIsReportedAsMayHaveArrived) {
  fake.end_errors[kSecond] = ErrorCode::kDeadlineExceeded;
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_THAT(Report(), HasSubstr("may have arrived"));
}

TEST_F(SessionFanOutTest, EveryServerFailingWhileStreamingIs451With442) {
  fake.append_error = ErrorCode::kUnavailable;
  RunFanOut(kTwoServers + Rcpt("bob", "example.onion") + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 250, 354, 451));
  EXPECT_EQ(Last(), "451 4.4.2 Connection to the remote server failed, try again later\r\n");
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionFanOutTest, ReportThatCannotBeStoredStillGets250SayingSo) {
  backend.fail_begin = true;  // no local recipient: only the report is stored
  fake.end_replies[kSecond] = {550, "5.1.1"};
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_EQ(Last(),
            "250 2.0.0 Ok: delivered to some recipients only; the report on the others could "
            "not be stored\r\n");
  EXPECT_EQ(backend.begun, 1);
}

TEST_F(SessionFanOutTest, ServerThatTookNoRecipientIsLeftOutAndTheOtherAnswersAlone) {
  fake.rcpt_replies[std::string("carol@") + kSecond] = {550, "5.1.1"};
  RunFanOut(kTwoServers + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 550, 354, 250));
  EXPECT_EQ(Last(), "250 2.0.0 Ok: delivered to the remote server\r\n");
  EXPECT_THAT(fake.ended, ElementsAre(kFirst));
  EXPECT_EQ(fake.data_calls, 1);
}

TEST_F(SessionFanOutTest, ClientGoneMidDataDropsEveryServerWithoutEnd) {
  RunFanOut(kTwoServers + "DATA\r\nSubject: hi\r\n");
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 2);
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionFanOutTest, RsetDropsEveryServerWithoutEnd) {
  RunFanOut(kTwoServers + "RSET\r\n");
  EXPECT_EQ(fake.opened, 2);
  EXPECT_EQ(fake.destroyed_without_end, 2);
}

}  // namespace
}  // namespace onionmail::smtp
