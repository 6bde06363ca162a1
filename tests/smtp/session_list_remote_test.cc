// Mailing-list members at other onion servers (session.h, "Mailing lists"):
// the post reaches them through the relay, one remote transaction per server
// opened at the list's RCPT, with the list's header fields; members their
// server refuses, servers that cannot be reached or are past the limit, and
// all of them without a relay, are skipped; the local members still get it.
#include <gtest/gtest.h>

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
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Valid v3 onion names (tests/mail/relay_test.cc).
constexpr char kFirst[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
constexpr char kSecond[] = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";

std::string At(const std::string& local, const char* domain) { return local + "@" + domain; }

// "team": alice (owner) and bob here, carol and erin at kFirst, dave at
// kSecond (sorted, so kFirst's members are not next to each other).
struct TeamList : mail::ListService {
  Result<mail::ListRecord> Apply(mail::ListOp op, std::string_view name,
                                 std::string_view) override {
    EXPECT_EQ(op, mail::ListOp::kPost);
    if (name != "team") return MakeError(ErrorCode::kNotFound, "no list");
    return record;
  }
  mail::ListRecord record{
      "alice", {"alice", "bob", At("carol", kFirst), At("dave", kSecond), At("erin", kFirst)}};
};

class SessionListRemoteTest : public SessionTest {
 protected:
  SessionListRemoteTest() {
    lists = &service;
    relay = &fake;
  }
  void Post() {
    RunTls("AUTH PLAIN " + Plain("", "alice", "alice-pw") +
           "\r\nMAIL FROM:<alice@example.onion>\r\nRCPT TO:<team.list@example.onion>\r\n"
           "DATA\r\nSubject: hello team\r\n\r\nhi all\r\n.\r\n");
  }
  // The local members' copy (the message stored with the poster's path).
  const FakeDeliveryBackend::Delivered* LocalCopy() const {
    for (const auto& d : backend.delivered) {
      if (d.envelope.reverse_path == "alice@example.onion") return &d;
    }
    return nullptr;
  }
  TeamList service;
  FakeRelayBackend fake;
};

TEST_F(SessionListRemoteTest, RemoteMembersGetThePostThroughTheRelayWithTheListFields) {
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_EQ(Last(), "250 2.0.0 Ok: delivered to the remote servers\r\n");
  ASSERT_EQ(fake.begins.size(), 2u);
  EXPECT_EQ(fake.begins[0].domain, kFirst);
  EXPECT_EQ(fake.begins[0].reverse_path, "alice@example.onion");
  EXPECT_EQ(fake.begins[1].domain, kSecond);
  EXPECT_THAT(fake.rcpts,
              ElementsAre(At("carol", kFirst), At("erin", kFirst), At("dave", kSecond)));
  const std::string fields = mail::ListHeaders("team", "example.onion");
  for (const char* domain : {kFirst, kSecond}) {
    const std::string& got = fake.appended_by_domain[domain];
    EXPECT_THAT(got, StartsWith("Received: by mx.example.onion"));
    EXPECT_THAT(got, HasSubstr("\r\n" + fields + "Subject: hello team\r\n\r\nhi all\r\n"));
  }
  const auto* local = LocalCopy();
  ASSERT_NE(local, nullptr);
  EXPECT_THAT(local->envelope.local_parts, ElementsAre("alice", "bob"));
  EXPECT_THAT(local->bytes, HasSubstr("\r\n" + fields + "Subject: hello team\r\n"));
  EXPECT_THAT(backend.checked, ElementsAre("alice", "bob"));  // remote ones are not local users
}

TEST_F(SessionListRemoteTest, MemberRefusedByItsServerIsSkippedAndTheOthersGetThePost) {
  fake.rcpt_replies[At("carol", kFirst)] = {550, "5.1.1"};
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_THAT(fake.ended, ElementsAre(kFirst, kSecond));  // erin and dave
  ASSERT_NE(LocalCopy(), nullptr);
}

TEST_F(SessionListRemoteTest, ServerRefusingEveryMemberIsLeftOut) {
  fake.rcpt_replies[At("dave", kSecond)] = {550, "5.1.1"};
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_THAT(fake.ended, ElementsAre(kFirst));
  EXPECT_EQ(fake.destroyed_without_end, 1);
  EXPECT_EQ(Last(), "250 2.0.0 Ok: delivered to the remote server\r\n");
}

TEST_F(SessionListRemoteTest, WithoutARelayRemoteMembersAreSkippedAndLocalOnesGetThePost) {
  relay = nullptr;
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_TRUE(fake.begins.empty());
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice", "bob"));
}

TEST_F(SessionListRemoteTest, UnreachableServersAreSkippedAndLocalOnesGetThePost) {
  fake.begin_error = ErrorCode::kUnavailable;
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_EQ(fake.begins.size(), 2u);
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice", "bob"));
}

TEST_F(SessionListRemoteTest, ConnectionLostAtRcptSkipsThatServersMembersOnly) {
  fake.rcpt_error = ErrorCode::kUnavailable;
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_EQ(fake.destroyed_without_end, 2);
  EXPECT_EQ(fake.end_calls, 0);
  ASSERT_EQ(backend.delivered.size(), 1u);
}

TEST_F(SessionListRemoteTest, ServersPastMaxRemoteServersAreSkipped) {
  cfg.max_remote_servers = 1;
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  ASSERT_EQ(fake.begins.size(), 1u);
  EXPECT_EQ(fake.begins[0].domain, kFirst);
  EXPECT_THAT(fake.ended, ElementsAre(kFirst));
}

TEST_F(SessionListRemoteTest, RemoteMembersAloneStillTakeThePost) {
  backend.full_mailboxes = {"alice", "bob"};
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_THAT(fake.ended, ElementsAre(kFirst, kSecond));
  EXPECT_THAT(backend.delivered, IsEmpty());
}

TEST_F(SessionListRemoteTest, ServerThatDoesNotTakeThePostIsReportedToThePoster) {
  fake.end_replies[kSecond] = {452, "4.2.2"};
  Post();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_THAT(Last(), HasSubstr("report in your mailbox"));
  ASSERT_NE(LocalCopy(), nullptr);
  std::string report;
  for (const auto& d : backend.delivered) {
    if (d.envelope.reverse_path.empty()) report = d.bytes;
  }
  EXPECT_THAT(report, HasSubstr("Final-Recipient: rfc822; " + At("dave", kSecond) + "\r\n"));
  EXPECT_THAT(report, HasSubstr("List-Id:"));  // the post's header block
}

TEST_F(SessionListRemoteTest, NoMemberLeftAnywhereIsRefusedWith452) {
  backend.full_mailboxes = {"alice", "bob"};
  fake.begin_error = ErrorCode::kUnavailable;
  RunTls("AUTH PLAIN " + Plain("", "alice", "alice-pw") +
         "\r\nMAIL FROM:<alice@example.onion>\r\nRCPT TO:<team.list@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 452));
}

}  // namespace
}  // namespace onionmail::smtp
