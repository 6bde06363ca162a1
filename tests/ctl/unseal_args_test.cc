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

TEST(ParseKctlActionTest, NamesRoundTrip) {
  for (auto a : {unseal::KctlAction::kDisable, unseal::KctlAction::kEnable,
                 unseal::KctlAction::kResetCredits, unseal::KctlAction::kDestroy}) {
    auto parsed = ParseKctlAction(KctlActionName(a));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, a);
  }
  EXPECT_FALSE(ParseKctlAction("Disable").ok());
  EXPECT_FALSE(ParseKctlAction("reset").ok());
}

TEST(ParseKctlReplyTest, DecodesFlagsAndBigEndianCredits) {
  std::vector<uint8_t> reply = {1, 0x03, 0x00, 0x01, 0x02, 0x03};
  auto r = ParseKctlReply(reply);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->advanced);
  EXPECT_TRUE(r->disabled);
  EXPECT_TRUE(r->destroyed);
  EXPECT_EQ(r->credits_left, 0x00010203u);
  auto same = ParseKctlReply(std::vector<uint8_t>{0, 0, 0, 0, 3, 0xe8});
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->advanced);
  EXPECT_FALSE(same->disabled);
  EXPECT_EQ(same->credits_left, 1000u);
}

TEST(ParseKctlReplyTest, WrongLengthOrReservedBitsAreRefused) {
  EXPECT_FALSE(ParseKctlReply(std::vector<uint8_t>{1, 0, 0, 0, 0}).ok());
  EXPECT_FALSE(ParseKctlReply(std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0}).ok());
  EXPECT_FALSE(ParseKctlReply(std::vector<uint8_t>{2, 0, 0, 0, 0, 0}).ok());
  EXPECT_FALSE(ParseKctlReply(std::vector<uint8_t>{0, 4, 0, 0, 0, 0}).ok());
}

}  // namespace
}  // namespace onionmail::ctl
