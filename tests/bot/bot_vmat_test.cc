// The server@ bot's VMAT command (bot/bot.h, bot/vmat.h): on an enter
// gateway, a user shows, makes or removes their own Internet address
// <user>@<exit domain> through one VmatService::Own() call; malformed forms
// get the usage without a call; the service's refusals are answered; off a
// gateway, or without the service, VMAT is an unknown command HELP does not
// list.
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

class FakeOwnVmat : public mail::VmatService {
 public:
  Result<std::string> Lookup(std::string_view) override {
    return MakeError(ErrorCode::kInternal, "not asked by the bot");
  }
  Result<std::string> SenderAddress(std::string_view) override {
    return MakeError(ErrorCode::kInternal, "not asked by the bot");
  }
  Result<void> Own(mail::VmatOwnOp op) override {
    ops.push_back(op);
    if (error) return *error;
    return Ok();
  }
  std::vector<mail::VmatOwnOp> ops;
  std::optional<Error> error;
};

Bot GatewayBot(FakeOwnVmat& fake, std::string exit_domain = "mail.example.org",
               bool exit_sends = false) {
  ServerFacts facts = TestFacts();
  facts.exit_domain = std::move(exit_domain);
  facts.exit_sends = exit_sends;
  return Bot(
      facts, AbcKey(), [] { return kFixedTime; }, nullptr, nullptr, nullptr, &fake);
}

TEST(BotVmatTest, OnShowOffEachMakeOneCallAndNameTheAddress) {
  FakeOwnVmat fake;
  Bot bot = GatewayBot(fake);
  std::string keyword;
  Reply on = AskOk(bot, ListSubject("vmat on"), &keyword);
  EXPECT_EQ(keyword, "VMAT");
  EXPECT_TRUE(HasText(on.body, "Your Internet address: alice@mail.example.org")) << on.body;
  Reply shown = AskOk(bot, ListSubject("VMAT"));
  EXPECT_TRUE(HasText(shown.body, "Your Internet address: alice@mail.example.org"));
  AskOk(bot, ListSubject("VMAT show"));
  Reply off = AskOk(bot, ListSubject("VMAT OFF"));
  EXPECT_TRUE(HasText(off.body, "alice@mail.example.org is removed")) << off.body;
  EXPECT_EQ(fake.ops,
            (std::vector<mail::VmatOwnOp>{mail::VmatOwnOp::kOn, mail::VmatOwnOp::kShow,
                                          mail::VmatOwnOp::kShow, mail::VmatOwnOp::kOff}));
}

TEST(BotVmatTest, TheAnswersSayWhetherMailToTheInternetLeavesFromTheAddress) {
  FakeOwnVmat fake;
  Bot receiving_only = GatewayBot(fake);
  EXPECT_TRUE(HasText(AskOk(receiving_only, ListSubject("VMAT HELP")).body,
                      "does not send mail to the Internet"));
  EXPECT_FALSE(HasText(AskOk(receiving_only, ListSubject("VMAT ON")).body, "leaves from it"));
  Bot sending = GatewayBot(fake, "mail.example.org", /*exit_sends=*/true);
  EXPECT_TRUE(HasText(AskOk(sending, ListSubject("VMAT HELP")).body,
                      "Mail you send to Internet addresses leaves from your Internet address"));
  Reply on = AskOk(sending, ListSubject("VMAT ON"));
  EXPECT_TRUE(HasText(on.body, "Mail you send to Internet addresses leaves from it.")) << on.body;
  EXPECT_FALSE(HasText(AskOk(sending, ListSubject("VMAT")).body, "leaves from it"));
}

TEST(BotVmatTest, RefusalsAreAnswered) {
  FakeOwnVmat fake;
  Bot bot = GatewayBot(fake);
  fake.error = MakeError(ErrorCode::kNotFound, "none");
  EXPECT_TRUE(HasText(AskOk(bot, ListSubject("VMAT")).body,
                      "You have no Internet address. VMAT ON makes alice@mail.example.org"));
  fake.error = MakeError(ErrorCode::kAlreadyExists, "taken");
  EXPECT_TRUE(HasText(AskOk(bot, ListSubject("VMAT ON")).body, "belongs to another mailbox"));
  fake.error = MakeError(ErrorCode::kInvalidArgument, "reserved");
  EXPECT_TRUE(HasText(AskOk(bot, ListSubject("VMAT ON")).body, "Your user name is reserved"));
  fake.error = MakeError(ErrorCode::kUnavailable, "key role gone");
  auto failed = bot.Answer("alice", "Subject: VMAT ON\r\n\r\n");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
}

TEST(BotVmatTest, MalformedFormsGetTheUsageWithoutACall) {
  FakeOwnVmat fake;
  Bot bot = GatewayBot(fake);
  for (const char* subject : {"VMAT YES", "VMAT ON OFF", "VMAT alice@mail.example.org"}) {
    Reply reply = AskOk(bot, ListSubject(subject));
    EXPECT_TRUE(HasText(reply.body, "VMAT ON     make it")) << subject;
  }
  EXPECT_TRUE(fake.ops.empty());
}

TEST(BotVmatTest, OffAGatewayOrWithoutTheServiceVmatIsUnknownAndNotInHelp) {
  FakeOwnVmat fake;
  Bot gateway = GatewayBot(fake);
  EXPECT_TRUE(HasText(AskOk(gateway, ListSubject("HELP")).body,
                      "VMAT    your Internet address <you>@mail.example.org"));
  Bot plain = GatewayBot(fake, "");
  std::string keyword;
  Reply reply = AskOk(plain, ListSubject("VMAT ON"), &keyword);
  EXPECT_EQ(keyword, "unknown");
  EXPECT_FALSE(HasText(reply.body, "VMAT"));
  ServerFacts facts = TestFacts();
  facts.exit_domain = "mail.example.org";
  Bot no_service(facts, AbcKey(), [] { return kFixedTime; });
  AskOk(no_service, ListSubject("VMAT ON"), &keyword);
  EXPECT_EQ(keyword, "unknown");
  EXPECT_TRUE(fake.ops.empty());
}

}  // namespace
}  // namespace onionmail::bot
