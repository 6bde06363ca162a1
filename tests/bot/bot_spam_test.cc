// bot::Bot: the SPAM commands (the user's own block list): each form, the
// calls it makes on a fake mail::BlockListService and what it answers; SPAM
// without a service.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bot/bot.h"
#include "mail/block_list.h"
#include "tests/bot/bot_test_util.h"
#include "tests/bot/spam_test_util.h"

namespace onionmail::bot {
namespace {

using namespace std::string_literals;
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
using testing::TestBot;
using testing::WithSubject;

TEST(BotSpamTest, SpamAndSpamListShowTheEntriesWithACount) {
  for (const char* subject : {"SPAM", "SPAM LIST", "spam list", "Re: Spam  List "}) {
    FakeBlockList fake;
    fake.list = {"@spam.onion", "bob@example.onion"};
    Bot bot = SpamBot(fake);
    std::string keyword;
    Reply reply = AskOk(bot, WithSubject(subject), &keyword);
    EXPECT_EQ(keyword, "SPAM") << subject;
    EXPECT_EQ(fake.calls, std::vector<Call>{kListCall}) << subject;
    std::vector<std::string> lines = BodyLines(reply.body);
    ASSERT_GE(lines.size(), 4u);
    EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 4),
              (std::vector<std::string>{"Your block list holds 2 of 500 entries:", "",
                                        "  @spam.onion", "  bob@example.onion"}));
    ExpectExplainsABlock(reply.body);
  }
}

TEST(BotSpamTest, EmptyListSaysItIsEmpty) {
  FakeBlockList fake;
  Bot bot = SpamBot(fake);
  Reply reply = AskOk(bot, WithSubject("SPAM LIST"));
  EXPECT_EQ(BodyLines(reply.body).at(0), "Your block list is empty (0 of 500 entries).");
}

TEST(BotSpamTest, SpamAddCanonicalisesTheEntryAndShowsTheList) {
  FakeBlockList fake;
  fake.list = {"zed@other.onion"};
  Bot bot = SpamBot(fake);
  std::string keyword;
  Reply reply = AskOk(bot, WithSubject("SPAM ADD <Bob@Example.Onion>"), &keyword);
  EXPECT_EQ(keyword, "SPAM");
  EXPECT_EQ(fake.calls,
            (std::vector<Call>{kListCall, Call{BlockListOp::kAdd, "bob@example.onion"}}));
  EXPECT_TRUE(Contains(reply.body, "bob@example.onion was added to your block list.\r\n"));
  EXPECT_TRUE(Contains(reply.body,
                       "holds 2 of 500 entries:\r\n\r\n"
                       "  bob@example.onion\r\n  zed@other.onion\r\n"));
  EXPECT_FALSE(Contains(reply.body, "Bob@Example.Onion"));
  ExpectExplainsABlock(reply.body);
}

TEST(BotSpamTest, SpamAddOfAStarDomainBlocksTheWholeDomain) {
  for (const char* entry : {"*@spam.onion", "@SPAM.onion", "<*@spam.onion>"}) {
    FakeBlockList fake;
    Bot bot = SpamBot(fake);
    Reply reply = AskOk(bot, WithSubject("SPAM ADD "s + entry));
    EXPECT_EQ(fake.calls, (std::vector<Call>{kListCall, Call{BlockListOp::kAdd, "@spam.onion"}}))
        << entry;
    EXPECT_TRUE(Contains(reply.body, "@spam.onion (every address at spam.onion) was added"));
  }
}

TEST(BotSpamTest, SetIsSpamIsTheOriginalOnionMailFormOfSpamAdd) {
  for (const char* subject :
       {"SET IS SPAM x@y.onion", "set is spam X@Y.ONION", "Re: Set Is Spam x@y.onion"}) {
    FakeBlockList fake;
    Bot bot = SpamBot(fake);
    std::string keyword;
    Reply reply = AskOk(bot, WithSubject(subject), &keyword);
    EXPECT_EQ(keyword, "SPAM") << subject;
    EXPECT_EQ(fake.calls, (std::vector<Call>{kListCall, Call{BlockListOp::kAdd, "x@y.onion"}}))
        << subject;
    EXPECT_TRUE(Contains(reply.body, "x@y.onion was added"));
  }
}

TEST(BotSpamTest, SpamAddOfAnEntryAlreadyThereChangesNothingAndSaysSo) {
  FakeBlockList fake;
  fake.list = {"bob@example.onion"};
  Bot bot = SpamBot(fake);
  Reply reply = AskOk(bot, WithSubject("SPAM ADD bob@example.onion"));
  EXPECT_EQ(fake.calls, std::vector<Call>{kListCall});
  EXPECT_TRUE(
      Contains(reply.body, "bob@example.onion was already on your block list; nothing changed."));
  EXPECT_TRUE(Contains(reply.body, "holds 1 of 500 entries:\r\n\r\n  bob@example.onion\r\n"));
}

TEST(BotSpamTest, SpamDelDeleteAndRemoveRemoveTheCanonicalEntry) {
  for (const char* verb : {"DEL", "delete", "Remove"}) {
    FakeBlockList fake;
    fake.list = {"@spam.onion", "bob@example.onion"};
    Bot bot = SpamBot(fake);
    std::string keyword;
    Reply reply = AskOk(bot, WithSubject("SPAM "s + verb + " <BOB@example.onion>"), &keyword);
    EXPECT_EQ(keyword, "SPAM");
    EXPECT_EQ(fake.calls,
              (std::vector<Call>{kListCall, Call{BlockListOp::kDelete, "bob@example.onion"}}))
        << verb;
    EXPECT_TRUE(Contains(reply.body, "bob@example.onion was removed from your block list."));
    EXPECT_TRUE(Contains(reply.body, "holds 1 of 500 entries:\r\n\r\n  @spam.onion\r\n"));
    ExpectExplainsABlock(reply.body);
  }
}

TEST(BotSpamTest, SpamDelOfAnAbsentEntryChangesNothingAndSaysSo) {
  FakeBlockList fake;
  fake.list = {"@spam.onion"};
  Bot bot = SpamBot(fake);
  Reply reply = AskOk(bot, WithSubject("SPAM DEL *@other.onion"));
  EXPECT_EQ(fake.calls, std::vector<Call>{kListCall});
  EXPECT_TRUE(Contains(reply.body,
                       "@other.onion (every address at other.onion) was not on your block "
                       "list; nothing changed."));
}

TEST(BotSpamTest, SpamClearEmptiesTheListAndSaysSo) {
  FakeBlockList fake;
  fake.list = {"@spam.onion", "bob@example.onion"};
  Bot bot = SpamBot(fake);
  std::string keyword;
  Reply reply = AskOk(bot, WithSubject("spam clear"), &keyword);
  EXPECT_EQ(keyword, "SPAM");
  EXPECT_EQ(fake.calls, (std::vector<Call>{Call{BlockListOp::kClear, ""}}));
  std::vector<std::string> lines = BodyLines(reply.body);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Your block list was cleared.");
  EXPECT_EQ(lines[2], "Your block list is empty (0 of 500 entries).");
  ExpectExplainsABlock(reply.body);
}

TEST(BotSpamTest, HelpListsTheSpamCommandsWhenTheBotHasAService) {
  FakeBlockList fake;
  Bot bot = SpamBot(fake);
  Reply reply = AskOk(bot, WithSubject("HELP"));
  EXPECT_TRUE(Contains(reply.body, "\r\n  SPAM    your block list"));
  EXPECT_TRUE(Contains(reply.body, "SPAM ADD <address>"));
  EXPECT_TRUE(Contains(reply.body, "SPAM CLEAR"));
  std::string keyword;
  Reply unknown = AskOk(bot, WithSubject("SPAMMER"), &keyword);
  EXPECT_EQ(keyword, "unknown");
  EXPECT_TRUE(Contains(unknown.body, "\r\n  SPAM    your block list"));
  EXPECT_TRUE(fake.calls.empty());
}

TEST(BotSpamTest, WithoutAServiceSpamIsUnknownAndHelpLacksIt) {
  Bot bot = TestBot();
  for (const char* subject : {"SPAM", "SPAM LIST", "SPAM ADD a@b.onion", "SET IS SPAM a@b.onion"}) {
    std::string keyword;
    Reply reply = AskOk(bot, WithSubject(subject), &keyword);
    EXPECT_EQ(keyword, "unknown") << subject;
    EXPECT_FALSE(Contains(reply.body, "SPAM")) << subject;
  }
  EXPECT_FALSE(Contains(AskOk(bot, WithSubject("HELP")).body, "SPAM"));
}

}  // namespace
}  // namespace onionmail::bot
