// bot::Bot: the reply's header fields, what it takes from the request (the
// Subject, reduced, and a well-formed Message-ID; nothing else), silence
// towards machines, and hostile requests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bot/bot.h"
#include "tests/bot/bot_test_util.h"

namespace onionmail::bot {
namespace {

using namespace std::string_literals;
using testing::AskOk;
using testing::kDomain;
using testing::kFixedDate;
using testing::ParseReply;
using testing::Reply;
using testing::TestBot;
using testing::TestFacts;

const std::vector<std::string> kHeadersWithReference = {"Date",
                                                        "From",
                                                        "To",
                                                        "Subject",
                                                        "Message-ID",
                                                        "In-Reply-To",
                                                        "References",
                                                        "Auto-Submitted",
                                                        "MIME-Version",
                                                        "Content-Type",
                                                        "Content-Transfer-Encoding"};
const std::vector<std::string> kHeadersWithoutReference = {
    "Date",         "From",         "To",
    "Subject",      "Message-ID",   "Auto-Submitted",
    "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};

TEST(BotReplyTest, ReplyHasTheContractsHeaderFields) {
  Bot bot = TestBot();
  Reply reply = AskOk(bot, "Message-ID: <req.1@client>\r\nSubject: HELP\r\n\r\n");
  EXPECT_EQ(reply.Names(), kHeadersWithReference);
  EXPECT_EQ(reply.Header("Date"), kFixedDate);
  EXPECT_EQ(reply.Header("From"), "\"onionmaild\" <server@"s + kDomain + ">");
  EXPECT_EQ(reply.Header("To"), "<alice@"s + kDomain + ">");
  EXPECT_EQ(reply.Header("Subject"), "Re: HELP");
  // gmock's regular expressions (POSIX on Linux), not std::regex: GCC 12
  // reports a false -Wmaybe-uninitialized in <regex> under the sanitizers.
  EXPECT_THAT(reply.Header("Message-ID"),
              ::testing::MatchesRegex("<[0-9a-f]{32}@exampleonionaddress\\.onion>"));
  EXPECT_EQ(reply.Header("In-Reply-To"), "<req.1@client>");
  EXPECT_EQ(reply.Header("References"), "<req.1@client>");
  EXPECT_EQ(reply.Header("Auto-Submitted"), "auto-replied");
  EXPECT_EQ(reply.Header("MIME-Version"), "1.0");
  EXPECT_EQ(reply.Header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(reply.Header("Content-Transfer-Encoding"), "8bit");
}

TEST(BotReplyTest, EachReplyHasANewMessageId) {
  Bot bot = TestBot();
  EXPECT_NE(AskOk(bot, "Subject: HELP\r\n\r\n").Header("Message-ID"),
            AskOk(bot, "Subject: HELP\r\n\r\n").Header("Message-ID"));
}

TEST(BotReplyTest, OrderOfTheRequestHeadersDoesNotMatter) {
  Bot bot = TestBot();
  std::string k1, k2;
  Reply a = AskOk(bot, "Subject: ident\r\nMessage-ID: <m@n>\r\nFrom: <alice@x>\r\n\r\n", &k1);
  Reply b = AskOk(bot, "From: <alice@x>\r\nMessage-ID: <m@n>\r\nSubject: ident\r\n\r\n", &k2);
  EXPECT_EQ(k1, "IDENT");
  EXPECT_EQ(k2, "IDENT");
  EXPECT_EQ(a.Names(), b.Names());
  EXPECT_EQ(a.Header("Subject"), b.Header("Subject"));
  EXPECT_EQ(a.Header("In-Reply-To"), b.Header("In-Reply-To"));
  EXPECT_EQ(a.body, b.body);
}

TEST(BotReplyTest, FixedClockGivesAFixedDate) {
  Bot bot(TestFacts(), testing::AbcKey(), [] { return std::time_t{0}; });
  Reply reply = AskOk(bot, "Subject: IDENT\r\n\r\n");
  EXPECT_EQ(reply.Header("Date"), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_NE(reply.body.find("\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), std::string::npos);
}

TEST(BotReplyTest, DefaultClockIsTheSystemTime) {
  Bot bot(TestFacts(), testing::AbcKey());
  Reply reply = AskOk(bot, "Subject: HELP\r\n\r\n");
  EXPECT_THAT(reply.Header("Date"),
              ::testing::MatchesRegex(
                  "[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} [0-9:]{8} \\+0000"));
}

TEST(BotReplyTest, MalformedOrAbsentMessageIdIsNotReferenced) {
  Bot bot = TestBot();
  for (const std::string& header :
       {""s, "Message-ID: abc@def\r\n"s, "Message-ID: <abc>\r\n"s, "Message-ID: <a@b@c>\r\n"s,
        "Message-ID: <a b@c>\r\n"s, "Message-ID: <a@b> trailing\r\n"s, "Message-ID: <a\0@b>\r\n"s,
        "Message-ID: <\xe9@b>\r\n"s, "Message-ID: <" + std::string(300, 'a') + "@b>\r\n"}) {
    Reply reply = AskOk(bot, header + "Subject: HELP\r\n\r\n");
    EXPECT_EQ(reply.Names(), kHeadersWithoutReference) << header;
  }
}

TEST(BotReplyTest, FoldedSubjectIsUnderstood) {
  Bot bot = TestBot();
  std::string keyword;
  Reply reply = AskOk(bot, "Subject: Re:\r\n   config\r\n\r\n", &keyword);
  EXPECT_EQ(keyword, "CONFIG");
  EXPECT_EQ(reply.Header("Subject"), "Re: config");
}

TEST(BotReplyTest, AutoSubmittedRequestIsIgnored) {
  Bot bot = TestBot();
  for (const char* value : {"auto-replied", "auto-generated", "Auto-Notified; x=y", "yes"}) {
    Result<mail::BotAnswer> answer =
        bot.Answer("alice", "Subject: HELP\r\nAuto-Submitted: "s + value + "\r\n\r\n");
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(answer->keyword, "ignored") << value;
    EXPECT_EQ(answer->message, "") << value;
  }
}

TEST(BotReplyTest, MultipartReportRequestIsIgnored) {
  Bot bot = TestBot();
  Result<mail::BotAnswer> answer = bot.Answer(
      "alice",
      "Subject: IDENT\r\nContent-Type: multipart/report;\r\n report-type=delivery-status\r\n\r\n");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->keyword, "ignored");
  EXPECT_EQ(answer->message, "");
}

TEST(BotReplyTest, AutoSubmittedNoIsAnswered) {
  Bot bot = TestBot();
  std::string keyword;
  AskOk(bot, "Auto-Submitted: No\r\nSubject: CONFIG\r\n\r\n", &keyword);
  EXPECT_EQ(keyword, "CONFIG");
}

TEST(BotReplyTest, HostileBytesNeverReachTheReplyHeaders) {
  Bot bot = TestBot();
  std::string keyword;
  // ParseReply fails on any header octet outside 0x20..0x7E and on bare CR/LF.
  Reply reply = AskOk(bot, "Subject: \0HE\xffLP\rBcc: <evil@x>\x1b[2J\r\n\r\n"s, &keyword);
  EXPECT_EQ(keyword, "unknown");
  EXPECT_EQ(reply.Header("Subject"), "Re: HELPBcc: <evil@x>[2J");
  EXPECT_FALSE(reply.Has("Bcc"));
  EXPECT_EQ(reply.Names(), kHeadersWithoutReference);
}

TEST(BotReplyTest, NothingButTheSubjectIsCopiedFromTheRequest) {
  Bot bot = TestBot();
  Reply reply = AskOk(bot,
                      "From: <secret-sender@x>\r\nX-Canary: canary-header\r\nSubject: HELP\r\n"
                      "\r\ncanary-body\r\n");
  std::string all;
  for (const auto& h : reply.headers) all += h.first + ": " + h.second + "\n";
  all += reply.body;
  EXPECT_EQ(all.find("canary"), std::string::npos);
  EXPECT_EQ(all.find("secret-sender"), std::string::npos);
}

TEST(BotReplyTest, RequestWithoutFinalCrlfOrEmptyLineIsAnswered) {
  Bot bot = TestBot();
  std::string keyword;
  AskOk(bot, "From: <a@b>\r\nSubject: rulez", &keyword);
  EXPECT_EQ(keyword, "RULEZ");
}

TEST(BotReplyTest, LongSubjectIsCutTo200OctetsInTheReply) {
  Bot bot = TestBot();
  Reply reply = AskOk(bot, "Subject: " + std::string(5000, 'S') + "\r\n\r\n");
  EXPECT_EQ(reply.Header("Subject"), "Re: " + std::string(200, 'S'));
}

TEST(BotReplyTest, EveryReplyKeepsTheLineRules) {
  ServerFacts facts = TestFacts();
  facts.rules = std::string(5000, 'a') + "\r" + std::string(1000, '\xe2') + "\n\0x\n"s;
  facts.software = "onionmaild \x01\xff 0.1.0";
  Bot bot = TestBot(facts);
  for (const char* subject : {"HELP", "RULEZ", "IDENT", "CONFIG", "what"}) {
    Result<mail::BotAnswer> answer =
        bot.Answer("alice", "Subject: "s + subject + "\r\nMessage-ID: <" + std::string(248, 'i') +
                                "@b>\r\n\r\n");
    ASSERT_TRUE(answer.ok());
    const std::string& m = answer->message;
    // ParseReply checks CRLF endings and 998 octets on every line.
    Reply reply = ParseReply(m);
    EXPECT_EQ(reply.Names(), kHeadersWithReference) << subject;
    EXPECT_EQ(m.find('\0'), std::string::npos);
  }
}

TEST(BotReplyTest, SoftwareStringIsReducedToPrintableAscii) {
  ServerFacts facts = TestFacts();
  facts.software = "onionmaild\r\nX: 1";
  Bot bot = TestBot(facts);
  Reply reply = AskOk(bot, "Subject: IDENT\r\n\r\n");
  EXPECT_NE(reply.body.find("\r\nSoftware: onionmaildX: 1\r\n"), std::string::npos);
}

TEST(BotReplyTest, UserThatIsNotAPlainLocalPartIsRefused) {
  Bot bot = TestBot();
  for (const std::string& user : {""s, "a>\r\nBcc: x"s, "a@b"s, "a b"s, std::string(65, 'a')}) {
    Result<mail::BotAnswer> answer = bot.Answer(user, "Subject: HELP\r\n\r\n");
    ASSERT_FALSE(answer.ok()) << user;
    EXPECT_EQ(answer.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(bot.Answer("first.last+tag", "Subject: HELP\r\n\r\n").ok());
}

TEST(BotReplyTest, DomainThatIsNotAHostNameIsAnInternalError) {
  ServerFacts facts = TestFacts();
  facts.domain = "x.onion>\r\nBcc: y";
  Bot bot = TestBot(facts);
  Result<mail::BotAnswer> answer = bot.Answer("alice", "Subject: HELP\r\n\r\n");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace onionmail::bot
