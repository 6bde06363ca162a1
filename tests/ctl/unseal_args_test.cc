#include "ctl/unseal_args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace onionmail::ctl {
namespace {

const std::string kPin = std::string(64, 'a');
const std::string kPinUpper = "0123456789ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef";

TEST(ParsePeerSpecTest, AddressAndPinAreSplitAtTheLastEquals) {
  auto spec = ParsePeerSpec("127.0.0.1:2525=" + kPinUpper);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->address, "127.0.0.1:2525");
  EXPECT_EQ(spec->pin[0], 0x01);
  EXPECT_EQ(spec->pin[7], 0xef);
  EXPECT_EQ(spec->pin[31], 0xef);
}

TEST(ParsePeerSpecTest, OnionAndBracketedIpv6AddressesAreAccepted) {
  EXPECT_TRUE(
      ParsePeerSpec("abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:25=" + kPin)
          .ok());
  auto v6 = ParsePeerSpec("[2001:db8::1]:25=" + kPin);
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->address, "[2001:db8::1]:25");
}

TEST(ParsePeerSpecTest, MalformedSpecsAreRefused) {
  for (const std::string& bad : std::vector<std::string>{
           "127.0.0.1:25",                               // no pin
           "127.0.0.1:25=" + kPin.substr(1),             // 63 digits
           "127.0.0.1:25=" + kPin + "00",                // 66 digits
           "127.0.0.1:25=" + std::string(64, 'g'),       // not hex
           "127.0.0.1=" + kPin,                          // no port
           ":25=" + kPin,                                // no host
           "127.0.0.1:0=" + kPin,                        // port 0
           "127.0.0.1:65536=" + kPin,                    // port too large
           "127.0.0.1:2x=" + kPin,                       // port not a number
           "2001:db8::1:25=" + kPin,                     // IPv6 without brackets
           "[2001:db8::1]25=" + kPin,                    // no colon after ]
           "bad host:25=" + kPin,                        // space
           "=" + kPin,                                   // empty address
           std::string(250, 'a') + ".onion:25=" + kPin,  // address over 255 bytes
       }) {
    EXPECT_FALSE(ParsePeerSpec(bad).ok()) << bad;
    EXPECT_EQ(ParsePeerSpec(bad).error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(ParsePeerSpecsTest, TheSameAddressTwiceIsRefused) {
  auto specs = ParsePeerSpecs({"127.0.0.1:1=" + kPin, "127.0.0.1:2=" + kPin});
  ASSERT_TRUE(specs.ok());
  EXPECT_EQ(specs->size(), 2u);
  EXPECT_FALSE(ParsePeerSpecs({"127.0.0.1:1=" + kPin, "127.0.0.1:1=" + kPinUpper}).ok());
}

TEST(ParseCommandLineTest, RepeatedOptionsKeepEveryValueInOrder) {
  std::vector<std::string> args = {"enrol",       "--peer", "a:1=x", "--config",
                                   "/etc/o.toml", "--peer", "b:2=y", "--re-enrol"};
  auto cl = ParseCommandLine(args, {"--peer"}, {"--re-enrol"});
  ASSERT_TRUE(cl.ok()) << cl.error().message;
  EXPECT_EQ(cl->config_path, "/etc/o.toml");
  EXPECT_EQ(cl->positional, std::vector<std::string>{"enrol"});
  EXPECT_EQ(cl->All("--peer"), (std::vector<std::string>{"a:1=x", "b:2=y"}));
  EXPECT_TRUE(cl->Has("--re-enrol"));
  EXPECT_FALSE(cl->One("--peer").ok());  // given twice
}

TEST(ParseCommandLineTest, UnknownOptionsAndMissingValuesAreRefused) {
  std::vector<std::string> unknown = {"kctl", "--bogus"};
  EXPECT_FALSE(ParseCommandLine(unknown, {"--key"}, {}).ok());
  std::vector<std::string> missing = {"kctl", "--key"};
  EXPECT_FALSE(ParseCommandLine(missing, {"--key"}, {}).ok());
}

TEST(ParseUnsignedTest, RangeAndDigitsAreEnforced) {
  EXPECT_EQ(*ParseUnsigned("202601311200", 1, UINT64_MAX, "serial"), 202601311200u);
  EXPECT_EQ(*ParseUnsigned("18446744073709551615", 1, UINT64_MAX, "serial"), UINT64_MAX);
  EXPECT_FALSE(ParseUnsigned("18446744073709551616", 1, UINT64_MAX, "serial").ok());
  EXPECT_FALSE(ParseUnsigned("0", 1, 10, "x").ok());
  EXPECT_FALSE(ParseUnsigned("11", 1, 10, "x").ok());
  EXPECT_FALSE(ParseUnsigned("-1", 0, 10, "x").ok());
  EXPECT_FALSE(ParseUnsigned("+1", 0, 10, "x").ok());
  EXPECT_FALSE(ParseUnsigned("", 0, 10, "x").ok());
  EXPECT_FALSE(ParseUnsigned("1 ", 0, 10, "x").ok());
}

TEST(ParseRecoverySplitTest, AcceptsTwoToThirtyTwoWithTNotAboveN) {
  auto split = ParseRecoverySplit("3/5");
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->t, 3);
  EXPECT_EQ(split->n, 5);
  EXPECT_TRUE(ParseRecoverySplit("32/32").ok());
  for (const char* bad : {"1/3", "4/3", "2/33", "3", "3/", "/3", "a/b"}) {
    EXPECT_FALSE(ParseRecoverySplit(bad).ok()) << bad;
  }
}

KctlOrder Order(unseal::KctlAction action) {
  KctlOrder order;
  order.server_id.fill(0x5c);
  order.action = action;
  order.serial = 202601311200;
  return order;
}

constexpr uint64_t kNow = 1767225600;

TEST(BuildKctlOrderTest, ValidityStartsFiveMinutesAgoForTheGivenHours) {
  KctlOrder order = Order(unseal::KctlAction::kDisable);
  order.valid_hours = 48;
  auto cert = BuildKctlOrder(order, kNow);
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  EXPECT_EQ(cert->not_before, kNow - 300);
  EXPECT_EQ(cert->not_after, kNow - 300 + 48 * 3600);
  EXPECT_EQ(cert->serial, 202601311200u);
  EXPECT_EQ(cert->credits, 0u);
  EXPECT_EQ(cert->server_id, order.server_id);
}

TEST(BuildKctlOrderTest, DefaultIsOneDayAndTheLongestWindowIsThirtyDays) {
  auto def = BuildKctlOrder(Order(unseal::KctlAction::kEnable), kNow);
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->not_after - def->not_before, 24u * 3600);
  KctlOrder longest = Order(unseal::KctlAction::kEnable);
  longest.valid_hours = 720;
  auto cert = BuildKctlOrder(longest, kNow);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->not_after - cert->not_before, unseal::kKctlMaxWindowSeconds);
  longest.valid_hours = 721;
  EXPECT_FALSE(BuildKctlOrder(longest, kNow).ok());
  longest.valid_hours = 0;
  EXPECT_FALSE(BuildKctlOrder(longest, kNow).ok());
}

TEST(BuildKctlOrderTest, SerialZeroIsRefused) {
  KctlOrder order = Order(unseal::KctlAction::kDestroy);
  order.serial = 0;
  EXPECT_FALSE(BuildKctlOrder(order, kNow).ok());
}

TEST(BuildKctlOrderTest, CreditsGoWithResetCreditsOnly) {
  KctlOrder reset = Order(unseal::KctlAction::kResetCredits);
  EXPECT_FALSE(BuildKctlOrder(reset, kNow).ok());  // credits missing
  reset.credits = 500;
  auto cert = BuildKctlOrder(reset, kNow);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->credits, 500u);
  reset.credits = uint64_t{UINT32_MAX} + 1;
  EXPECT_FALSE(BuildKctlOrder(reset, kNow).ok());
  KctlOrder disable = Order(unseal::KctlAction::kDisable);
  disable.credits = 5;
  EXPECT_FALSE(BuildKctlOrder(disable, kNow).ok());
}

TEST(BuildKctlOrderTest, TheOrderSignsAndParsesBack) {
  auto key = unseal::GenerateKctlKey();
  ASSERT_TRUE(key.ok());
  auto cert = BuildKctlOrder(Order(unseal::KctlAction::kDisable), kNow);
  ASSERT_TRUE(cert.ok());
  auto signed_cert = unseal::SignKctl(key->seed, *cert);
  ASSERT_TRUE(signed_cert.ok());
  auto wire = unseal::EncodeKctl(*signed_cert);
  ASSERT_TRUE(wire.ok());
  auto parsed = unseal::ParseKctl(*wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(unseal::VerifyKctl(*parsed, key->pub, kNow, 0).ok());
}

TEST(BuildKctlOrderTest, QueryHasSerialZeroAndATenMinuteWindowStartingAMinuteAgo) {
  KctlOrder query = Order(unseal::KctlAction::kQuery);
  query.serial = 0;
  auto cert = BuildKctlOrder(query, kNow);
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  EXPECT_EQ(cert->action, unseal::KctlAction::kQuery);
  EXPECT_EQ(cert->serial, 0u);
  EXPECT_EQ(cert->credits, 0u);
  EXPECT_EQ(cert->not_before, kNow - 60);
  EXPECT_EQ(cert->not_after, kNow - 60 + 600);
  EXPECT_LE(cert->not_after - cert->not_before, unseal::kKctlMaxQueryWindowSeconds);
  // It signs, and a peer's check accepts it whatever the last serial applied.
  auto key = unseal::GenerateKctlKey();
  ASSERT_TRUE(key.ok());
  auto signed_cert = unseal::SignKctl(key->seed, *cert);
  ASSERT_TRUE(signed_cert.ok()) << signed_cert.error().message;
  auto wire = unseal::EncodeKctl(*signed_cert);
  ASSERT_TRUE(wire.ok());
  auto parsed = unseal::ParseKctl(*wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(unseal::VerifyKctl(*parsed, key->pub, kNow, 202601311200).ok());
}

TEST(BuildKctlOrderTest, QueryRefusesASerialCreditsAndAnyValidity) {
  KctlOrder query = Order(unseal::KctlAction::kQuery);  // serial 202601311200
  auto with_serial = BuildKctlOrder(query, kNow);
  ASSERT_FALSE(with_serial.ok());
  EXPECT_NE(with_serial.error().message.find("serial"), std::string::npos);
  query.serial = 0;
  query.credits = 5;
  EXPECT_FALSE(BuildKctlOrder(query, kNow).ok());
  query.credits.reset();
  for (uint64_t hours : {0, 1, 24, 720}) {
    query.valid_hours = hours;
    auto r = BuildKctlOrder(query, kNow);
    ASSERT_FALSE(r.ok()) << hours;
    EXPECT_NE(r.error().message.find("--valid-hours"), std::string::npos);
  }
  query.valid_hours.reset();
  EXPECT_TRUE(BuildKctlOrder(query, kNow).ok());
}

TEST(ParseKctlActionTest, NamesRoundTrip) {
  for (auto a : {unseal::KctlAction::kDisable, unseal::KctlAction::kEnable,
                 unseal::KctlAction::kResetCredits, unseal::KctlAction::kDestroy,
                 unseal::KctlAction::kQuery}) {
    auto parsed = ParseKctlAction(KctlActionName(a));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, a);
  }
  EXPECT_FALSE(ParseKctlAction("Disable").ok());
  EXPECT_FALSE(ParseKctlAction("reset").ok());
}

// u8 advanced || u8 flags || u32 credits || u64 answered || u64 last answer.
std::vector<uint8_t> Reply(uint8_t advanced, uint8_t flags, uint32_t credits, uint64_t answered,
                           uint64_t last) {
  std::vector<uint8_t> out = {advanced, flags};
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(credits >> s));
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(answered >> s));
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(last >> s));
  return out;
}

TEST(ParseKctlReplyTest, DecodesFlagsAndBigEndianCounters) {
  std::vector<uint8_t> reply = {1,    0x03, 0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13, 0x14,
                                0x15, 0x16, 0x17, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27};
  ASSERT_EQ(reply.size(), kKctlReplySize);
  auto r = ParseKctlReply(reply);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->advanced);
  EXPECT_TRUE(r->disabled);
  EXPECT_TRUE(r->destroyed);
  EXPECT_EQ(r->credits_left, 0x00010203u);
  EXPECT_EQ(r->answered_total, 0x1011121314151617u);
  EXPECT_EQ(r->last_answer_unix, 0x2021222324252627u);
  auto same = ParseKctlReply(Reply(0, 0, 1000, 0, 0));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->advanced);
  EXPECT_FALSE(same->disabled);
  EXPECT_FALSE(same->destroyed);
  EXPECT_EQ(same->credits_left, 1000u);
  EXPECT_EQ(same->answered_total, 0u);
  EXPECT_EQ(same->last_answer_unix, 0u);
}

TEST(ParseKctlReplyTest, WrongLengthOrReservedBitsAreRefused) {
  std::vector<uint8_t> good = Reply(1, 1, 5, 2, kNow);
  ASSERT_TRUE(ParseKctlReply(good).ok());
  // The old 6-byte reply, one byte short, one byte long.
  EXPECT_FALSE(ParseKctlReply(std::vector<uint8_t>(good.begin(), good.begin() + 6)).ok());
  EXPECT_FALSE(ParseKctlReply(std::vector<uint8_t>(good.begin(), good.end() - 1)).ok());
  auto longer = good;
  longer.push_back(0);
  EXPECT_FALSE(ParseKctlReply(longer).ok());
  EXPECT_FALSE(ParseKctlReply(Reply(2, 0, 0, 0, 0)).ok());
  EXPECT_FALSE(ParseKctlReply(Reply(0, 4, 0, 0, 0)).ok());
  EXPECT_FALSE(ParseKctlReply(Reply(0, 0x80, 0, 0, 0)).ok());
}

TEST(DescribeKctlReplyTest, OrdersSayWhetherAppliedAndQueriesDoNot) {
  KctlReply r;
  r.advanced = true;
  r.disabled = true;
  r.credits_left = 997;
  r.answered_total = 3;
  r.last_answer_unix = 1769860800;  // 2026-01-31T12:00:00Z
  EXPECT_EQ(DescribeKctlReply(r, unseal::KctlAction::kDisable),
            "applied, disabled yes, destroyed no, credits left 997, answered total 3, "
            "last answer 2026-01-31T12:00:00Z");
  r.advanced = false;
  EXPECT_EQ(DescribeKctlReply(r, unseal::KctlAction::kDisable).substr(0, 17), "already applied, ");
  EXPECT_EQ(DescribeKctlReply(r, unseal::KctlAction::kQuery),
            "disabled yes, destroyed no, credits left 997, answered total 3, "
            "last answer 2026-01-31T12:00:00Z");
  KctlReply fresh;
  fresh.destroyed = true;
  EXPECT_EQ(DescribeKctlReply(fresh, unseal::KctlAction::kQuery),
            "disabled no, destroyed yes, credits left 0, answered total 0, last answer never");
}

TEST(UtcIso8601Test, FormatsUnixSecondsInUtc) {
  EXPECT_EQ(UtcIso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(UtcIso8601(1767225600), "2026-01-01T00:00:00Z");
  EXPECT_EQ(UtcIso8601(1767225599), "2025-12-31T23:59:59Z");
}

}  // namespace
}  // namespace onionmail::ctl
