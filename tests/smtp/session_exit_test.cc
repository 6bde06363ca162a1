// Session, RCPT to an Internet domain (session_exit.cc; docs/gateways.md,
// "The exit direction"): a user's server relays it to its exit gateway in a
// transaction of its own; a gateway relays its own logged-in user's to the
// smarthost under their sending alias, with the header through the exit
// rule; everyone else, address literals and Internet clients get 550 5.7.1.
// The TKIM-proven path from another server: tests/integration/test_exit.py.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "mail/relay.h"
#include "smtp/session.h"
#include "tests/smtp/fake_relay.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;

constexpr char kGateway[] = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";

class FakeSenders : public mail::VmatService {
 public:
  Result<std::string> Lookup(std::string_view) override {
    return MakeError(ErrorCode::kNotFound, "none");
  }
  Result<void> Own(mail::VmatOwnOp) override { return MakeError(ErrorCode::kInternal, "no"); }
  Result<std::string> SenderAddress(std::string_view sender) override {
    asked.push_back(std::string(sender));
    if (error) return MakeError(*error, "injected");
    auto it = senders.find(std::string(sender));
    if (it == senders.end()) return MakeError(ErrorCode::kNotFound, "none");
    return it->second;
  }
  std::map<std::string, std::string> senders;
  std::vector<std::string> asked;
  std::optional<ErrorCode> error;
};

class SessionExitBase : public SessionTest {
 protected:
  static std::string Auth() { return "AUTH PLAIN " + Plain("", "alice", "alice-pw") + "\r\n"; }
};

class SessionToGatewayTest : public SessionExitBase {
 protected:
  SessionToGatewayTest() {
    relay = &fake;
    cfg.exit_gateway = kGateway;
  }
  FakeRelayBackend fake;
};

TEST_F(SessionToGatewayTest, InternetRecipientsGoToTheGatewayInATransactionOfTheirOwn) {
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@Example.COM>\r\n" +
         "RCPT TO:<carol@example.org>\r\nRCPT TO:<dave@" + kGateway + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 250, 250));
  ASSERT_EQ(fake.begins.size(), 2u);  // one for the Internet, one for the gateway's users
  EXPECT_EQ(fake.begins[0].domain, kGateway);
  EXPECT_EQ(fake.begins[0].reverse_path, "alice@example.onion");
  EXPECT_EQ(fake.begins[1].domain, kGateway);
  EXPECT_THAT(fake.rcpts,
              ElementsAre("bob@example.com", "carol@example.org", std::string("dave@") + kGateway));
}

TEST_F(SessionToGatewayTest, AddressLiteralsAndBadNamesAreNeverTheInternet) {
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@[127.0.0.1]>\r\n" +
         "RCPT TO:<bob@localhost>\r\nRCPT TO:<bob@-x.example>\r\n" +
         "RCPT TO:<bob@x.expyuzz4wqqyqhjn.onion>\r\n");
  // -x.example is no domain at all: the address parser's 501.
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550, 550, 501, 550));
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionToGatewayTest, WithoutALoginOrAsAnotherSenderItIsRelayDenied) {
  RunTls("MAIL FROM:<x@elsewhere.example>\r\nRCPT TO:<bob@example.com>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_EQ(Last(), "550 5.7.1 Relaying denied\r\n");
  EXPECT_TRUE(fake.begins.empty());
}

class SessionSmarthostTest : public SessionExitBase {
 protected:
  SessionSmarthostTest() {
    relay = &fake;
    vmat = &senders;
    cfg.exit_domain = "mx.example.org";
    cfg.exit_to_internet = true;
    senders.senders["alice@example.onion"] = "alice.a@mx.example.org";
  }
  FakeRelayBackend fake;
  FakeSenders senders;
};

TEST_F(SessionSmarthostTest, AUsersMailLeavesUnderTheAliasWithTheHeaderRewritten) {
  RunTls(Auth() +
         "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
         "From: Alice <alice@example.onion>\r\nMessage-ID: <1@example.onion>\r\n\r\n"
         "hi\r\n.\r\nQUIT\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250, 221));
  ASSERT_EQ(fake.begins.size(), 1u);
  EXPECT_EQ(fake.begins[0].domain, mail::kSmarthostDomain);
  EXPECT_EQ(fake.begins[0].reverse_path, "alice.a@mx.example.org");
  EXPECT_THAT(senders.asked, ElementsAre("alice@example.onion"));
  // The gateway's own trace field first (the exit domain, never the onion
  // nor a TKIM comment), then the rewritten header and the body.
  const size_t eol = fake.appended.find("\r\n");
  ASSERT_NE(eol, std::string::npos);
  const std::string trace = fake.appended.substr(0, eol);
  EXPECT_EQ(trace.rfind("Received: by mx.example.org (onionmaild) with ESMTPSA; ", 0), 0u) << trace;
  EXPECT_EQ(trace.find(".onion"), std::string::npos) << trace;
  EXPECT_EQ(fake.appended.substr(eol + 2),
            "From: Alice <alice.a@mx.example.org>\r\nMessage-ID: <1@mx.example.org>\r\n\r\nhi\r\n");
}

TEST_F(SessionSmarthostTest, AHeaderNamingAnOnionIs550AtTheDotAndTheSmarthostGetsNothing) {
  RunTls(Auth() +
         "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
         "From: alice@example.onion\r\nCc: carol@ccc.onion\r\n\r\nhi\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 550));
  EXPECT_EQ(Last().substr(0, 10), "550 5.7.1 ");
  EXPECT_EQ(fake.appended, "");
  EXPECT_EQ(fake.end_calls, 0);
  EXPECT_EQ(fake.destroyed_without_end, 1);
}

TEST_F(SessionSmarthostTest, ASenderWithoutAnAliasIs550NoExitAddress) {
  senders.senders.clear();
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@example.com>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550));
  EXPECT_EQ(Last().substr(0, 10), "550 5.7.1 ");
  EXPECT_NE(Last().find("no Internet address"), std::string::npos) << Last();
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionSmarthostTest, ALookupFaultIsTemporaryAndASealedServerSaysSo) {
  senders.error = ErrorCode::kUnavailable;
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@example.com>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 451));
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionSmarthostTest, ASenderThatIsNeitherLoggedInNorProvenIsRelayDenied) {
  RunTls(
      "MAIL FROM:<x@aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion>\r\n"
      "RCPT TO:<bob@example.com>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_TRUE(senders.asked.empty());
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionSmarthostTest, AnInternetClientNeverReachesTheSmarthost) {
  cfg.internet_client = true;
  RunTls("MAIL FROM:<x@internet.test>\r\nRCPT TO:<bob@example.com>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550));
  EXPECT_TRUE(senders.asked.empty());
  EXPECT_TRUE(fake.begins.empty());
}

}  // namespace
}  // namespace onionmail::smtp
