// bot::Bot: the LIST commands (mailing lists): each form and alias, the call
// it makes on a fake mail::ListService, the name and user forms (a user of
// another onion server too), what a success answers, HELP with and without a
// service.
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
using testing::ListBot;
using testing::ListCall;
using testing::ListSubject;
using testing::Reply;
using testing::TestBot;

const mail::ListRecord kTeam{"alice", {"alice", "bob", "carol"}};

// A v3 onion name (another server than the bot's exampleonionaddress.onion).
const std::string kOtherOnion = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

TEST(BotListTest, EachFormAndAliasMakesOneCall) {
  struct Case {
    std::string subject;
    ListCall call;
  };
  const std::vector<Case> cases = {
      {"LIST team CREATE", {ListOp::kCreate, "team", ""}},
      {"list team create", {ListOp::kCreate, "team", ""}},
      {"LIST team ADD bob", {ListOp::kAdd, "team", "bob"}},
      {"LIST team Invite bob", {ListOp::kAdd, "team", "bob"}},
      {"LIST team REMOVE bob", {ListOp::kRemove, "team", "bob"}},
      {"LIST team del bob", {ListOp::kRemove, "team", "bob"}},
      {"LIST team Delete bob", {ListOp::kRemove, "team", "bob"}},
      {"LIST team LEAVE", {ListOp::kLeave, "team", ""}},
      {"LIST team unsubscribe", {ListOp::kLeave, "team", ""}},
      {"LIST team MEMBERS", {ListOp::kShow, "team", ""}},
      {"LIST team show", {ListOp::kShow, "team", ""}},
      {"LIST team list", {ListOp::kShow, "team", ""}},
      {"LIST team DESTROY", {ListOp::kDestroy, "team", ""}},
      {"LIST team ANNOUNCE", {ListOp::kAnnounce, "team", ""}},
      {"list team announce", {ListOp::kAnnounce, "team", ""}},
      {"LIST team OPEN", {ListOp::kOpen, "team", ""}},
      {"LIST team Open", {ListOp::kOpen, "team", ""}},
      {"Re: RE: List  team\tMembers ", {ListOp::kShow, "team", ""}},
  };
  for (const Case& c : cases) {
    FakeListService fake;
    fake.record = kTeam;
    Bot bot = ListBot(fake);
    std::string keyword;
    AskOk(bot, ListSubject(c.subject), &keyword);
    EXPECT_EQ(keyword, "LIST") << c.subject;
    EXPECT_EQ(fake.calls, std::vector<ListCall>{c.call}) << c.subject;
  }
}

TEST(BotListTest, NameFormsAllNameTheSameList) {
  for (const char* name :
       {"team", "TEAM", "team.list", "Team.List", "team.list@exampleonionaddress.onion",
        "TEAM.LIST@ExampleOnionAddress.ONION"}) {
    FakeListService fake;
    fake.record = kTeam;
    Bot bot = ListBot(fake);
    AskOk(bot, ListSubject(std::string("LIST ") + name + " MEMBERS"));
    EXPECT_EQ(fake.calls, (std::vector<ListCall>{{ListOp::kShow, "team", ""}})) << name;
  }
}

TEST(BotListTest, UserFormsAreALocalPartOrOneAtThisDomainLowerCased) {
  for (const char* user :
       {"bob", "BOB", "bob@exampleonionaddress.onion", "Bob@ExampleOnionAddress.Onion"}) {
    FakeListService fake;
    fake.record = kTeam;
    Bot bot = ListBot(fake);
    AskOk(bot, ListSubject(std::string("LIST team ADD ") + user));
    EXPECT_EQ(fake.calls, (std::vector<ListCall>{{ListOp::kAdd, "team", "bob"}})) << user;
  }
}

TEST(BotListTest, AUserOfAnotherOnionServerIsItsAddressLowerCased) {
  std::string upper = "BOB@" + kOtherOnion;
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  for (const std::string& user : {"bob@" + kOtherOnion, upper}) {
    for (const char* verb : {"ADD", "invite", "REMOVE", "del"}) {
      FakeListService fake;
      fake.record = kTeam;
      Bot bot = ListBot(fake);
      AskOk(bot, ListSubject("LIST team " + std::string(verb) + " " + user));
      const ListOp op = (verb[0] == 'A' || verb[0] == 'i') ? ListOp::kAdd : ListOp::kRemove;
      EXPECT_EQ(fake.calls, (std::vector<ListCall>{{op, "team", "bob@" + kOtherOnion}}))
          << verb << " " << user;
    }
  }
}

TEST(BotListTest, AddAndRemoveOfARemoteMemberSayWhatChangedAndShowItsAddress) {
  const std::string remote = "bob@" + kOtherOnion;
  FakeListService fake;
  fake.record = mail::ListRecord{"alice", {"alice", "bob", remote}};
  Bot bot = ListBot(fake);
  Reply added = AskOk(bot, ListSubject("LIST team ADD " + remote));
  EXPECT_EQ(BodyLines(added.body).at(0),
            remote + " is now a member of team.list@exampleonionaddress.onion.");
  EXPECT_TRUE(
      HasText(added.body, "Members (3 of 100):\r\n  alice\r\n  bob\r\n  " + remote + "\r\n"));

  fake.record = mail::ListRecord{"alice", {"alice", "bob"}};
  Reply removed = AskOk(bot, ListSubject("LIST team REMOVE " + remote));
  EXPECT_EQ(BodyLines(removed.body).at(0),
            remote + " is not a member of team.list@exampleonionaddress.onion now.");
  EXPECT_TRUE(HasText(removed.body, "Members (2 of 100):\r\n  alice\r\n  bob\r\n"));
  EXPECT_EQ(fake.calls, (std::vector<ListCall>{{ListOp::kAdd, "team", remote},
                                               {ListOp::kRemove, "team", remote}}));
}

TEST(BotListTest, MembersShowsRemoteMembersByTheirFullAddress) {
  const std::string remote = "carol@" + kOtherOnion;
  FakeListService fake;
  fake.record = mail::ListRecord{"bob", {"alice", "bob", remote}};
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST team MEMBERS"));
  EXPECT_TRUE(HasText(reply.body,
                      "Owner: bob\r\n"
                      "Members (3 of 100):\r\n"
                      "  alice\r\n"
                      "  bob\r\n"
                      "  " +
                          remote + "\r\n"));
}

TEST(BotListTest, MembersShowsAddressOwnerMembersAndHowToPostAndLeave) {
  FakeListService fake;
  fake.record = mail::ListRecord{"bob", {"alice", "bob", "carol"}};
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST team MEMBERS"));
  std::vector<std::string> lines = BodyLines(reply.body);
  const std::vector<std::string> head = {"The mailing list team.list@exampleonionaddress.onion:",
                                         "",
                                         "Address: team.list@exampleonionaddress.onion",
                                         "Owner: bob",
                                         "Members (3 of 100):",
                                         "  alice",
                                         "  bob",
                                         "  carol"};
  ASSERT_GE(lines.size(), head.size());
  EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + head.size()), head);
  EXPECT_TRUE(HasText(reply.body,
                      "send your mail to team.list@exampleonionaddress.onion\r\n"
                      "from your own address on this server, logged in (SMTP AUTH)"));
  EXPECT_TRUE(HasText(reply.body,
                      "To leave the list, send LIST team LEAVE to "
                      "server@exampleonionaddress.onion."));
  EXPECT_FALSE(HasText(reply.body, "You own this list"));
  EXPECT_EQ(reply.Header("Subject"), "Re: LIST team MEMBERS");
  EXPECT_EQ(reply.Header("To"), "<alice@exampleonionaddress.onion>");
}

TEST(BotListTest, CreateSaysSoAndTellsTheOwnerWhatItCanDo) {
  FakeListService fake;
  fake.record = mail::ListRecord{"alice", {"alice"}};
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST Team.List CREATE"));
  std::vector<std::string> lines = BodyLines(reply.body);
  ASSERT_GE(lines.size(), 7u);
  EXPECT_EQ(lines[0], "You created the mailing list team.list@exampleonionaddress.onion.");
  EXPECT_EQ(lines[3], "Owner: alice");
  EXPECT_EQ(lines[4], "Members (1 of 100):");
  EXPECT_EQ(lines[5], "  alice");
  EXPECT_TRUE(HasText(reply.body, "You own this list: LIST team ADD <user> adds a member"));
  EXPECT_TRUE(HasText(reply.body, "LIST team DESTROY\r\nends the list."));
  EXPECT_TRUE(HasText(reply.body, "The owner cannot leave the list."));
  EXPECT_FALSE(HasText(reply.body, "To leave the list"));
}

TEST(BotListTest, AnnounceAndOpenSayWhoWritesNowAndTheOwnerHowToChangeIt) {
  FakeListService fake;
  fake.record = mail::ListRecord{"alice", {"alice", "bob"}, true};
  Bot bot = ListBot(fake);
  Reply announced = AskOk(bot, ListSubject("LIST team ANNOUNCE"));
  EXPECT_EQ(BodyLines(announced.body).at(0),
            "team.list@exampleonionaddress.onion is an announce list now: only you, its owner, "
            "write to");
  EXPECT_TRUE(HasText(announced.body,
                      "This is an announce list: only its owner writes to it, by sending mail\r\n"
                      "to team.list@exampleonionaddress.onion; the members receive."));
  EXPECT_TRUE(HasText(announced.body, "LIST team OPEN lets every\r\nmember write to it again."));
  EXPECT_FALSE(HasText(announced.body, "only members can write to the list"));

  fake.record = mail::ListRecord{"alice", {"alice", "bob"}};
  Reply opened = AskOk(bot, ListSubject("LIST team OPEN"));
  EXPECT_EQ(BodyLines(opened.body).at(0),
            "Every member of team.list@exampleonionaddress.onion can write to it now.");
  EXPECT_TRUE(HasText(opened.body, "only members can write to the list."));
  EXPECT_TRUE(HasText(opened.body,
                      "LIST team ANNOUNCE makes it an\r\nannounce list, to which only you write; "
                      "LIST team MODERATE\r\nholds the members' mail for your approval."));
  EXPECT_EQ(fake.calls,
            (std::vector<ListCall>{{ListOp::kAnnounce, "team", ""}, {ListOp::kOpen, "team", ""}}));
}

TEST(BotListTest, ModerateSaysThatMembersMailGoesToTheOwnerHeldAndHowToOpenIt) {
  FakeListService fake;
  fake.record = mail::ListRecord{"alice", {"alice", "bob"}, false, true};
  Bot bot = ListBot(fake);
  Reply moderated = AskOk(bot, ListSubject("list team moderate"));
  EXPECT_EQ(BodyLines(moderated.body).at(0),
            "team.list@exampleonionaddress.onion is a moderated list now: its members' mail to "
            "it comes");
  EXPECT_TRUE(HasText(moderated.body,
                      "to you alone, marked X-List-Held; post to the list what "
                      "you approve."));
  EXPECT_TRUE(HasText(moderated.body,
                      "This is a moderated list: mail a member sends to "
                      "team.list@exampleonionaddress.onion\r\ngoes to its owner alone, held for "
                      "approval;"));
  EXPECT_TRUE(HasText(moderated.body, "LIST team OPEN lets every\r\nmember write to it again."));
  EXPECT_FALSE(HasText(moderated.body, "only members can write to the list"));
  EXPECT_EQ(fake.calls, (std::vector<ListCall>{{ListOp::kModerate, "team", ""}}));
  // A member is told the same, and how to leave.
  fake.record = mail::ListRecord{"bob", {"alice", "bob"}, false, true};
  Reply shown = AskOk(bot, ListSubject("LIST team MEMBERS"));
  EXPECT_TRUE(HasText(shown.body, "This is a moderated list"));
  EXPECT_TRUE(HasText(shown.body, "To leave the list, send LIST team LEAVE"));
}

TEST(BotListTest, AMemberOfAnAnnounceListIsToldOnlyTheOwnerWrites) {
  FakeListService fake;
  fake.record = mail::ListRecord{"bob", {"alice", "bob"}, true};
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("LIST team MEMBERS"));
  EXPECT_TRUE(HasText(reply.body, "This is an announce list: only its owner writes to it"));
  EXPECT_FALSE(HasText(reply.body, "ANNOUNCE"));  // the owner's commands are not offered
  EXPECT_FALSE(HasText(reply.body, "OPEN"));
  EXPECT_TRUE(HasText(reply.body, "To leave the list, send LIST team LEAVE"));
}

TEST(BotListTest, AddAndRemoveSayWhatChangedAndShowTheList) {
  FakeListService fake;
  fake.record = kTeam;
  Bot bot = ListBot(fake);
  Reply added = AskOk(bot, ListSubject("LIST team ADD Carol"));
  EXPECT_EQ(BodyLines(added.body).at(0),
            "carol is now a member of team.list@exampleonionaddress.onion.");
  EXPECT_TRUE(HasText(added.body, "\r\n  carol\r\n"));

  fake.record = mail::ListRecord{"alice", {"alice", "bob"}};
  Reply removed = AskOk(bot, ListSubject("LIST team REMOVE carol"));
  EXPECT_EQ(BodyLines(removed.body).at(0),
            "carol is not a member of team.list@exampleonionaddress.onion now.");
  EXPECT_TRUE(HasText(removed.body, "Members (2 of 100):\r\n  alice\r\n  bob\r\n"));
}

TEST(BotListTest, LeavingDoesNotShowTheMembersAnyMore) {
  for (const char* subject : {"LIST team LEAVE", "LIST team REMOVE alice"}) {
    FakeListService fake;
    fake.record = mail::ListRecord{"bob", {"bob", "carol"}};
    Bot bot = ListBot(fake);
    Reply reply = AskOk(bot, ListSubject(subject));
    EXPECT_EQ(BodyLines(reply.body).at(0),
              "You are not a member of team.list@exampleonionaddress.onion now: you no longer")
        << subject;
    EXPECT_FALSE(HasText(reply.body, "carol")) << subject;
    EXPECT_FALSE(HasText(reply.body, "Owner:")) << subject;
  }
}

TEST(BotListTest, DestroySaysTheListIsGone) {
  FakeListService fake;  // an empty record, as the service returns it
  Bot bot = ListBot(fake);
  std::string keyword;
  Reply reply = AskOk(bot, ListSubject("LIST team DESTROY"), &keyword);
  EXPECT_EQ(keyword, "LIST");
  EXPECT_EQ(BodyLines(reply.body).at(0), "The mailing list team.list@exampleonionaddress.onion");
  EXPECT_TRUE(HasText(reply.body, "\r\nwas destroyed: it is gone, with its members"));
  EXPECT_FALSE(HasText(reply.body, "Members"));
}

TEST(BotListTest, HelpListsTheListCommandsWhenTheBotHasAService) {
  FakeListService fake;
  Bot bot = ListBot(fake);
  Reply reply = AskOk(bot, ListSubject("HELP"));
  EXPECT_TRUE(HasText(reply.body, "\r\n  LIST    mailing lists"));
  EXPECT_TRUE(HasText(reply.body, "LIST <name> CREATE"));
  EXPECT_FALSE(HasText(reply.body, "SPAM"));
  std::string keyword;
  Reply unknown = AskOk(bot, ListSubject("LISTS"), &keyword);
  EXPECT_EQ(keyword, "unknown");
  EXPECT_TRUE(HasText(unknown.body, "\r\n  LIST    mailing lists"));
  EXPECT_TRUE(fake.calls.empty());
}

TEST(BotListTest, WithoutAServiceListIsUnknownAndHelpLacksIt) {
  Bot bot = TestBot();
  for (const char* subject : {"LIST", "LIST team CREATE", "LIST team MEMBERS"}) {
    std::string keyword;
    Reply reply = AskOk(bot, ListSubject(subject), &keyword);
    EXPECT_EQ(keyword, "unknown") << subject;
    EXPECT_FALSE(HasText(reply.body, "LIST")) << subject;
  }
  EXPECT_FALSE(HasText(AskOk(bot, ListSubject("HELP")).body, "LIST"));
}

TEST(BotListTest, AutomaticRequestsDoNotTouchTheLists) {
  FakeListService fake;
  Bot bot = ListBot(fake);
  Result<mail::BotAnswer> answer =
      bot.Answer("alice", "Auto-Submitted: auto-replied\r\nSubject: LIST team DESTROY\r\n\r\n");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->keyword, "ignored");
  EXPECT_TRUE(fake.calls.empty());
}

}  // namespace
}  // namespace onionmail::bot
