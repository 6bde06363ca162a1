// bot::Bot: what each command answers (HELP, RULEZ, IDENT, CONFIG, unknown)
// and when the server key is asked for.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <string>
#include <vector>

#include "bot/bot.h"
#include "tests/bot/bot_test_util.h"

namespace onionmail::bot {
namespace {

using testing::AskOk;
using testing::BodyLines;
using testing::kDomain;
using testing::kFixedDate;
using testing::Reply;
using testing::TestBot;
using testing::TestFacts;

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(BotTest, HelpListsTheCommandsAndHowToUseTheBot) {
  Bot bot = TestBot();
  std::string keyword;
  Reply reply = AskOk(bot, "Subject: HELP\r\n\r\n", &keyword);
  EXPECT_EQ(keyword, "HELP");
  EXPECT_TRUE(Contains(reply.body, std::string("server@") + kDomain));
  EXPECT_TRUE(Contains(reply.body, "the command as the\r\nSubject"));
  EXPECT_TRUE(Contains(reply.body, "own mailbox"));
  EXPECT_TRUE(Contains(reply.body, "logged in (SMTP AUTH)"));
  for (const char* command : {"\r\n  HELP ", "\r\n  RULEZ ", "\r\n  IDENT ", "\r\n  CONFIG "}) {
    EXPECT_TRUE(Contains(reply.body, command)) << command;
  }
  EXPECT_EQ(reply.Header("Subject"), "Re: HELP");
}

TEST(BotTest, EmptyOrMissingSubjectIsAnsweredWithHelp) {
  Bot bot = TestBot();
  std::string keyword;
  for (const char* request :
       {"Subject: \r\n\r\n", "Subject: Re:  \r\n\r\n", "From: <a@b>\r\n\r\n", "", "\r\n"}) {
    Reply reply = AskOk(bot, request, &keyword);
    EXPECT_EQ(keyword, "HELP") << request;
    EXPECT_EQ(reply.Header("Subject"), "Re: HELP") << request;
    EXPECT_TRUE(Contains(reply.body, "Commands:"));
  }
}

TEST(BotTest, UnknownCommandSaysSoThenGivesHelpWithoutRepeatingTheWord) {
  Bot bot = TestBot();
  std::string keyword;
  Reply reply = AskOk(bot, "Subject: frobnicate the server\r\n\r\n", &keyword);
  EXPECT_EQ(keyword, "unknown");
  std::vector<std::string> lines = BodyLines(reply.body);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "The command in the Subject of your mail was not understood.");
  EXPECT_TRUE(Contains(reply.body, "Commands:"));
  EXPECT_FALSE(Contains(reply.body, "frobnicate"));
  EXPECT_EQ(reply.Header("Subject"), "Re: frobnicate the server");
}

TEST(BotTest, CommandsMatchWithoutRegardToCaseAndReplyPrefixes) {
  Bot bot = TestBot();
  std::string keyword;
  struct Case {
    const char* subject;
    const char* keyword;
  };
  for (const Case& c :
       {Case{"help", "HELP"}, Case{"Re: rulez", "RULEZ"}, Case{"RE: re : Ident", "IDENT"},
        Case{"  config  ", "CONFIG"}, Case{"rules", "RULEZ"}, Case{"LiMiTs", "CONFIG"},
        Case{"IDENT please", "IDENT"}, Case{"identify", "unknown"}}) {
    AskOk(bot, std::string("Subject: ") + c.subject + "\r\n\r\n", &keyword);
    EXPECT_EQ(keyword, c.keyword) << c.subject;
  }
}

TEST(BotTest, ReplySubjectIsTheRequestSubjectWithoutItsReplyPrefixes) {
  Bot bot = TestBot();
  EXPECT_EQ(AskOk(bot, "Subject: Re: RE: ident\r\n\r\n").Header("Subject"), "Re: ident");
}

TEST(BotTest, IdentReportsTheServerAndItsKeyFingerprint) {
  Bot bot = TestBot();
  std::string keyword;
  Reply reply = AskOk(bot, "Subject: IDENT\r\n\r\n", &keyword);
  EXPECT_EQ(keyword, "IDENT");
  std::vector<std::string> lines = BodyLines(reply.body);
  std::vector<std::string> expected = {
      std::string("Server: ") + kDomain,
      "Software: onionmaild 0.1.0",
      "Server key SHA-256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "Relays to other onion servers: yes",
      "Requires TKIM from onion senders: no",
      "Serves unseal shares to peers (TORM): yes",
      std::string("Date: ") + kFixedDate};
  ASSERT_GE(lines.size(), expected.size());
  EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 7), expected);
  EXPECT_TRUE(Contains(reply.body, "`TKIM KEY`"));
  EXPECT_TRUE(Contains(reply.body, "out of band"));
}

TEST(BotTest, IdentFingerprintIsTheSha256OfTheKeyDer) {
  std::vector<uint8_t> der(300);
  for (size_t i = 0; i < der.size(); ++i) der[i] = static_cast<uint8_t>(i * 7 + 3);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der.data(), der.size(), digest);
  std::string hex;
  for (unsigned char b : digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  ServerFacts facts = TestFacts();
  facts.relay_enabled = false;
  facts.require_tkim = true;
  facts.torm_served = false;
  Bot bot = TestBot(facts, [der]() -> Result<std::vector<uint8_t>> { return der; });
  Reply reply = AskOk(bot, "Subject: ident\r\n\r\n");
  EXPECT_TRUE(Contains(reply.body, "\r\nServer key SHA-256: " + hex + "\r\n"));
  EXPECT_TRUE(Contains(reply.body, "\r\nRelays to other onion servers: no\r\n"));
  EXPECT_TRUE(Contains(reply.body, "\r\nRequires TKIM from onion senders: yes\r\n"));
  EXPECT_TRUE(Contains(reply.body, "\r\nServes unseal shares to peers (TORM): no\r\n"));
}

TEST(BotTest, IdentFailsWithTheKeySourcesError) {
  Bot bot = TestBot(TestFacts(), []() -> Result<std::vector<uint8_t>> {
    return MakeError(ErrorCode::kUnavailable, "key role away");
  });
  Result<mail::BotAnswer> answer = bot.Answer("alice", "Subject: IDENT\r\n\r\n");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(answer.error().message, "key role away");
}

TEST(BotTest, IdentWithoutAKeySourceIsAnInternalError) {
  Bot bot = TestBot(TestFacts(), nullptr);
  Result<mail::BotAnswer> answer = bot.Answer("alice", "Subject: IDENT\r\n\r\n");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kInternal);
  // The other commands need no key.
  EXPECT_TRUE(bot.Answer("alice", "Subject: HELP\r\n\r\n").ok());
}

TEST(BotTest, IdentWithAnEmptyKeyIsAnInternalError) {
  Bot bot =
      TestBot(TestFacts(), []() -> Result<std::vector<uint8_t>> { return std::vector<uint8_t>{}; });
  Result<mail::BotAnswer> answer = bot.Answer("alice", "Subject: IDENT\r\n\r\n");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kInternal);
}

TEST(BotTest, ServerKeyIsFetchedOnlyForIdent) {
  int calls = 0;
  Bot bot = TestBot(TestFacts(), [&calls]() -> Result<std::vector<uint8_t>> {
    ++calls;
    return std::vector<uint8_t>{1, 2, 3};
  });
  for (const char* s : {"HELP", "RULEZ", "CONFIG", "nonsense", ""}) {
    AskOk(bot, std::string("Subject: ") + s + "\r\n\r\n");
  }
  ASSERT_TRUE(bot.Answer("alice", "Auto-Submitted: auto-replied\r\nSubject: IDENT\r\n\r\n").ok());
  EXPECT_EQ(calls, 0);
  AskOk(bot, "Subject: IDENT\r\n\r\n");
  EXPECT_EQ(calls, 1);
}

TEST(BotTest, ConfigReportsTheLimits) {
  Bot bot = TestBot();
  std::string keyword;
  Reply reply = AskOk(bot, "Subject: CONFIG\r\n\r\n", &keyword);
  EXPECT_EQ(keyword, "CONFIG");
  EXPECT_TRUE(Contains(reply.body, "\r\nMaximum message size: 26214400 bytes (25.0 MiB)\r\n"));
  EXPECT_TRUE(Contains(reply.body, "\r\nMaximum recipients per message: 100\r\n"));
  EXPECT_TRUE(Contains(reply.body, "\r\nMaximum other onion servers per message: 8\r\n"));
  EXPECT_TRUE(Contains(reply.body, "\r\nMailbox quota: none\r\n"));
}

TEST(BotTest, ConfigSaysWhenMailToOtherServersIsNotRelayed) {
  ServerFacts facts = TestFacts();
  facts.relay_enabled = false;
  Bot bot = TestBot(facts);
  Reply reply = AskOk(bot, "Subject: CONFIG\r\n\r\n");
  EXPECT_TRUE(
      Contains(reply.body, "\r\nMail to other onion servers: not relayed by this server\r\n"));
  EXPECT_FALSE(Contains(reply.body, "other onion servers per message"));
}

TEST(BotTest, ConfigReportsAMailboxQuota) {
  ServerFacts facts = TestFacts();
  facts.mailbox_quota_bytes = 1073741824;
  facts.max_message_bytes = 1000000;
  Bot bot = TestBot(facts);
  Reply reply = AskOk(bot, "Subject: limits\r\n\r\n");
  EXPECT_TRUE(Contains(reply.body, "\r\nMailbox quota: 1073741824 bytes (1024.0 MiB)\r\n"));
  EXPECT_TRUE(Contains(reply.body, "\r\nMaximum message size: 1000000 bytes (1.0 MiB)\r\n"));
}

TEST(BotTest, RulezGivesTheRulesWithCrlfLineEndings) {
  ServerFacts facts = TestFacts();
  facts.rules = "1. Be kind.\n2. No spam.\r\n3. Bare CR\rends a line.\n.\n";
  Bot bot = TestBot(facts);
  std::string keyword;
  Reply reply = AskOk(bot, "Subject: RULEZ\r\n\r\n", &keyword);
  EXPECT_EQ(keyword, "RULEZ");
  EXPECT_TRUE(Contains(reply.body,
                       "\r\n1. Be kind.\r\n2. No spam.\r\n3. Bare CR\r\nends a line.\r\n.\r\n"));
  EXPECT_EQ(reply.body.substr(reply.body.size() - 5), "\r\n.\r\n");
}

TEST(BotTest, RulezSplitsALineOf3000Octets) {
  ServerFacts facts = TestFacts();
  facts.rules = "short\n" + std::string(3000, 'r') + "\nend";
  Bot bot = TestBot(facts);
  std::vector<std::string> lines = BodyLines(AskOk(bot, "Subject: rules\r\n\r\n").body);
  ASSERT_GE(lines.size(), 6u);
  std::vector<std::string> tail(lines.end() - 6, lines.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"short", std::string(998, 'r'), std::string(998, 'r'),
                                            std::string(998, 'r'), std::string(6, 'r'), "end"}));
}

TEST(BotTest, RulezWithoutRulesSaysNoneWerePublished) {
  for (const char* rules : {"", " \n\t\r\n"}) {
    ServerFacts facts = TestFacts();
    facts.rules = rules;
    Bot bot = TestBot(facts);
    EXPECT_EQ(AskOk(bot, "Subject: RULEZ\r\n\r\n").body,
              std::string("The operator of ") + kDomain + " has not published rules.\r\n");
  }
}

}  // namespace
}  // namespace onionmail::bot
