// The server@ bot's VMAT command on a server with an exit gateway (bot/bot.h,
// bot/vmat.h AnswerGatewayVmat): VMAT [SHOW], VMAT ON [name], VMAT OFF each
// make one AskGateway() call for the user (ON: their own name unless one is
// given); a bad name or form gets the usage without a call; every error of
// the gateway has its text and the bot always answers; without an exit
// gateway or the service VMAT stays unknown; a gateway answers for itself.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "bot/bot.h"
#include "mail/vmat.h"
#include "tests/bot/bot_test_util.h"
#include "tests/bot/list_test_util.h"

namespace onionmail::bot {
namespace {

using testing::AbcKey;
using testing::AskOk;
using testing::HasText;
using testing::kFixedTime;
using testing::ListSubject;
using testing::Reply;
using testing::TestFacts;

constexpr char kGateway[] = "4dq6fy7e4xtop2hj5lv6z3po57ypd4xt6t27n57y7h5px7h57376fead.onion";

class FakeGateway : public mail::GatewayVmatService {
 public:
  struct Call {
    mail::VmatOwnOp op;
    std::string user;
    std::string alias;
  };
  Result<std::string> AskGateway(mail::VmatOwnOp op, std::string_view user,
                                 std::string_view alias) override {
    calls.push_back({op, std::string(user), std::string(alias)});
    if (error) return MakeError(*error, "scripted");
    return (alias.empty() ? std::string("alice.x") : std::string(alias)) + "@mail.example.org";
  }
  std::vector<Call> calls;
  std::optional<ErrorCode> error;
};

Bot AskingBot(FakeGateway& fake, std::string exit_gateway = kGateway) {
  ServerFacts facts = TestFacts();
  facts.exit_gateway = std::move(exit_gateway);
  return Bot(
      facts, AbcKey(), [] { return kFixedTime; }, nullptr, nullptr, nullptr, nullptr, &fake);
}

TEST(BotGatewayVmatTest, OnShowOffEachAskTheGatewayOnceForTheUser) {
  FakeGateway fake;
  Bot bot = AskingBot(fake);
  std::string keyword;
  Reply on = AskOk(bot, ListSubject("vmat on"), &keyword);
  EXPECT_EQ(keyword, "VMAT");
  EXPECT_TRUE(HasText(on.body, "Your Internet address: alice@mail.example.org")) << on.body;
  Reply named = AskOk(bot, ListSubject("VMAT ON Alice.Home"));
  EXPECT_TRUE(HasText(named.body, "Your Internet address: alice.home@mail.example.org"))
      << named.body;
  Reply shown = AskOk(bot, ListSubject("VMAT"));
  EXPECT_TRUE(HasText(shown.body, "Your Internet address: alice.x@mail.example.org"));
  Reply off = AskOk(bot, ListSubject("VMAT OFF"));
  EXPECT_TRUE(HasText(off.body, "alice.x@mail.example.org is removed")) << off.body;
  ASSERT_EQ(fake.calls.size(), 4u);
  EXPECT_EQ(fake.calls[0].op, mail::VmatOwnOp::kOn);
  EXPECT_EQ(fake.calls[0].user, "alice");
  EXPECT_EQ(fake.calls[0].alias, "alice");
  EXPECT_EQ(fake.calls[1].alias, "alice.home");
  EXPECT_EQ(fake.calls[2].op, mail::VmatOwnOp::kShow);
  EXPECT_EQ(fake.calls[2].alias, "");
  EXPECT_EQ(fake.calls[3].op, mail::VmatOwnOp::kOff);
}

TEST(BotGatewayVmatTest, ABadNameOrFormGetsTheUsageWithoutAskingTheGateway) {
  FakeGateway fake;
  Bot bot = AskingBot(fake);
  for (const char* subject : {"VMAT YES", "VMAT ON a b", "VMAT OFF now", "VMAT SHOW all",
                              "VMAT ON postmaster", "VMAT ON x..y", "VMAT ON team.list"}) {
    Reply reply = AskOk(bot, ListSubject(subject));
    EXPECT_TRUE(HasText(reply.body, "VMAT ON <name>   ask for <name>@")) << subject;
  }
  EXPECT_TRUE(fake.calls.empty());
}

TEST(BotGatewayVmatTest, EveryErrorOfTheGatewayHasItsText) {
  const std::vector<std::pair<ErrorCode, std::string>> expected = {
      {ErrorCode::kNotFound, "You have no Internet address at the gateway"},
      {ErrorCode::kAlreadyExists, "The name alice is taken at the gateway"},
      {ErrorCode::kFailedPrecondition, "You already have another Internet address"},
      {ErrorCode::kInvalidArgument, "The gateway refused the name alice"},
      {ErrorCode::kPermissionDenied, "The gateway gives no addresses to users of this server"},
      {ErrorCode::kUnauthenticated, "did not accept this server's proof"},
      {ErrorCode::kResourceExhausted, "no room for more addresses"},
      {ErrorCode::kUnavailable, "The gateway could not be reached"},
      {ErrorCode::kInternal, "The gateway could not be reached"},
  };
  for (const auto& [code, text] : expected) {
    FakeGateway fake;
    fake.error = code;
    Bot bot = AskingBot(fake);
    std::string keyword;
    Reply reply = AskOk(bot, ListSubject("VMAT ON"), &keyword);
    EXPECT_EQ(keyword, "VMAT");
    EXPECT_TRUE(HasText(reply.body, text)) << ErrorCodeName(code) << ": " << reply.body;
    EXPECT_EQ(fake.calls.size(), 1u);
  }
}

TEST(BotGatewayVmatTest, WithoutAnExitGatewayVmatIsUnknownAndHelpListsItOnlyWithOne) {
  FakeGateway fake;
  Bot asking = AskingBot(fake);
  EXPECT_TRUE(HasText(AskOk(asking, ListSubject("HELP")).body,
                      "VMAT    your Internet address at this server's exit gateway"));
  Bot plain = AskingBot(fake, "");
  std::string keyword;
  Reply reply = AskOk(plain, ListSubject("VMAT ON"), &keyword);
  EXPECT_EQ(keyword, "unknown");
  EXPECT_FALSE(HasText(reply.body, "VMAT"));
  ServerFacts facts = TestFacts();
  facts.exit_gateway = kGateway;
  Bot no_service(facts, AbcKey(), [] { return kFixedTime; });
  AskOk(no_service, ListSubject("VMAT ON"), &keyword);
  EXPECT_EQ(keyword, "unknown");
  // A gateway itself answers VMAT with its own table (bot_vmat_test.cc),
  // never by asking another one.
  facts.exit_domain = "mail.example.org";
  Bot gateway(
      facts, AbcKey(), [] { return kFixedTime; }, nullptr, nullptr, nullptr, nullptr, &fake);
  AskOk(gateway, ListSubject("VMAT ON"), &keyword);
  EXPECT_EQ(keyword, "unknown");
  EXPECT_TRUE(fake.calls.empty());
}

}  // namespace
}  // namespace onionmail::bot
