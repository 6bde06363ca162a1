// Mailing-list members at other onion servers acting through their own
// server (session.h, "Mailing lists" and "server@"; docs/PROTOCOL.md): a
// post or a server@ request is taken on a session without a login only when
// the sender's server proved itself by TKIM and the sender is at that very
// onion. A post: the key role is asked for the members with the poster
// named; the other servers get the post from the list's own address; a
// partial failure is answered without a report (the poster has no mailbox
// here); a list at the proven server never posts. A server@ request goes to
// BotService::AnswerRemote and its outcome is the reply to DATA.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "mail/mailing_list.h"
#include "smtp/base64.h"
#include "smtp/session.h"
#include "tests/smtp/fake_relay.h"
#include "tests/smtp/fake_tkim.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Valid v3 onion names (tests/mail/relay_test.cc).
constexpr char kFirst[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
constexpr char kSecond[] = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";

std::string At(const std::string& local, const char* domain) { return local + "@" + domain; }

// "team": alice (owner) and bob here, carol at kFirst, dave at kSecond. A
// remote poster must be a member, as mail::ApplyListOp rules.
struct TeamList : mail::ListService {
  Result<mail::ListRecord> Apply(mail::ListOp op, std::string_view name,
                                 std::string_view user) override {
    EXPECT_EQ(op, mail::ListOp::kPost);
    posters.emplace_back(user);
    if (name != "team") return MakeError(ErrorCode::kNotFound, "no list");
    auto applied = mail::ApplyListOp(record, op, user.empty() ? "alice" : user, "");
    if (!applied.ok()) return applied.error();
    return **applied;  // a held post: the owner alone
  }
  mail::ListRecord record{"alice", {"alice", At("carol", kFirst), At("dave", kSecond), "bob"}};
  std::vector<std::string> posters;
};

struct RemoteBot : mail::BotService {
  Result<mail::BotAnswer> Answer(std::string_view, std::string_view) override {
    ADD_FAILURE() << "a member elsewhere is never answered with a message";
    return mail::BotAnswer{"HELP", ""};
  }
  Result<mail::RemoteBotAnswer> AnswerRemote(std::string_view member,
                                             std::string_view request) override {
    members.emplace_back(member);
    requests.emplace_back(request);
    if (error) return MakeError(*error, "scripted");
    return mail::RemoteBotAnswer{"LIST LEAVE", outcome};
  }
  std::vector<std::string> members;
  std::vector<std::string> requests;
  mail::RemoteBotOutcome outcome = mail::RemoteBotOutcome::kLeft;
  std::optional<ErrorCode> error;
};

class SessionListRemotePosterTest : public SessionTest {
 protected:
  SessionListRemotePosterTest() {
    std::sort(service.record.members.begin(), service.record.members.end());
    lists = &service;
    relay = &relay_fake;
    tkim = &tkim_fake;
    bot = &remote_bot;
    tkim_fake.domain = kFirst;
    binding.fill(7);
    conn.set_binding(binding);
  }
  // A fresh connection for another session in the same test.
  void Reconnect() {
    conn = net::FakeConnection();
    conn.set_binding(binding);
  }
  // A session from kFirst's relay role: its proof, then `sender`'s post.
  // A session from kFirst's relay role: its proof (when `prove`), then
  // `sender`'s RCPT to the list and, when it is taken, the post.
  void PostFrom(const std::string& sender, bool prove = true, bool data = true) {
    RunTls(
        std::string(prove ? "TKIM " + EncodeBase64(std::vector<uint8_t>{1, 2, 3}) + "\r\n" : "") +
        "MAIL FROM:<" + sender + ">\r\nRCPT TO:<team.list@example.onion>\r\n" +
        (data ? "DATA\r\nSubject: from afar\r\n\r\nhello team\r\n.\r\n" : ""));
  }
  // The same session, asking server@ to leave the list.
  void LeaveFrom(const std::string& sender, bool prove = true) {
    RunTls(
        std::string(prove ? "TKIM " + EncodeBase64(std::vector<uint8_t>{1, 2, 3}) + "\r\n" : "") +
        "MAIL FROM:<" + sender + ">\r\nRCPT TO:<server@example.onion>\r\n" +
        "DATA\r\nSubject: LIST team LEAVE\r\n\r\n.\r\n");
  }
  mail::ChannelBinding binding{};
  TeamList service;
  RemoteBot remote_bot;
  FakeRelayBackend relay_fake;
  FakeTkim tkim_fake;
};

TEST_F(SessionListRemotePosterTest, MemberAtTheProvenServerPostsAndEveryMemberGetsIt) {
  PostFrom("Carol@" + std::string(kFirst));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 354, 250));
  EXPECT_EQ(Last(), "250 2.0.0 Ok: delivered to the remote servers\r\n");
  // The key role is told who posts (lower case).
  EXPECT_THAT(service.posters, ElementsAre(At("carol", kFirst)));
  // Every server gets the post from the list's address, carol's too.
  ASSERT_EQ(relay_fake.begins.size(), 2u);
  for (const auto& begin : relay_fake.begins) {
    EXPECT_EQ(begin.reverse_path, "team.list@example.onion");
  }
  EXPECT_THAT(relay_fake.rcpts, ElementsAre(At("carol", kFirst), At("dave", kSecond)));
  EXPECT_THAT(relay_fake.appended_by_domain[kSecond],
              HasSubstr(mail::ListHeaders("team", "example.onion") + "Subject: from afar\r\n"));
  // The local copy keeps carol's path, names her server, and goes to both.
  ASSERT_EQ(backend.delivered.size(), 1u);
  const auto& local = backend.delivered[0];
  EXPECT_EQ(local.envelope.reverse_path, "Carol@" + std::string(kFirst));
  EXPECT_THAT(local.envelope.local_parts, ElementsAre("alice", "bob"));
  EXPECT_THAT(local.bytes, HasSubstr("(TKIM " + std::string(kFirst) + ")"));
}

TEST_F(SessionListRemotePosterTest, APostToAModeratedListIsHeldForTheOwnerAndLeavesNoServer) {
  service.record.moderated = true;
  PostFrom(At("carol", kFirst));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 354, 250));
  EXPECT_EQ(replies[kTlsPreamble + 2],
            "250 2.1.5 List ok: a moderated list, the post is held for its owner's approval\r\n");
  EXPECT_EQ(Last(), "250 2.0.0 Ok: queued\r\n");
  EXPECT_TRUE(relay_fake.begins.empty()) << "no other server gets a held post";
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice"));
  EXPECT_THAT(backend.delivered[0].bytes,
              HasSubstr(mail::ListHeldHeader("team", "example.onion") + "Subject: from afar\r\n"));
}

TEST_F(SessionListRemotePosterTest, RemoteSenderWithoutAProofIsRefusedWith550) {
  PostFrom(At("carol", kFirst), /*prove=*/false, /*data=*/false);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_THAT(replies[kTlsPreamble + 1], HasSubstr("5.7.1 A list takes posts only"));
  EXPECT_THAT(service.posters, IsEmpty());
  EXPECT_TRUE(relay_fake.begins.empty());
  EXPECT_THAT(backend.delivered, IsEmpty());
}

TEST_F(SessionListRemotePosterTest, NonMemberAtTheProvenServerIsRefusedWith550) {
  PostFrom(At("mallory", kFirst), /*prove=*/true, /*data=*/false);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 550));
  EXPECT_THAT(service.posters, ElementsAre(At("mallory", kFirst)));
  EXPECT_TRUE(relay_fake.begins.empty());
  EXPECT_THAT(backend.delivered, IsEmpty());
}

TEST_F(SessionListRemotePosterTest, MemberElsewhereIsRefusedByAnAnnounceListWith550) {
  service.record.announce = true;
  PostFrom(At("carol", kFirst), /*prove=*/true, /*data=*/false);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 550));
  EXPECT_EQ(Last(), "550 5.7.1 This list is an announce list: only its owner posts to it\r\n");
  EXPECT_THAT(service.posters, ElementsAre(At("carol", kFirst)));
  EXPECT_TRUE(relay_fake.begins.empty());
  EXPECT_THAT(backend.delivered, IsEmpty());
}

TEST_F(SessionListRemotePosterTest, ListAtTheProvenServerNeverPosts) {
  // Two lists that hold each other would otherwise send a post round forever.
  service.record.members.push_back(At("other.list", kFirst));
  std::sort(service.record.members.begin(), service.record.members.end());
  PostFrom(At("other.list", kFirst), /*prove=*/true, /*data=*/false);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 550));
  EXPECT_THAT(service.posters, IsEmpty());
  EXPECT_THAT(backend.delivered, IsEmpty());
}

TEST_F(SessionListRemotePosterTest, ProvenServerWithALoginPostsAsTheUserOnly) {
  // A logged-in user sending as a remote address is not a remote poster.
  RunTls("TKIM " + EncodeBase64(std::vector<uint8_t>{1}) + "\r\nAUTH PLAIN " +
         Plain("", "alice", "alice-pw") + "\r\nMAIL FROM:<" + At("carol", kFirst) +
         ">\r\nRCPT TO:<team.list@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 235, 250, 550));
  EXPECT_THAT(service.posters, IsEmpty());
}

TEST_F(SessionListRemotePosterTest, ServerNotTakingTheRemotePostGets250WithoutAReport) {
  relay_fake.end_replies[kSecond] = {452, "4.2.2"};
  PostFrom(At("carol", kFirst));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 354, 250));
  EXPECT_EQ(Last(),
            "250 2.0.0 Ok: delivered to some recipients only; the servers of the others did "
            "not take it\r\n");
  // Only the members' copy here: no report (carol has no mailbox here).
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_FALSE(backend.delivered[0].envelope.reverse_path.empty());
}

TEST_F(SessionListRemotePosterTest, RemotePostWithLocalMembersOnlyIsAnOrdinaryDelivery) {
  service.record.members = {"alice", At("carol", kFirst), "bob"};
  std::sort(service.record.members.begin(), service.record.members.end());
  relay = nullptr;  // carol's own copy then cannot go back: skipped
  PostFrom(At("carol", kFirst));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice", "bob"));
  EXPECT_THAT(backend.delivered[0].bytes, HasSubstr("List-Id: <team.list.example.onion>"));
}

TEST_F(SessionListRemotePosterTest, MemberElsewhereLeavesThroughServerAtWithoutAMessage) {
  LeaveFrom("Carol@" + std::string(kFirst));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 354, 250));
  EXPECT_EQ(Last(), "250 2.0.0 Ok: the address is not on that list any more\r\n");
  EXPECT_THAT(remote_bot.members, ElementsAre(At("carol", kFirst)));
  EXPECT_THAT(remote_bot.requests, ElementsAre("Subject: LIST team LEAVE\r\n\r\n"));
  EXPECT_THAT(backend.delivered, IsEmpty());  // no answer stored anywhere
}

TEST_F(SessionListRemotePosterTest, ServerAtRefusesOtherCommandsFromElsewhereWith550) {
  remote_bot.outcome = mail::RemoteBotOutcome::kRefused;
  LeaveFrom(At("carol", kFirst));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 354, 550));
  EXPECT_EQ(Last(),
            "550 5.7.1 server@ takes only LIST <name> LEAVE from users of other servers\r\n");
  remote_bot.outcome = mail::RemoteBotOutcome::kIgnored;
  Reconnect();
  LeaveFrom(At("carol", kFirst));
  EXPECT_THAT(Last(), HasSubstr("250 2.0.0 Ignored"));
}

TEST_F(SessionListRemotePosterTest, ServerAtFailureForAMemberElsewhereIs451) {
  remote_bot.error = ErrorCode::kUnavailable;
  LeaveFrom(At("carol", kFirst));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 250, 354, 451));
  EXPECT_THAT(backend.delivered, IsEmpty());
}

TEST_F(SessionListRemotePosterTest, ServerAtWithoutAProofOrFromAListIsRefused) {
  // MAIL, RCPT refused, then DATA is out of sequence (the request's lines
  // are then unknown commands).
  LeaveFrom(At("carol", kFirst), /*prove=*/false);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 503, 500, 500, 500));
  EXPECT_THAT(replies[kTlsPreamble + 1], HasSubstr("5.7.1"));
  Reconnect();
  LeaveFrom(At("other.list", kFirst));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 550, 503, 500, 500, 500));
  EXPECT_TRUE(remote_bot.members.empty());
}

}  // namespace
}  // namespace onionmail::smtp
