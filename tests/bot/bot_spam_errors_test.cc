// bot::Bot: SPAM requests that go wrong: malformed forms (the usage answer,
// no service call), the service's errors, entries the service should not
// have, a full list, automatic requests.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "bot/bot.h"
#include "mail/block_list.h"
#include "tests/bot/bot_test_util.h"
#include "tests/bot/spam_test_util.h"

namespace onionmail::bot {
namespace {

using mail::BlockListOp;
using testing::AskOk;
using testing::BodyLines;
using testing::Call;
using testing::Contains;
using testing::ExpectExplainsABlock;
using testing::FakeBlockList;
using testing::kListCall;
using testing::Reply;
using testing::SpamBot;
using testing::WithSubject;

TEST(BotSpamTest, MalformedSpamFormsGetTheUsageAnswerWithoutAServiceCall) {
  const std::vector<std::string> subjects = {
      "SPAM ADD",
      "SPAM DEL",
      "SPAM REMOVE",
      "SPAM ADD a@b.onion c@d.onion",
      "SPAM LIST all",
      "SPAM CLEAR now",
      "SPAM HELP",
      "SPAM frobnicate",
      "SPAM ADD not-an-address",
      "SPAM ADD bob@",
      "SPAM ADD bob@-bad.onion",
      "SPAM ADD <a@b.onion",
      "SPAM ADD a..b@c.onion",
      "SPAM ADD b\xC3\xA9@x.onion",
      "SPAM ADD a\x01@x.onion",
      "SPAM ADD " + std::string(300, 'a') + "@x.onion",
      // 257 octets: within the argument bound, too long for an entry.
      "SPAM ADD " + std::string(64, 'a') + "@" + std::string(63, 'b') + "." + std::string(63, 'c') +
          "." + std::string(58, 'd') + ".onion",
      "SPAM ADD a b c d e f g h i",
      "SET IS SPAM",
      "SET IS SPAM a@b.onion c@d.onion",
  };
  for (const std::string& subject : subjects) {
    FakeBlockList fake;
    Bot bot = SpamBot(fake);
    std::string keyword;
    Reply reply = AskOk(bot, WithSubject(subject), &keyword);
    EXPECT_EQ(keyword, "SPAM") << subject;
    EXPECT_TRUE(fake.calls.empty()) << subject;
    EXPECT_EQ(BodyLines(reply.body).at(0),
              "The SPAM commands edit your block list: the senders whose mail this")
        << subject;
    EXPECT_FALSE(Contains(reply.body, "not-an-address"));
    EXPECT_FALSE(Contains(reply.body, "frobnicate"));
    EXPECT_FALSE(Contains(reply.body, "aaaa"));
  }
}

TEST(BotSpamTest, UsageAnswerExplainsTheFormsWithExamples) {
  FakeBlockList fake;
  Bot bot = SpamBot(fake);
  Reply reply = AskOk(bot, WithSubject("SPAM HELP"));
  for (const char* text :
       {"server@exampleonionaddress.onion", "\r\n  SPAM LIST ", "SPAM ADD bob@example.onion",
        "SPAM ADD @spam.onion (*@spam.onion works too)", "SPAM DEL bob@example.onion",
        "(SPAM DELETE and SPAM REMOVE work too)", "\r\n  SPAM CLEAR ",
        "SET IS SPAM <address> works as SPAM ADD <address>", "most 500 entries",
        "your list was\r\nnot changed"}) {
    EXPECT_TRUE(Contains(reply.body, text)) << text;
  }
  ExpectExplainsABlock(reply.body);
}

TEST(BotSpamTest, ServiceRefusingTheEntryGetsTheUsageAnswer) {
  FakeBlockList fake;
  fake.error = MakeError(ErrorCode::kInvalidArgument, "entry not canonical");
  fake.error_op = BlockListOp::kAdd;
  Bot bot = SpamBot(fake);
  std::string keyword;
  Reply reply = AskOk(bot, WithSubject("SPAM ADD bob@example.onion"), &keyword);
  EXPECT_EQ(keyword, "SPAM");
  EXPECT_EQ(fake.calls.size(), 2u);
  EXPECT_TRUE(Contains(reply.body, "The SPAM commands edit your block list"));
}

TEST(BotSpamTest, FullListSaysSoAndToRemoveSome) {
  FakeBlockList fake;
  fake.error = MakeError(ErrorCode::kResourceExhausted, "block list full");
  fake.error_op = BlockListOp::kAdd;
  Bot bot = SpamBot(fake);
  std::string keyword;
  Reply reply = AskOk(bot, WithSubject("SPAM ADD <Bob@Example.Onion>"), &keyword);
  EXPECT_EQ(keyword, "SPAM");
  EXPECT_EQ(fake.calls,
            (std::vector<Call>{kListCall, Call{BlockListOp::kAdd, "bob@example.onion"}}));
  EXPECT_TRUE(Contains(reply.body, "Your block list is full: it holds 500 entries"));
  EXPECT_TRUE(Contains(reply.body, "bob@example.onion was not added."));
  EXPECT_TRUE(Contains(reply.body, "SPAM DEL <address>"));
  EXPECT_TRUE(Contains(reply.body, "SPAM CLEAR"));
}

TEST(BotSpamTest, DamagedListSaysSoAndThatClearStartsANewOne) {
  for (const char* subject : {"SPAM", "SPAM ADD a@b.onion", "SPAM DEL a@b.onion"}) {
    FakeBlockList fake;
    fake.error = MakeError(ErrorCode::kDataLoss, "does not open");
    fake.error_op = BlockListOp::kList;
    Bot bot = SpamBot(fake);
    std::string keyword;
    Reply reply = AskOk(bot, WithSubject(subject), &keyword);
    EXPECT_EQ(keyword, "SPAM");
    EXPECT_TRUE(Contains(reply.body, "Your block list could not be read")) << subject;
    EXPECT_TRUE(Contains(reply.body, "Send SPAM CLEAR")) << subject;
    EXPECT_EQ(fake.calls, std::vector<Call>{kListCall}) << subject;
  }
}

TEST(BotSpamTest, OtherServiceErrorsFailTheAnswer) {
  struct Case {
    std::string subject;
    std::optional<BlockListOp> failing;
    ErrorCode code;
  };
  for (const Case& c : {Case{"SPAM", std::nullopt, ErrorCode::kUnavailable},
                        Case{"SPAM CLEAR", std::nullopt, ErrorCode::kPermissionDenied},
                        Case{"SPAM ADD a@b.onion", BlockListOp::kList, ErrorCode::kInternal},
                        Case{"SPAM ADD a@b.onion", BlockListOp::kAdd, ErrorCode::kUnavailable},
                        Case{"SPAM DEL a@b.onion", BlockListOp::kList, ErrorCode::kSealed}}) {
    FakeBlockList fake;
    fake.list = {"a@b.onion"};
    if (c.failing == BlockListOp::kAdd) fake.list.clear();
    fake.error = MakeError(c.code, "key role away");
    fake.error_op = c.failing;
    Bot bot = SpamBot(fake);
    Result<mail::BotAnswer> answer = bot.Answer("alice", WithSubject(c.subject));
    ASSERT_FALSE(answer.ok()) << c.subject;
    EXPECT_EQ(answer.error().code, c.code) << c.subject;
    EXPECT_EQ(answer.error().message, "key role away");
    EXPECT_FALSE(fake.calls.empty());
  }
}

TEST(BotSpamTest, EntriesFromTheServiceAreShownOnlyInCanonicalForm) {
  FakeBlockList fake;
  fake.list = {"@spam.onion", "Evil@X.onion", "x@y.onion\r\nInjected: yes", "\xff@a.onion"};
  Bot bot = SpamBot(fake);
  Reply reply = AskOk(bot, WithSubject("SPAM LIST"));
  std::vector<std::string> lines = BodyLines(reply.body);
  ASSERT_GE(lines.size(), 6u);
  EXPECT_EQ(
      std::vector<std::string>(lines.begin(), lines.begin() + 6),
      (std::vector<std::string>{"Your block list holds 4 of 500 entries:", "", "  @spam.onion",
                                "  (an entry that is not valid)", "  (an entry that is not valid)",
                                "  (an entry that is not valid)"}));
  EXPECT_FALSE(Contains(reply.body, "Injected"));
  EXPECT_FALSE(Contains(reply.body, "Evil"));
}

TEST(BotSpamTest, AFullListOfLongEntriesStillMakesAWellFormedReply) {
  FakeBlockList fake;
  for (int i = 0; i < 500; ++i) {
    std::string label = std::string(59, 'a') + std::to_string(1000 + i);
    fake.list.push_back("@" + label + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                        "." + std::string(1, 'd') + ".onion");
  }
  ASSERT_EQ(fake.list.front().size(), 200u);  // the longest "@domain" entry
  ASSERT_EQ(mail::CanonicalBlockEntry(fake.list.front()), fake.list.front());
  Bot bot = SpamBot(fake);
  Reply reply = AskOk(bot, WithSubject("SPAM LIST"));  // AskOk checks every line
  EXPECT_TRUE(Contains(reply.body, "holds 500 of 500 entries:"));
  EXPECT_TRUE(Contains(reply.body, "\r\n  " + fake.list.back() + "\r\n"));
  EXPECT_EQ(reply.Header("Subject"), "Re: SPAM LIST");
}

TEST(BotSpamTest, AutomaticRequestsDoNotTouchTheList) {
  FakeBlockList fake;
  Bot bot = SpamBot(fake);
  Result<mail::BotAnswer> answer =
      bot.Answer("alice", "Auto-Submitted: auto-replied\r\nSubject: SPAM CLEAR\r\n\r\n");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->keyword, "ignored");
  EXPECT_TRUE(fake.calls.empty());
}

}  // namespace
}  // namespace onionmail::bot
