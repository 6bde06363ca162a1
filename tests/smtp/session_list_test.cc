// Mailing lists in the SMTP session (session.h, "Mailing lists"): only a
// logged-in member writing as themselves posts, to the list alone; each
// member is checked as a recipient and skipped when it cannot take the post;
// the kept members get one all-or-nothing delivery with the list's header
// fields after the trace fields.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "mail/mailing_list.h"
#include "smtp/session.h"
#include "tests/smtp/fake_relay.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kRemote[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

// Lists the session may ask for: "team" (owner alice; alice, bob, carol).
struct FakeLists : mail::ListService {
  struct Call {
    mail::ListOp op;
    std::string name;
  };
  Result<mail::ListRecord> Apply(mail::ListOp op, std::string_view name,
                                 std::string_view user) override {
    calls.push_back({op, std::string(name)});
    EXPECT_TRUE(user.empty());
    if (error) return MakeError(*error, "scripted");
    if (name != "team") return MakeError(ErrorCode::kNotFound, "no list");
    return record;
  }
  std::vector<Call> calls;
  std::optional<ErrorCode> error;
  mail::ListRecord record{"alice", {"alice", "bob", "carol"}};
};

const std::string kMessage = "Subject: hello team\r\n\r\nhi all\r\n";

class SessionListTest : public SessionTest {
 protected:
  SessionListTest() { lists = &service; }

  static std::string Auth(const std::string& user = "alice") {
    return "AUTH PLAIN " + Plain("", user, user + "-pw") + "\r\n";
  }
  void Post(const std::string& rcpt = "team.list@example.onion") {
    RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n" +
           kMessage + ".\r\n");
  }
  // Up to RCPT only (a refused RCPT leaves no DATA to send).
  void PostRcpt(const std::string& rcpt = "team.list@example.onion") {
    RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<" + rcpt + ">\r\n");
  }
  FakeLists service;
};

TEST_F(SessionListTest, MemberPostReachesEveryMemberWithListFieldsAfterTheTrace) {
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_EQ(replies[6], "250 2.1.5 List ok: its members who can take the message get it\r\n");
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].op, mail::ListOp::kPost);
  EXPECT_EQ(service.calls[0].name, "team");
  EXPECT_THAT(backend.checked, ElementsAre("alice", "bob", "carol"));
  EXPECT_THAT(backend.senders,
              ElementsAre("alice@example.onion", "alice@example.onion", "alice@example.onion"));
  ASSERT_EQ(backend.delivered.size(), 1u) << "one all-or-nothing delivery";
  EXPECT_EQ(backend.delivered[0].envelope.reverse_path, "alice@example.onion");
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice", "bob", "carol"));
  const std::string& bytes = backend.delivered[0].bytes;
  EXPECT_THAT(bytes, StartsWith("Return-Path: <alice@example.onion>\r\nReceived: by "));
  const std::string fields = mail::ListHeaders("team", "example.onion");
  size_t at = bytes.find(fields);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(bytes.substr(at + fields.size()), kMessage);
}

TEST_F(SessionListTest, ListAddressIsMatchedWithoutRegardToCase) {
  Post("Team.LIST@Example.Onion");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].name, "team");
}

TEST_F(SessionListTest, UnauthenticatedOrForeignSenderIsRefusedWith550WithoutAsking) {
  RunTls("MAIL FROM:<carol@elsewhere.onion>\r\nRCPT TO:<team.list@example.onion>\r\nRSET\r\n" +
         Auth() + "MAIL FROM:<>\r\nRCPT TO:<team.list@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 250, 235, 250, 550));
  EXPECT_EQ(Last(),
            "550 5.7.1 A list takes posts only from its members, logged in and sending as "
            "themselves\r\n");
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionListTest, NonMemberIsRefusedWith550AndUnknownListIsUserUnknown) {
  service.error = ErrorCode::kPermissionDenied;
  PostRcpt();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550));
  EXPECT_THAT(replies[6], StartsWith("550 5.7.1 A list takes posts only"));
  service.error.reset();
  conn = net::FakeConnection();
  PostRcpt("other.list@example.onion");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550));
  EXPECT_EQ(replies[6], "550 5.1.1 User unknown\r\n");
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionListTest, MemberButNotTheOwnerOfAnAnnounceListIsRefusedWith550) {
  service.error = ErrorCode::kFailedPrecondition;  // what ApplyListOp says then
  PostRcpt();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550));
  EXPECT_EQ(replies[6], "550 5.7.1 This list is an announce list: only its owner posts to it\r\n");
  EXPECT_TRUE(backend.checked.empty());
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionListTest, OwnerOfAnAnnounceListPostsToEveryMember) {
  service.record.announce = true;
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice", "bob", "carol"));
}

TEST_F(SessionListTest, AMembersPostToAModeratedListGoesToTheOwnerAloneMarkedHeld) {
  // What the key role answers a member but the owner: the owner alone.
  service.record = mail::ListRecord{"alice", {"alice"}, false, true};
  RunTls(Auth("bob") +
         "MAIL FROM:<bob@example.onion>\r\nRCPT TO:<team.list@example.onion>\r\n"
         "RCPT TO:<team.list@example.onion>\r\nDATA\r\n" +
         kMessage + ".\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 250, 354, 250));
  EXPECT_EQ(replies[6],
            "250 2.1.5 List ok: a moderated list, the post is held for its owner's approval\r\n");
  EXPECT_EQ(replies[7], replies[6]) << "the same list again";
  EXPECT_THAT(backend.checked, ElementsAre("alice"));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice"));
  const std::string& bytes = backend.delivered[0].bytes;
  const std::string held = mail::ListHeldHeader("team", "example.onion");
  EXPECT_EQ(held,
            "X-List-Held: <team.list@example.onion>; held for the owner's approval: post it to "
            "the list to send it to the members\r\n");
  size_t at = bytes.find(held);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(bytes.substr(at + held.size()), kMessage);
  EXPECT_EQ(bytes.find("List-Id:"), std::string::npos) << "not a list copy yet";
}

TEST_F(SessionListTest, TheOwnersPostToAModeratedListReachesAllWithoutAnyHeldField) {
  service.record = mail::ListRecord{"alice", {"alice", "bob", "carol"}, false, true};
  // The post the owner approves: it still carries the held copy's field
  // (folded here), which no member gets; a field of the body stays.
  const std::string body =
      "Subject: hello team\r\nX-List-Held: <team.list@example.onion>;\r\n"
      "\theld\r\nx-list-held : forged\r\nTo: team\r\n\r\n"
      "X-List-Held: in the body\r\n";
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<team.list@example.onion>\r\n" +
         "DATA\r\n" + body + ".\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_EQ(replies[6], "250 2.1.5 List ok: its members who can take the message get it\r\n");
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice", "bob", "carol"));
  const std::string& bytes = backend.delivered[0].bytes;
  const std::string fields = mail::ListHeaders("team", "example.onion");
  size_t at = bytes.find(fields);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(bytes.substr(at + fields.size()),
            "Subject: hello team\r\nTo: team\r\n\r\nX-List-Held: in the body\r\n");
}

TEST_F(SessionListTest, MembersWhoCannotTakeThePostAreSkippedTheOthersGetIt) {
  backend.blocked.insert("bob alice@example.onion");
  backend.full_mailboxes.insert("carol");
  service.record.members.push_back("zed");  // deleted since it joined
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice"));
}

TEST_F(SessionListTest, NoMemberLeftIsRefusedWith452AndNothingIsStored) {
  service.record = {"bob", {"bob", "carol"}};
  backend.full_mailboxes = {"bob", "carol"};
  PostRcpt();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 452));
  EXPECT_EQ(replies[6], "452 4.2.2 No member of the list can take the message now\r\n");
  EXPECT_EQ(backend.begun, 0);
}

TEST_F(SessionListTest, LowDiskSealedOrFailingServiceRefusesThePostTemporarily) {
  backend.check_error = ErrorCode::kResourceExhausted;
  PostRcpt();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 452));
  EXPECT_THAT(replies[6], StartsWith("452 4.3.1 "));
  backend.check_error.reset();
  for (ErrorCode code : {ErrorCode::kSealed, ErrorCode::kUnavailable, ErrorCode::kDataLoss}) {
    service.error = code;
    conn = net::FakeConnection();
    PostRcpt();
    EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 451)) << ErrorCodeName(code);
  }
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionListTest, ListWithAnyOtherRecipientIsRefusedWith452EitherWay) {
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@example.onion>\r\n" +
         "RCPT TO:<team.list@example.onion>\r\nRSET\r\n" +
         "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<team.list@example.onion>\r\n" +
         "RCPT TO:<bob@example.onion>\r\nRCPT TO:<server@example.onion>\r\n" +
         "RCPT TO:<other.list@example.onion>\r\nRCPT TO:<team.list@example.onion>\r\n" +
         "DATA\r\n" + kMessage + ".\r\n");
  EXPECT_THAT(CodesAfterTls(),
              ElementsAre(235, 250, 250, 452, 250, 250, 250, 452, 452, 452, 250, 354, 250));
  EXPECT_EQ(service.calls.size(), 1u) << "the list is expanded once";
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice", "bob", "carol"));
}

TEST_F(SessionListTest, ServerBotThenListIsRefusedWith452) {
  struct NoBot : mail::BotService {
    Result<mail::BotAnswer> Answer(std::string_view, std::string_view) override {
      return mail::BotAnswer{"HELP", ""};
    }
  } no_bot;
  bot = &no_bot;
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<server@example.onion>\r\n" +
         "RCPT TO:<team.list@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 452));
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionListTest, RemoteRecipientAfterAListIsRefusedWith452) {
  FakeRelayBackend fake;
  relay = &fake;
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<team.list@example.onion>\r\n" +
         "RCPT TO:<bob@" + kRemote + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 452));
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionListTest, RsetForgetsTheListAndTheNextMessageIsOrdinary) {
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<team.list@example.onion>\r\n" +
         "RSET\r\nMAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@example.onion>\r\nDATA\r\n" +
         kMessage + ".\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 250, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("bob"));
  EXPECT_EQ(backend.delivered[0].bytes.find("List-Id:"), std::string::npos);
}

TEST_F(SessionListTest, FailedCommitStoresNothingAndGets451) {
  backend.fail_commit = true;
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 451));
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionListTest, WithoutAListServiceAListAddressIsAnOrdinaryLocalPart) {
  lists = nullptr;
  PostRcpt();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550));
  EXPECT_THAT(backend.checked, ElementsAre("team.list"));
}

}  // namespace
}  // namespace onionmail::smtp
