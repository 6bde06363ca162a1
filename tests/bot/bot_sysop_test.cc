// The server@ bot's sysop command (bot/bot.h, bot/sysop.h): VOUCHER [n]
// answers the sysop ([bot] sysop) with n new vouchers from the
// VoucherService and how to use them; for anyone else, or without a sysop or
// a service, it is an unknown command that HELP does not list; malformed
// counts get the usage text without a call; the service's refusal is said.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "bot/bot.h"
#include "mail/registration.h"
#include "tests/bot/bot_test_util.h"
#include "tests/bot/list_test_util.h"

namespace onionmail::bot {
namespace {

using testing::AbcKey;
using testing::AskOk;
using testing::BodyLines;
using testing::HasText;
using testing::kFixedTime;
using testing::ListSubject;
using testing::Reply;
using testing::TestFacts;

// Hands out "aaaa...a2", "aaaa...a3"... and records each count asked for.
class FakeVouchers : public mail::VoucherService {
 public:
  Result<std::vector<SecretBytes>> Issue(size_t count) override {
    counts.push_back(count);
    if (error) return *error;
    std::vector<SecretBytes> out;
    for (size_t i = 0; i < count; ++i) {
      std::string v(mail::kVoucherChars - 1, 'a');
      v += static_cast<char>('2' + i % 6);
      out.emplace_back(SecretAccess::Grant(), v);
    }
    return out;
  }
  std::vector<size_t> counts;
  std::optional<Error> error;
};

// A bot whose sysop is `sysop` ("alice", who AskOk asks as, by default).
Bot SysopBot(FakeVouchers& fake, std::string sysop = "alice", bool registration = true) {
  ServerFacts facts = TestFacts();
  facts.sysop = std::move(sysop);
  facts.registration = registration;
  return Bot(
      facts, AbcKey(), [] { return kFixedTime; }, nullptr, nullptr, &fake);
}

TEST(BotSysopTest, VoucherGivesTheSysopNewVouchersAndHowToUseThem) {
  FakeVouchers fake;
  Bot bot = SysopBot(fake);
  std::string keyword;
  Reply reply = AskOk(bot, ListSubject("voucher 3"), &keyword);
  EXPECT_EQ(keyword, "VOUCHER");
  EXPECT_EQ(fake.counts, std::vector<size_t>{3});
  std::vector<std::string> lines = BodyLines(reply.body);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "3 new vouchers for exampleonionaddress.onion:");
  EXPECT_EQ(lines[2], "  aaaaaaaaaaaaaaaaaaa2");
  EXPECT_EQ(lines[3], "  aaaaaaaaaaaaaaaaaaa3");
  EXPECT_EQ(lines[4], "  aaaaaaaaaaaaaaaaaaa4");
  EXPECT_TRUE(HasText(reply.body, "RQUS <voucher> <name>"));
  EXPECT_TRUE(HasText(reply.body, "privately: it is\r\na secret"));
  EXPECT_TRUE(HasText(reply.body, "onionmailctl voucher clear"));
  EXPECT_FALSE(HasText(reply.body, "Registration is off"));
  // No count is one.
  Reply one = AskOk(bot, ListSubject("VOUCHER"));
  EXPECT_EQ(BodyLines(one.body).at(0), "1 new voucher for exampleonionaddress.onion:");
  EXPECT_EQ(fake.counts, (std::vector<size_t>{3, 1}));
}

TEST(BotSysopTest, WithRegistrationOffTheAnswerSaysTheVouchersWaitForIt) {
  FakeVouchers fake;
  Bot bot = SysopBot(fake, "alice", /*registration=*/false);
  Reply reply = AskOk(bot, ListSubject("VOUCHER 1"));
  EXPECT_TRUE(HasText(reply.body, "Registration is off on this server"));
}

TEST(BotSysopTest, AnyoneButTheSysopIsNotToldTheCommandExists) {
  FakeVouchers fake;
  for (const char* sysop : {"bob", ""}) {
    Bot bot = SysopBot(fake, sysop);
    std::string keyword;
    Reply reply = AskOk(bot, ListSubject("VOUCHER 2"), &keyword);
    EXPECT_EQ(keyword, "unknown") << sysop;
    EXPECT_FALSE(HasText(reply.body, "VOUCHER")) << sysop;
    EXPECT_FALSE(HasText(AskOk(bot, ListSubject("HELP")).body, "VOUCHER")) << sysop;
  }
  // Without a service, even the sysop.
  ServerFacts facts = TestFacts();
  facts.sysop = "alice";
  Bot no_service(facts, AbcKey(), [] { return kFixedTime; });
  std::string keyword;
  (void)AskOk(no_service, ListSubject("VOUCHER"), &keyword);
  EXPECT_EQ(keyword, "unknown");
  EXPECT_TRUE(fake.counts.empty());
  // The sysop's HELP lists it.
  Bot bot = SysopBot(fake);
  EXPECT_TRUE(HasText(AskOk(bot, ListSubject("HELP")).body, "VOUCHER for you, the sysop"));
}

TEST(BotSysopTest, AMalformedCountGetsTheUsageWithoutACall) {
  FakeVouchers fake;
  Bot bot = SysopBot(fake);
  for (const char* subject : {"VOUCHER 0", "VOUCHER 11", "VOUCHER 100", "VOUCHER two",
                              "VOUCHER 2 3", "VOUCHER -1", "VOUCHER 1x"}) {
    std::string keyword;
    Reply reply = AskOk(bot, ListSubject(subject), &keyword);
    EXPECT_EQ(keyword, "VOUCHER") << subject;
    EXPECT_EQ(BodyLines(reply.body).at(0),
              "VOUCHER makes one-time registration vouchers: each opens one account on")
        << subject;
  }
  EXPECT_TRUE(fake.counts.empty());
}

TEST(BotSysopTest, TheServicesRefusalIsSaidAndAFaultFailsTheAnswer) {
  FakeVouchers fake;
  Bot bot = SysopBot(fake);
  fake.error = Error{ErrorCode::kPermissionDenied, "past the limit"};
  Reply refused = AskOk(bot, ListSubject("VOUCHER 4"));
  EXPECT_EQ(BodyLines(refused.body).at(0),
            "No voucher was made: at most 10 are made on one connection, and only for the");
  fake.error = Error{ErrorCode::kUnavailable, "key store"};
  auto failed = bot.Answer("alice", ListSubject("VOUCHER 4"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace onionmail::bot
