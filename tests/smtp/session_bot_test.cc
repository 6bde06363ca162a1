// server@ in the SMTP session (session.h, "server@"): only a logged-in user
// writing as themselves reaches the bot, as the one recipient of the
// transaction; the request reaches the bot unchanged; its answer is stored in
// the user's own mailbox with a null reverse path before the 250; every
// failure stores nothing.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "smtp/session.h"
#include "tests/smtp/fake_relay.h"
#include "tests/smtp/session_fixture.h"

namespace onionmail::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kRemote[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

struct FakeBot : mail::BotService {
  struct Call {
    std::string user;
    std::string request;
  };
  Result<mail::BotAnswer> Answer(std::string_view user, std::string_view request) override {
    calls.push_back({std::string(user), std::string(request)});
    if (error) return MakeError(*error, "scripted");
    return mail::BotAnswer{keyword, message};
  }
  std::vector<Call> calls;
  std::optional<ErrorCode> error;
  std::string keyword = "IDENT";
  std::string message = "From: <server@example.onion>\r\nSubject: Re: IDENT\r\n\r\nServer\r\n";
};

const std::string kRequest = "Subject: IDENT\r\n\r\nhello\r\n";

class SessionBotTest : public SessionTest {
 protected:
  SessionBotTest() { bot = &service; }

  static std::string Auth(const std::string& user = "alice") {
    return "AUTH PLAIN " + Plain("", user, user + "-pw") + "\r\n";
  }
  // AUTH as alice, MAIL FROM her address, RCPT server@, DATA, `request`.
  void Ask(const std::string& request = kRequest) {
    RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<server@example.onion>\r\n" +
           "DATA\r\n" + request + ".\r\n");
  }
  void Reconnect() { conn = net::FakeConnection(); }
  FakeBot service;
};

TEST_F(SessionBotTest, LoggedInUserGetsTheAnswerInHerOwnMailboxBeforeThe250) {
  Ask();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_EQ(Last(), "250 2.0.0 Answered: the reply is in your mailbox\r\n");
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].user, "alice");
  EXPECT_EQ(service.calls[0].request, kRequest);
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_EQ(backend.delivered[0].envelope.reverse_path, "");
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice"));
  EXPECT_EQ(backend.delivered[0].bytes, "Return-Path: <>\r\n" + service.message);
  EXPECT_TRUE(backend.checked.empty()) << "server@ is not a mailbox";
}

TEST_F(SessionBotTest, ServerAddressIsMatchedWithoutRegardToCase) {
  RunTls(Auth() + "MAIL FROM:<Alice@Example.Onion>\r\nRCPT TO:<SERVER@EXAMPLE.ONION>\r\n" +
         "DATA\r\n" + kRequest + ".\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].user, "alice");
}

TEST_F(SessionBotTest, UnauthenticatedSenderIsRefusedWith550AndTheBotIsNotCalled) {
  RunTls("MAIL FROM:<carol@elsewhere.onion>\r\nRCPT TO:<server@example.onion>\r\nDATA\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(250, 550, 503));
  EXPECT_EQ(replies[5],
            "550 5.7.1 server@ answers only users of this server, logged in and sending as "
            "themselves\r\n");
  EXPECT_TRUE(service.calls.empty());
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionBotTest, LoggedInUserWithNullOrForeignSenderIsRefusedWith550) {
  RunTls(Auth() + "MAIL FROM:<>\r\nRCPT TO:<server@example.onion>\r\nRSET\r\n" +
         "MAIL FROM:<alice@elsewhere.onion>\r\nRCPT TO:<server@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550, 250, 250, 550));
  EXPECT_TRUE(service.calls.empty());
}

TEST_F(SessionBotTest, ServerWithAnotherLocalRecipientIsRefusedWith452EitherWay) {
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<bob@example.onion>\r\n" +
         "RCPT TO:<server@example.onion>\r\nRSET\r\n" +
         "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<server@example.onion>\r\n" +
         "RCPT TO:<bob@example.onion>\r\nDATA\r\n" + kRequest + ".\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 452, 250, 250, 250, 452, 354, 250));
  EXPECT_EQ(replies[7].substr(0, 10), "452 4.5.3 ");
  ASSERT_EQ(service.calls.size(), 1u);
  ASSERT_EQ(backend.delivered.size(), 1u);
  EXPECT_THAT(backend.delivered[0].envelope.local_parts, ElementsAre("alice"));
}

TEST_F(SessionBotTest, RemoteRecipientAfterServerIsRefusedWith452) {
  FakeRelayBackend fake;
  relay = &fake;
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<server@example.onion>\r\n" +
         "RCPT TO:<bob@" + kRemote + ">\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 452));
  EXPECT_TRUE(fake.begins.empty());
}

TEST_F(SessionBotTest, RepeatedServerRecipientIsOneRequest) {
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<server@example.onion>\r\n" +
         "RCPT TO:<server@example.onion>\r\nDATA\r\n" + kRequest + ".\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 250, 354, 250));
  EXPECT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(backend.delivered.size(), 1u);
}

TEST_F(SessionBotTest, WithoutABotServerIsAnOrdinaryLocalPart) {
  bot = nullptr;
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<server@example.onion>\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 550));
  EXPECT_EQ(Last(), "550 5.1.1 User unknown\r\n");
  EXPECT_THAT(backend.checked, ElementsAre("server"));
}

TEST_F(SessionBotTest, AutomaticRequestGets250AndStoresNothing) {
  service.keyword = "ignored";
  service.message.clear();
  Ask();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250));
  EXPECT_EQ(Last(), "250 2.0.0 Ignored: automatic messages get no answer\r\n");
  EXPECT_EQ(backend.begun, 0);
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionBotTest, BotFailureIs451AndStoresNothing) {
  service.error = ErrorCode::kUnavailable;
  Ask();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 451));
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionBotTest, FailedDeliveryOfTheAnswerIs451AndLeavesNothing) {
  backend.fail_commit = true;
  Ask();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 451));
  EXPECT_TRUE(backend.delivered.empty());
  EXPECT_EQ(backend.abandoned, 1);
  backend.fail_commit = false;
  backend.fail_begin = true;
  Reconnect();
  Ask();
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 451));
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionBotTest, RequestOverTheBotLimitIs552AndTheBotIsNotCalled) {
  std::string big = "Subject: IDENT\r\n\r\n";
  while (big.size() <= mail::kMaxBotRequestBytes) big += std::string(900, 'x') + "\r\n";
  Ask(big);
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 552));
  EXPECT_TRUE(service.calls.empty());
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionBotTest, RequestOverTheHopLimitIs554AndTheBotIsNotCalled) {
  cfg.max_received_headers = 1;
  Ask("Received: a\r\nReceived: b\r\nSubject: RULEZ\r\n\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 554));
  EXPECT_THAT(Last(), HasSubstr("5.4.6"));
  EXPECT_TRUE(service.calls.empty());
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionBotTest, DotStuffedRequestReachesTheBotUnstuffed) {
  Ask("Subject: RULEZ\r\n\r\n..line\r\n");
  ASSERT_EQ(service.calls.size(), 1u);
  EXPECT_EQ(service.calls[0].request, "Subject: RULEZ\r\n\r\n.line\r\n");
}

TEST_F(SessionBotTest, BareLfInRequestClosesWith521AndCallsNoBot) {
  Ask("Subject: IDENT\n\r\n");
  EXPECT_EQ(Last().substr(0, 3), "521");
  EXPECT_TRUE(service.calls.empty());
  EXPECT_TRUE(backend.delivered.empty());
}

TEST_F(SessionBotTest, SessionGoesOnAfterAnAnswer) {
  RunTls(Auth() + "MAIL FROM:<alice@example.onion>\r\nRCPT TO:<server@example.onion>\r\n" +
         "DATA\r\n" + kRequest + ".\r\nMAIL FROM:<alice@example.onion>\r\n" +
         "RCPT TO:<bob@example.onion>\r\nDATA\r\nSubject: hi\r\n\r\nhi\r\n.\r\n");
  EXPECT_THAT(CodesAfterTls(), ElementsAre(235, 250, 250, 354, 250, 250, 250, 354, 250));
  ASSERT_EQ(backend.delivered.size(), 2u);
  EXPECT_THAT(backend.delivered[1].envelope.local_parts, ElementsAre("bob"));
}

}  // namespace
}  // namespace onionmail::smtp
