#include "smtp/reply.h"

#include <gtest/gtest.h>

#include <string>

namespace onionmail::smtp {
namespace {

TEST(ReplyTest, FormatsCodeEnhancedCodeAndText) {
  EXPECT_EQ(FormatReply(Reply::kTlsRequired, "h"),
            "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_EQ(FormatReply(Reply::kQueued, "h"), "250 2.0.0 Ok: queued\r\n");
  EXPECT_EQ(FormatReply(Reply::kRelayDenied, "h"), "550 5.7.1 Relaying denied\r\n");
  EXPECT_EQ(FormatReply(Reply::kInsufficientStorage, "h"),
            "452 4.3.1 Insufficient system storage, try again later\r\n");
  EXPECT_EQ(FormatReply(Reply::kMailboxFull, "h"), "452 4.2.2 Mailbox full, try again later\r\n");
}

TEST(ReplyTest, HostNameIsInsertedWhereNeeded) {
  EXPECT_EQ(FormatReply(Reply::kGreeting, "mx.onion"), "220 mx.onion ESMTP onionmaild\r\n");
  EXPECT_EQ(FormatReply(Reply::kTimeout, "mx.onion"),
            "421 4.4.2 mx.onion Error: timeout exceeded\r\n");
  EXPECT_EQ(FormatReply(Reply::kHelo, "mx.onion"), "250 mx.onion\r\n");
}

TEST(ReplyTest, ChallengesHaveNoEnhancedCode) {
  EXPECT_EQ(FormatReply(Reply::kAuthChallengeEmpty, "h"), "334 \r\n");
  EXPECT_EQ(FormatReply(Reply::kAuthChallengeUser, "h"), "334 VXNlcm5hbWU6\r\n");
}

TEST(ReplyTest, EveryReplyIsOneWellFormedLineWithMatchingEnhancedClass) {
  for (int i = 0; i <= static_cast<int>(Reply::kUnknownParameter); ++i) {
    auto reply = static_cast<Reply>(i);
    std::string line = FormatReply(reply, "host");
    int code = ReplyCode(reply);
    ASSERT_GE(line.size(), 6u);
    EXPECT_EQ(line.substr(0, 3), std::to_string(code)) << line;
    EXPECT_EQ(line[3], ' ') << line;
    EXPECT_EQ(line.substr(line.size() - 2), "\r\n");
    EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
    // RFC 3463: the enhanced class digit equals the basic class digit.
    if (line.size() > 9 && line[5] == '.' && line[7] == '.') {
      EXPECT_EQ(line[4], line[0]) << line;
    } else {
      EXPECT_TRUE(code == 220 || code == 250 || code == 334 || code == 354) << line;
    }
  }
}

TEST(ReplyTest, RemoteReplyKeepsCodeAndEnhancedCodeWithOurText) {
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kRcpt, {250, "2.1.5"}),
            "250 2.1.5 Remote server accepted the recipient\r\n");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kRcpt, {550, "5.1.1"}),
            "550 5.1.1 Remote server refused the recipient\r\n");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kEnd, {250, "2.0.0"}),
            "250 2.0.0 Ok: delivered to the remote server\r\n");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kData, {554, "5.7.1"}),
            "554 5.7.1 Remote server refused the message\r\n");
}

TEST(ReplyTest, RemoteReplyCodeNotValidForTheCommandBecomesTheClassDefault) {
  // MAIL refusals answer a RCPT: 4xx -> 451, 5xx -> 550 (552/452 kept).
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kMail, {421, "4.4.2"}).substr(0, 10), "451 4.4.2 ");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kMail, {553, "5.7.1"}).substr(0, 10), "550 5.7.1 ");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kMail, {552, "5.3.4"}).substr(0, 10), "552 5.3.4 ");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kRcpt, {251, ""}).substr(0, 10), "250 2.0.0 ");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kRcpt, {555, "5.5.4"}).substr(0, 10), "550 5.5.4 ");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kData, {503, "5.5.1"}).substr(0, 10), "554 5.5.1 ");
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kEnd, {421, ""}).substr(0, 10), "451 4.0.0 ");
}

TEST(ReplyTest, RemoteEnhancedCodeMalformedOrOfAnotherClassBecomesClassZeroZero) {
  for (const char* bad : {"", "2.1.5", "5.1", "5..1", "5.1.1.1", "5.1234.1", "5.1.x", "5.1.1 EVIL",
                          "5.1.1\r\n250 ok", "x.1.1"}) {
    EXPECT_EQ(FormatRemoteReply(RemoteStep::kRcpt, {550, bad}),
              "550 5.0.0 Remote server refused the recipient\r\n")
        << bad;
  }
  EXPECT_EQ(FormatRemoteReply(RemoteStep::kRcpt, {451, "4.123.999"}).substr(0, 14),
            "451 4.123.999 ");
}

TEST(ReplyTest, RemoteCodeTheStepCannotHaveIsATransportFailure) {
  const std::string failed = FormatReply(Reply::kRemoteFailed, "");
  EXPECT_EQ(failed, "451 4.4.2 Connection to the remote server failed, try again later\r\n");
  for (int code : {0, 99, 199, 354, 334, 600, 999, -250}) {
    EXPECT_FALSE(IsUsableRemoteCode(RemoteStep::kRcpt, code)) << code;
    EXPECT_EQ(FormatRemoteReply(RemoteStep::kRcpt, {code, "2.0.0"}), failed) << code;
  }
  EXPECT_FALSE(IsUsableRemoteCode(RemoteStep::kData, 250));
  EXPECT_FALSE(IsUsableRemoteCode(RemoteStep::kData, 354));  // the session handles 354
  EXPECT_FALSE(IsUsableRemoteCode(RemoteStep::kMail, 250));
  EXPECT_TRUE(IsUsableRemoteCode(RemoteStep::kEnd, 250));
  EXPECT_TRUE(IsUsableRemoteCode(RemoteStep::kRcpt, 421));
}

TEST(ReplyTest, EhloListsExtensionsByTlsState) {
  std::string before = EhloReply("mx", 100, false);
  std::string after = EhloReply("mx", 100, true);
  EXPECT_EQ(before.substr(0, 7), "250-mx\r");
  EXPECT_NE(before.find("250-SIZE 100\r\n"), std::string::npos);
  EXPECT_NE(before.find("250 STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(before.find("AUTH"), std::string::npos);
  EXPECT_NE(after.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(after.find("STARTTLS"), std::string::npos);
}

TEST(ReplyTest, EhloToAnInternetClientOffersNoAuth) {
  const std::string after = EhloReply("mx.example.onion", 1000, true, false, false, false);
  EXPECT_EQ(after.find("AUTH"), std::string::npos) << after;
  EXPECT_EQ(after.find("STARTTLS"), std::string::npos) << after;
  EXPECT_NE(after.find("250 ENHANCEDSTATUSCODES\r\n"), std::string::npos) << after;
  const std::string before = EhloReply("mx.example.onion", 1000, false, false, false, false);
  EXPECT_NE(before.find("250 STARTTLS\r\n"), std::string::npos) << before;
  EXPECT_EQ(FormatReply(Reply::kNoAuthFromInternet, "h").substr(0, 10), "502 5.7.0 ");
}

}  // namespace
}  // namespace onionmail::smtp
