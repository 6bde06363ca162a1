// One transaction with local recipients and recipients at one remote onion
// (session.h, "Local and remote recipients together"): both get the message
// or neither does. The local copy is opened before the remote's DATA and
// committed only after the remote's 250; a refusal or a failure on either
// side leaves no local copy and no remote End().
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

constexpr char kRemote[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

std::string Rcpt(const std::string& local, const std::string& domain = kRemote) {
  return "RCPT TO:<" + local + "@" + domain + ">\r\n";
}

const std::string kLocalBob = Rcpt("bob", "example.onion");
const std::string kData = "DATA\r\nSubject: hi\r\n\r\nhello\r\n.\r\n";

class SessionMixedTest : public SessionTest {
 protected:
  SessionMixedTest() { relay = &fake; }
  void RunMixed(const std::string& commands) {
    RunTls("AUTH PLAIN " + Plain("", "alice", "alice-pw") +
           "\r\nMAIL FROM:<alice@example.onion>\r\n" + commands);
  }
  std::vector<int> CodesAfterMail() const {
    std::vector<int> codes = CodesAfterTls();
    EXPECT_GE(codes.size(), 2u);
    return std::vector<int>(codes.begin() + 2, codes.end());
  }
  FakeRelayBackend fake;
};

TEST_F(SessionMixedTest, RemoteThenLocalRecipientBothGetTheMessage) {
  RunMixed(Rcpt("bob") + kLocalBob + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("bob"));
  EXPECT_THAT(backend.delivered[0].bytes, StartsWith("Return-Path: <alice@example.onion>\r\n"));
  EXPECT_THAT(backend.delivered[0].bytes, HasSubstr("\r\n\r\nhello\r\n"));
  EXPECT_THAT(fake.appended, StartsWith("Received: by mx.example.onion"));
  EXPECT_THAT(fake.appended, HasSubstr("\r\n\r\nhello\r\n"));
  EXPECT_EQ(fake.appended.find("Return-Path"), std::string::npos);
  EXPECT_EQ(fake.end_calls, 1);
}

TEST_F(SessionMixedTest, LocalThenRemoteRecipientBothGetTheMessage) {
  RunMixed(kLocalBob + Rcpt("carol") + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 250));
  EXPECT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(fake.rcpts, ElementsAre(std::string("carol@") + kRemote));
  EXPECT_EQ(fake.end_calls, 1);
}

TEST_F(SessionMixedTest, RemoteRefusalOfTheMessageDropsTheLocalCopy) {
  fake.end_reply = {554, "5.7.1"};
  RunMixed(Rcpt("bob") + kLocalBob + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 554));
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.abandoned, 1);
}

TEST_F(SessionMixedTest, RemoteDeferralOfTheMessageDropsTheLocalCopy) {
  fake.end_reply = {451, "4.3.0"};
  RunMixed(kLocalBob + Rcpt("bob") + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 451));
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionMixedTest, RemoteRefusalOfDataDropsTheLocalCopyBefore354) {
  fake.data_reply = {554, "5.5.0"};
  RunMixed(kLocalBob + Rcpt("bob") + "DATA\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 554));
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.abandoned, 1);
}

TEST_F(SessionMixedTest, LocalCopyThatCannotBeginKeepsTheRemoteFromData) {
  backend.fail_begin = true;
  RunMixed(Rcpt("bob") + kLocalBob + "DATA\r\nNOOP\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 451, 250));
  EXPECT_EQ(fake.data_calls, 0);
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionMixedTest, LocalCopyThatCannotBeWrittenKeepsTheRemoteFromData) {
  backend.fail_append = true;
  RunMixed(Rcpt("bob") + kLocalBob + "DATA\r\n");
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 451));
  EXPECT_EQ(fake.data_calls, 0);
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionMixedTest, LocalCommitFailureAfterTheRemote250Is451) {
  backend.fail_commit = true;
  RunMixed(Rcpt("bob") + kLocalBob + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 451));
  EXPECT_EQ(Last(), "451 4.3.0 Local error in processing, try again later\r\n");
  EXPECT_EQ(fake.end_calls, 1);
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionMixedTest, RemoteFailureWhileStreamingLeavesNoLocalCopy) {
  fake.append_error = ErrorCode::kUnavailable;
  RunMixed(Rcpt("bob") + kLocalBob + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 354, 451));
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.abandoned, 1);
}

TEST_F(SessionMixedTest, RemoteThatTookNoRecipientIsDroppedAndTheLocalOnesGetTheMessage) {
  fake.rcpt_replies[std::string("bob@") + kRemote] = {550, "5.1.1"};
  RunMixed(Rcpt("bob") + kLocalBob + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(550, 250, 354, 250));
  EXPECT_EQ(fake.data_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
  EXPECT_EQ(backend.delivered.size(), 1u);
}

TEST_F(SessionMixedTest, UnreachableRemoteLeavesTheLocalRecipients) {
  fake.begin_error = ErrorCode::kUnavailable;
  RunMixed(kLocalBob + Rcpt("bob") + kData);
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 451, 354, 250));
  EXPECT_EQ(backend.delivered.size(), 1u);
}

TEST_F(SessionMixedTest, MaxRecipientsCountsLocalAndRemoteTogether) {
  cfg.max_recipients = 2;
  RunMixed(Rcpt("bob") + kLocalBob + Rcpt("carol", "example.onion") + Rcpt("dave"));
  EXPECT_THAT(CodesAfterMail(), ElementsAre(250, 250, 452, 452));
  EXPECT_EQ(replies.at(kTlsPreamble + 2 + 2), "452 4.5.3 Error: too many recipients\r\n");
  EXPECT_EQ(fake.rcpts.size(), 1u);
}

}  // namespace
}  // namespace onionmail::smtp
