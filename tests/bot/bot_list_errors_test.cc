// bot::Bot: LIST requests that go wrong: malformed forms, bad names and users
// (the usage answer, no service call), each refusal of the service and its
// answer, the errors that fail the answer, names the service should not
// have, the largest list.
#include <gmock/gmock.h>
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
using testing::AskOk;
using testing::BodyLines;
using testing::FakeListService;
using testing::HasText;
using testing::kListUsageFirstLine;
using testing::ListBot;
using testing::ListCall;
using testing::ListSubject;
using testing::Reply;

// A v3 onion name (another server than the bot's exampleonionaddress.onion).
const std::string kOtherOnion = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

TEST(BotListErrorsTest, MalformedFormsGetTheUsageAnswerWithoutAServiceCall) {
  const std::vector<std::string> subjects = {
      "LIST",
      "LIST HELP",
      "LIST team",
      "LIST CREATE team",
      "LIST team CREATE now",
      "LIST team FROBNICATE",
      "LIST team POST",
      "LIST team ADD",
      "LIST team REMOVE",
      "LIST team ADD bob carol",
      "LIST team LEAVE bob",
      "LIST team MEMBERS all",
      "LIST team DESTROY it",
      "LIST team ANNOUNCE now",
      "LIST team OPEN bob",
      "LIST team MODERATE bob",
      "LIST team MEMBERS 1 2 3 4 5 6 7 8",
      // Names.
      "LIST bad..name CREATE",
      "LIST .team CREATE",
      "LIST team.list.list CREATE",
      "LIST .list CREATE",
      "LIST team@exampleonionaddress.onion CREATE",
      "LIST team.list@other.onion CREATE",
      "LIST team.list@ CREATE",
      "LIST t\xC3\xA9"
      "am CREATE",
      "LIST te+am CREATE",
      "LIST " + std::string(mail::kMaxListNameBytes + 1, 'a') + " CREATE",
      "LIST " + std::string(300, 'a') + " CREATE",
      // Users.
      "LIST team ADD bob@other.onion",
      "LIST team ADD bob@",
      "LIST team ADD @exampleonionaddress.onion",
      "LIST team ADD bob@exampleonionaddress.onion@exampleonionaddress.onion",
      "LIST team ADD <bob>",
      "LIST team ADD bad..user",
      "LIST team ADD bob+tag",
      "LIST team REMOVE b\x01"
      "ob",
      "LIST team ADD " + std::string(65, 'b'),
      // Addresses at other servers that are not v3 onion names.
      "LIST team ADD bob@expyuzz4wqqyqhjn.onion",  // v2
      "LIST team ADD bob@aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3iead.onion",
      "LIST team ADD bob@example.org",
      "LIST team REMOVE bob@other.onion",
      "LIST team ADD bob@" + kOtherOnion + "@" + kOtherOnion,
      "LIST team ADD bad..user@" + kOtherOnion,
      "LIST team ADD <bob@" + kOtherOnion + ">",
      "LIST team ADD " + std::string(65, 'b') + "@" + kOtherOnion,
  };
  for (const std::string& subject : subjects) {
    FakeListService fake;
    Bot bot = ListBot(fake);
    std::string keyword;
    Reply reply = AskOk(bot, ListSubject(subject), &keyword);
    EXPECT_EQ(keyword, "LIST") << subject;
    EXPECT_TRUE(fake.calls.empty()) << subject;
    EXPECT_EQ(BodyLines(reply.body).at(0), kListUsageFirstLine) << subject;
    for (const char* word : {"FROBNICATE", "bad..", "other.onion", "aaaa", "bbbb", "carol",
                             "expyuzz", "example.org"}) {
      EXPECT_FALSE(HasText(reply.body, word)) << subject << ": " << word;
    }
  }
}

TEST(BotListErrorsTest, UsageAnswerExplainsTheFormsWithExamples) {
  FakeListService fake;
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST"));
  for (const char* text :
       {"server@exampleonionaddress.onion", "\r\n  LIST <name> CREATE ", "LIST team CREATE",
        "LIST team ADD bob (INVITE works too)", "LIST team REMOVE bob (DEL and DELETE",
        "\r\n  LIST <name> LEAVE ", "(UNSUBSCRIBE works too)", "\r\n  LIST <name> MEMBERS ",
        "SHOW and LIST work too", "\r\n  LIST <name> DESTROY ",
        "team for team.list@exampleonionaddress.onion", "at most 59 letters",
        "bob@exampleonionaddress.onion", "at most 100 members", "nothing was changed",
        "or the address of a user of another onion server,\r\nsuch as bob@<its .onion name>",
        "at most 8 other servers"}) {
    EXPECT_TRUE(HasText(reply.body, text)) << text;
  }
}

struct Refusal {
  std::string subject;
  ErrorCode code;
  std::vector<std::string> says;  // each in the body
};

TEST(BotListErrorsTest, EachRefusalOfTheServiceGetsItsAnswer) {
  const std::string list = "team.list@exampleonionaddress.onion";
  const std::vector<Refusal> refusals = {
      {"LIST team MEMBERS",
       ErrorCode::kNotFound,
       {"There is no mailing list " + list + ".", "LIST team CREATE would make one."}},
      {"LIST team ADD bob", ErrorCode::kNotFound, {"There is no mailing list " + list}},
      {"LIST team MEMBERS",
       ErrorCode::kPermissionDenied,
       {"Only the members of " + list + " may see it."}},
      {"LIST team ADD bob",
       ErrorCode::kPermissionDenied,
       {"Only the owner of " + list + " may do that"}},
      {"LIST team REMOVE bob",
       ErrorCode::kPermissionDenied,
       {"Only the owner of " + list + " may do that", "with LIST team LEAVE"}},
      {"LIST team DESTROY",
       ErrorCode::kPermissionDenied,
       {"Only the owner of " + list + " may do that"}},
      {"LIST team ANNOUNCE",
       ErrorCode::kPermissionDenied,
       {"Only the owner of " + list + " may do that"}},
      {"LIST team OPEN",
       ErrorCode::kPermissionDenied,
       {"Only the owner of " + list + " may do that"}},
      {"LIST team OPEN", ErrorCode::kNotFound, {"There is no mailing list " + list}},
      {"LIST team LEAVE", ErrorCode::kPermissionDenied, {"You are not a member of " + list + "."}},
      {"LIST team CREATE",
       ErrorCode::kPermissionDenied,
       {"Only users logged in on this server may create lists."}},
      {"LIST team CREATE",
       ErrorCode::kAlreadyExists,
       {"The address " + list + " is taken", "exists already, or it is a user's address",
        "Choose another name."}},
      {"LIST team ADD Bob",
       ErrorCode::kFailedPrecondition,
       {"There is no user bob on this server", "bob@<its .onion name>"}},
      {"LIST team LEAVE",
       ErrorCode::kFailedPrecondition,
       {"You own " + list + ", and the owner cannot leave the list.", "LIST team DESTROY"}},
      {"LIST team REMOVE alice",
       ErrorCode::kFailedPrecondition,
       {"You own " + list + ", and the owner cannot leave the list."}},
      {"LIST team REMOVE bob",
       ErrorCode::kFailedPrecondition,
       {"bob owns " + list + ", and the owner cannot leave the list.", "LIST team DESTROY"}},
      {"LIST team ADD bob",
       ErrorCode::kResourceExhausted,
       {list + " is full: it has 100 members, the most", "so\r\nbob was not added.",
        "LIST team REMOVE"}},
      {"LIST team ADD Bob@" + kOtherOnion,
       ErrorCode::kResourceExhausted,
       {list + " is full: it has 100 members, or members at 8 other\r\nonion servers",
        "so\r\nbob@" + kOtherOnion + " was not added.", "LIST team REMOVE"}},
      {"LIST team CREATE",
       ErrorCode::kResourceExhausted,
       {"This server holds as many mailing lists as it can (1000)", "was not created",
        "ask the operator"}},
      {"LIST team MEMBERS",
       ErrorCode::kDataLoss,
       {"The record of " + list + " on this server is damaged", "tell the operator"}},
      {"LIST team DESTROY", ErrorCode::kDataLoss, {"is damaged"}},
  };
  for (const Refusal& r : refusals) {
    FakeListService fake;
    fake.error = MakeError(r.code, "refused by the key role");
    Bot bot = ListBot(fake);
    std::string keyword;
    Reply reply = AskOk(bot, ListSubject(r.subject), &keyword);
    EXPECT_EQ(keyword, "LIST") << r.subject;
    EXPECT_EQ(fake.calls.size(), 1u) << r.subject;
    for (const std::string& text : r.says) {
      EXPECT_TRUE(HasText(reply.body, text)) << r.subject << ": " << text << "\n" << reply.body;
    }
    EXPECT_TRUE(HasText(reply.body, "\r\nNothing was changed.\r\n")) << r.subject;
    EXPECT_FALSE(HasText(reply.body, "refused by the key role")) << r.subject;
  }
}

TEST(BotListErrorsTest, ServiceRefusingTheArgumentsGetsTheUsageAnswer) {
  FakeListService fake;
  fake.error = MakeError(ErrorCode::kInvalidArgument, "bad name");
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST team ADD bob"));
  EXPECT_EQ(fake.calls, (std::vector<ListCall>{{ListOp::kAdd, "team", "bob"}}));
  EXPECT_EQ(BodyLines(reply.body).at(0), kListUsageFirstLine);
}

TEST(BotListErrorsTest, OtherServiceErrorsFailTheAnswer) {
  struct Case {
    const char* subject;
    ErrorCode code;
  };
  for (const Case& c : {Case{"LIST team MEMBERS", ErrorCode::kUnavailable},
                        Case{"LIST team CREATE", ErrorCode::kInternal},
                        Case{"LIST team ADD bob", ErrorCode::kSealed},
                        Case{"LIST team DESTROY", ErrorCode::kDeadlineExceeded},
                        // Codes the op cannot have: not the user's fault.
                        Case{"LIST team MEMBERS", ErrorCode::kAlreadyExists},
                        Case{"LIST team DESTROY", ErrorCode::kFailedPrecondition},
                        Case{"LIST team LEAVE", ErrorCode::kResourceExhausted},
                        Case{"LIST team ADD bob", ErrorCode::kAlreadyExists}}) {
    FakeListService fake;
    fake.error = MakeError(c.code, "key role away");
    Bot bot = ListBot(fake);
    Result<mail::BotAnswer> answer = bot.Answer("alice", ListSubject(c.subject));
    ASSERT_FALSE(answer.ok()) << c.subject;
    EXPECT_EQ(answer.error().code, c.code) << c.subject;
    EXPECT_EQ(answer.error().message, "key role away");
    EXPECT_EQ(fake.calls.size(), 1u);
  }
}

TEST(BotListErrorsTest, NamesFromTheServiceAreShownOnlyWhenValid) {
  FakeListService fake;
  fake.record = mail::ListRecord{"Evil\r\nInjected: yes", {"alice", "bad..name", "x\xff"}};
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST team MEMBERS"));
  EXPECT_TRUE(HasText(reply.body,
                      "Owner: (a name that is not valid)\r\n"
                      "Members (3 of 100):\r\n"
                      "  alice\r\n"
                      "  (a name that is not valid)\r\n"
                      "  (a name that is not valid)\r\n"));
  EXPECT_FALSE(HasText(reply.body, "Injected"));
  EXPECT_FALSE(HasText(reply.body, "bad..name"));
}

TEST(BotListErrorsTest, RemoteMembersFromTheServiceAreShownOnlyWhenValid) {
  const std::string remote = "bob@" + kOtherOnion;
  FakeListService fake;
  fake.record = mail::ListRecord{
      "alice", {"alice", remote, "carol@other.onion", "Dave@" + kOtherOnion, "x@y@" + kOtherOnion}};
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST team MEMBERS"));
  EXPECT_TRUE(HasText(reply.body,
                      "Members (5 of 100):\r\n"
                      "  alice\r\n"
                      "  " +
                          remote +
                          "\r\n"
                          "  (a name that is not valid)\r\n"
                          "  (a name that is not valid)\r\n"
                          "  (a name that is not valid)\r\n"));
  EXPECT_FALSE(HasText(reply.body, "other.onion"));
  EXPECT_FALSE(HasText(reply.body, "Dave"));
  // A remote owner is not a valid owner.
  fake.record = mail::ListRecord{remote, {"alice", remote}};
  EXPECT_TRUE(HasText(AskOk(bot, ListSubject("LIST team MEMBERS")).body,
                      "Owner: (a name that is not valid)\r\n"));
}

TEST(BotListErrorsTest, TheLargestListMakesAWellFormedReply) {
  FakeListService fake;
  for (size_t i = 0; i + 1 < mail::kMaxListMembers; ++i) {
    fake.record.members.push_back(std::string(61, 'm') + std::to_string(100 + i));
  }
  fake.record.members.push_back("alice");
  fake.record.owner = "alice";
  const std::string name(mail::kMaxListNameBytes, 'n');
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST " + name + " MEMBERS"));  // AskOk checks every line
  EXPECT_TRUE(HasText(reply.body, "Address: " + name + ".list@exampleonionaddress.onion\r\n"));
  EXPECT_TRUE(HasText(reply.body, "\r\n  " + fake.record.members.front() + "\r\n"));
  EXPECT_THAT(reply.Header("Subject"), ::testing::MatchesRegex("Re: LIST n+ MEMBERS"));
}

}  // namespace
}  // namespace onionmail::bot
