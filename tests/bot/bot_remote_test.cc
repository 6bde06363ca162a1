// bot::Bot::AnswerRemote (bot/bot.h, mail/bot.h): a list member at another
// onion server may only leave a list, through "LIST <name> LEAVE" (or
// UNSUBSCRIBE, List-Unsubscribe's subject); the outcome is the same whether
// it was on the list or not; anything else is refused, an automatic message
// ignored; no answer message is ever made.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bot/bot.h"
#include "mail/mailing_list.h"
#include "tests/bot/bot_test_util.h"
#include "tests/bot/list_test_util.h"

namespace onionmail::bot {
namespace {

using mail::ListOp;
using mail::RemoteBotOutcome;
using testing::FakeListService;
using testing::ListBot;
using testing::ListCall;
using testing::ListSubject;

const std::string kMember = "dave@aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

RemoteBotOutcome AskRemote(Bot& bot, const std::string& request, std::string* keyword = nullptr) {
  auto answer = bot.AnswerRemote(kMember, request);
  EXPECT_TRUE(answer.ok()) << answer.error().message;
  if (!answer.ok()) return RemoteBotOutcome::kRefused;
  if (keyword != nullptr) *keyword = answer->keyword;
  return answer->outcome;
}

TEST(BotRemoteTest, LeaveAndUnsubscribeRemoveTheMemberNamedBySession) {
  for (const char* subject : {"LIST team LEAVE", "list team.list unsubscribe",
                              "Re: LIST team.list@exampleonionaddress.onion Leave"}) {
    FakeListService fake;
    fake.record = {"alice", {"alice"}};
    Bot bot = ListBot(fake);
    std::string keyword;
    EXPECT_EQ(AskRemote(bot, ListSubject(subject), &keyword), RemoteBotOutcome::kLeft) << subject;
    EXPECT_EQ(keyword, "LIST LEAVE");
    EXPECT_EQ(fake.calls, (std::vector<ListCall>{{ListOp::kLeave, "team", kMember}})) << subject;
  }
}

TEST(BotRemoteTest, NoSuchListOrNotAMemberAnswersTheSameAsLeaving) {
  for (ErrorCode code : {ErrorCode::kNotFound, ErrorCode::kPermissionDenied}) {
    FakeListService fake;
    fake.error = Error{code, "scripted"};
    Bot bot = ListBot(fake);
    EXPECT_EQ(AskRemote(bot, ListSubject("LIST team LEAVE")), RemoteBotOutcome::kLeft);
  }
}

TEST(BotRemoteTest, OtherServiceErrorsAreTemporaryFailures) {
  FakeListService fake;
  fake.error = Error{ErrorCode::kUnavailable, "key role gone"};
  Bot bot = ListBot(fake);
  auto answer = bot.AnswerRemote(kMember, ListSubject("LIST team LEAVE"));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
}

TEST(BotRemoteTest, EveryOtherCommandIsRefusedWithoutACall) {
  for (const char* subject : {"HELP", "IDENT", "CONFIG", "RULEZ", "SPAM LIST", "LIST team MEMBERS",
                              "LIST team ADD bob", "LIST team REMOVE " /* no user */,
                              "LIST team DESTROY", "LIST team CREATE", "LIST", "", "whatever"}) {
    FakeListService fake;
    Bot bot = ListBot(fake);
    std::string keyword;
    EXPECT_EQ(AskRemote(bot, ListSubject(subject), &keyword), RemoteBotOutcome::kRefused)
        << subject;
    EXPECT_EQ(keyword, "refused");
    EXPECT_TRUE(fake.calls.empty()) << subject;
  }
}

TEST(BotRemoteTest, AutomaticMessagesAreIgnored) {
  FakeListService fake;
  Bot bot = ListBot(fake);
  EXPECT_EQ(AskRemote(bot, "Auto-Submitted: auto-replied\r\nSubject: LIST team LEAVE\r\n\r\n"),
            RemoteBotOutcome::kIgnored);
  EXPECT_TRUE(fake.calls.empty());
}

TEST(BotRemoteTest, WithoutListsEverythingIsRefused) {
  Bot bot(testing::TestFacts(), testing::AbcKey(), [] { return testing::kFixedTime; });
  EXPECT_EQ(AskRemote(bot, ListSubject("LIST team LEAVE")), RemoteBotOutcome::kRefused);
}

TEST(BotRemoteTest, AMemberThatIsNotAtAnotherServerIsInvalid) {
  FakeListService fake;
  Bot bot = ListBot(fake);
  for (const char* member : {"dave", "dave@example.org", "", "Dave@x.onion"}) {
    auto answer = bot.AnswerRemote(member, ListSubject("LIST team LEAVE"));
    ASSERT_FALSE(answer.ok()) << member;
    EXPECT_EQ(answer.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(fake.calls.empty());
}

}  // namespace
}  // namespace onionmail::bot
