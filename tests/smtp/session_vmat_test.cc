// Session at an enter gateway (docs/gateways.md): RCPT to a VMAT alias at
// the exit domain is relayed, for any client, to the alias's onion mailbox
// with the client's reverse path; reserved names there are this server's
// users; a client without a login reaches one server per transaction.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <span>
#include <string>

#include "mail/vmat.h"
#include "smtp/session.h"
#include "tests/smtp/fake_relay.h"
#include "tests/smtp/fake_tkim.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Valid v3 onion names (tests/mail/relay_test.cc).
constexpr char kRemote[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
constexpr char kOther[] = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";

class FakeVmat : public mail::VmatService {
 public:
  Result<std::string> Lookup(std::string_view alias) override {
    lookups.push_back(std::string(alias));
    if (error) return MakeError(*error, "injected");
    auto it = aliases.find(std::string(alias));
    if (it == aliases.end()) return MakeError(ErrorCode::kNotFound, "none");
    return it->second;
  }
  Result<void> Own(mail::VmatOwnOp) override {
    return MakeError(ErrorCode::kInternal, "not asked by the session");
  }
  Result<std::string> SenderAddress(std::string_view) override {
    return MakeError(ErrorCode::kInternal, "not asked by the session yet");
  }
  std::map<std::string, std::string> aliases;
  std::vector<std::string> lookups;
  std::optional<ErrorCode> error;
};

class SessionVmatTest : public SessionTest {
 protected:
  SessionVmatTest() {
    cfg.exit_domain = "mx.example.org";
    relay = &fake;
    vmat = &table;
    table.aliases["alice"] = std::string("alice@") + kRemote;
    table.aliases["dora"] = std::string("dora@") + kOther;
    table.aliases["bobby"] = "bob@example.onion";  // a user of this server
    backend.AddUser("postmaster", "pm-pw");
  }
  // MAIL FROM an Internet sender, no login, then `commands`.
  void RunFromInternet(const std::string& commands, const std::string& from = "x@internet.test") {
    RunTls("MAIL FROM:<" + from + ">\r\n" + commands);
  }

  FakeRelayBackend fake;
  FakeVmat table;
};

constexpr char kMessage[] = "DATA\r\nSubject: hi\r\n\r\nhello from the Internet\r\n.\r\nQUIT\r\n";

TEST_F(SessionVmatTest, AnAliasIsRelayedToItsOnionMailboxWithTheClientsSender) {
  RunFromInternet("RCPT TO:<Alice@MX.Example.org>\r\n" + std::string(kMessage));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250, 221));
  EXPECT_THAT(table.lookups, ElementsAre("alice"));
  ASSERT_EQ(fake.begins.size(), 1u);
  EXPECT_EQ(fake.begins[0].domain, kRemote);
  EXPECT_EQ(fake.begins[0].reverse_path, "x@internet.test");
  EXPECT_THAT(fake.rcpts, ElementsAre(std::string("alice@") + kRemote));
  EXPECT_THAT(fake.appended, HasSubstr("hello from the Internet"));
  EXPECT_THAT(fake.appended, HasSubstr("Received: by mx.example.onion"));
  EXPECT_TRUE(backend.delivered.empty());
  for (const std::string& r : replies) EXPECT_EQ(r.find(kRemote), std::string::npos) << r;
}

TEST_F(SessionVmatTest, TheNullSenderIsRelayedAsTheNullSender) {
  RunTls("MAIL FROM:<>\r\nRCPT TO:<alice@mx.example.org>\r\n" + std::string(kMessage));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250, 221));
  ASSERT_EQ(fake.begins.size(), 1u);
  EXPECT_EQ(fake.begins[0].reverse_path, "");
}

TEST_F(SessionVmatTest, AnUnknownAliasOrANameThatIsNoAliasIs550WithoutRelaying) {
  RunFromInternet(
      "RCPT TO:<nemo@mx.example.org>\r\nRCPT TO:<x_y@mx.example.org>\r\n"
      "RCPT TO:<a+b@mx.example.org>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 550, 550));
  EXPECT_EQ(replies[5].substr(0, 10), "550 5.1.1 ");
  EXPECT_THAT(table.lookups, ElementsAre("nemo", "x_y"));  // a+b is no alias: not asked
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionVmatTest, GuessingAliasesPastTheLimitIs421AndClose) {
  cfg.max_unknown_recipients = 2;
  RunFromInternet(
      "RCPT TO:<nemo@mx.example.org>\r\nRCPT TO:<a+b@mx.example.org>\r\n"
      "RCPT TO:<zed@mx.example.org>\r\nRCPT TO:<alice@mx.example.org>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 550, 421));
  EXPECT_THAT(table.lookups, ElementsAre("nemo", "zed"));  // alice is never reached
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionVmatTest, ALookupFaultIsATemporaryFailure) {
  table.error = ErrorCode::kUnavailable;
  RunFromInternet("RCPT TO:<alice@mx.example.org>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 451));
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionVmatTest, ASealedServerSaysSo) {
  table.error = ErrorCode::kSealed;
  RunFromInternet("RCPT TO:<alice@mx.example.org>\r\n");
  EXPECT_THAT(Last(), HasSubstr("451 4.3.0 Server sealed"));
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionVmatTest, ReservedNamesAtTheExitDomainAreThisServersOwn) {
  RunFromInternet("RCPT TO:<Postmaster@mx.example.org>\r\n" + std::string(kMessage));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250, 221));
  EXPECT_TRUE(table.lookups.empty());
  EXPECT_TRUE(fake.begins.empty());
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("postmaster"));
}

TEST_F(SessionVmatTest, AnAliasOfAUserOfThisServerIsDeliveredHere) {
  RunFromInternet("RCPT TO:<bobby@mx.example.org>\r\n" + std::string(kMessage));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250, 221));
  EXPECT_TRUE(fake.begins.empty());
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("bob"));
}

TEST_F(SessionVmatTest, WithoutALoginATransactionReachesOneServer) {
  RunFromInternet(
      "RCPT TO:<alice@mx.example.org>\r\nRCPT TO:<dora@mx.example.org>\r\n"
      "RCPT TO:<postmaster@mx.example.org>\r\nRCPT TO:<bob@example.onion>\r\n" +
      std::string(kMessage));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 452, 452, 452, 354, 250, 221));
  EXPECT_THAT(fake.rcpts, ElementsAre(std::string("alice@") + kRemote));
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionVmatTest, WithoutALoginLocalRecipientsFirstKeepAliasesAtOnionsOut) {
  RunFromInternet("RCPT TO:<bob@example.onion>\r\nRCPT TO:<alice@mx.example.org>\r\n" +
                  std::string(kMessage));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 452, 354, 250, 221));
  EXPECT_TRUE(fake.begins.empty());
  ASSERT_EQ(backend.delivered.size(), 1u);
}

TEST_F(SessionVmatTest, ALoggedInUserMaySendToAliasesAtSeveralServers) {
  RunTls("AUTH PLAIN " + Plain("", "carol", "carol-pw") +
         "\r\nMAIL FROM:<carol@example.onion>\r\nRCPT TO:<alice@mx.example.org>\r\n"
         "RCPT TO:<dora@mx.example.org>\r\n" +
         std::string(kMessage));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 250, 354, 250, 221));
  ASSERT_EQ(fake.begins.size(), 2u);
  EXPECT_EQ(fake.begins[0].reverse_path, "carol@example.onion");
}

TEST_F(SessionVmatTest, TheRemotesRefusalOfTheAliasReachesTheClient) {
  fake.rcpt_replies[std::string("alice@") + kRemote] = mail::RelayReply{550, "5.1.1"};
  RunFromInternet("RCPT TO:<alice@mx.example.org>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_EQ(Last().substr(0, 10), "550 5.1.1 ");
}

TEST_F(SessionVmatTest, WithoutAnExitDomainOrServiceTheDomainIsRelayDenied) {
  vmat = nullptr;
  RunFromInternet("RCPT TO:<alice@mx.example.org>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_EQ(Last(), "550 5.7.1 Relaying denied\r\n");
  EXPECT_TRUE(table.lookups.empty());
}

class SessionInternetClientTest : public SessionVmatTest {
 protected:
  SessionInternetClientTest() { cfg.internet_client = true; }
};

TEST_F(SessionInternetClientTest, EhloOffersNoAuthTormOrTkimAndAuthIs502) {
  RunTls("AUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\nQUIT\r\n");
  const std::string& ehlo = replies[3];
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("TORM"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("TKIM"), std::string::npos) << ehlo;
  EXPECT_THAT(ehlo, HasSubstr("250 ENHANCEDSTATUSCODES\r\n"));
  EXPECT_THAT(replies[4], HasSubstr("502 5.7.0 No login from the Internet"));
  EXPECT_TRUE(backend.verify_calls.empty());
}

TEST_F(SessionInternetClientTest, OnlyTheExitDomainAndTheBarePostmasterTakeMail) {
  RunFromInternet(
      "RCPT TO:<bob@example.onion>\r\nRCPT TO:<x@internet.test>\r\n"
      "RCPT TO:<bob@" +
      std::string(kRemote) +
      ">\r\nRCPT TO:<postmaster>\r\n"
      "RCPT TO:<alice@mx.example.org>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 550, 550, 250, 452));
  EXPECT_EQ(replies[5], "550 5.7.1 Relaying denied\r\n");
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionInternetClientTest, AnAliasIsRelayedAsForAnyClient) {
  RunFromInternet("RCPT TO:<alice@mx.example.org>\r\n" + std::string(kMessage));
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 250, 354, 250, 221));
  ASSERT_EQ(fake.begins.size(), 1u);
  EXPECT_EQ(fake.begins[0].reverse_path, "x@internet.test");
}

class CountingTorm : public mail::TormService {
 public:
  Result<mail::TormAnswer> Handle(mail::TormVerb, const mail::ChannelBinding&,
                                  std::span<const uint8_t>) override {
    ++calls;
    return mail::TormAnswer{mail::TormOutcome::kOk, {1}};
  }
  int calls = 0;
};

TEST_F(SessionInternetClientTest, TormAndTkimAreUnknownCommandsEvenWhenServed) {
  CountingTorm counting;
  FakeTkim fake_tkim;
  torm = &counting;
  tkim = &fake_tkim;
  conn.set_binding(mail::ChannelBinding{});
  RunTls("TKIM KEY\r\nTORM STAT AAAA\r\nQUIT\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(500, 500, 221));
  EXPECT_EQ(counting.calls, 0);
  EXPECT_TRUE(fake_tkim.calls.empty());
  EXPECT_EQ(fake_tkim.key_calls, 0);
}

}  // namespace
}  // namespace onionmail::smtp
