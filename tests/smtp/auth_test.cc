#include "smtp/auth.h"

#include <gtest/gtest.h>

#include "tests/net/fake_connection.h"

namespace onionmail::smtp {
namespace {

std::string Decoded(std::string_view in) {
  auto r = DecodeBase64(in);
  EXPECT_TRUE(r.ok()) << in;
  if (!r.ok()) return "<error>";
  return std::string(r->RevealString(SecretAccess::Grant()));
}

TEST(DecodeBase64Test, DecodesValidInput) {
  EXPECT_EQ(Decoded(""), "");
  EXPECT_EQ(Decoded("YQ=="), "a");
  EXPECT_EQ(Decoded("YWI="), "ab");
  EXPECT_EQ(Decoded("YWJj"), "abc");
  EXPECT_EQ(Decoded("AGFsaWNlAHB3"), std::string("\0alice\0pw", 9));
  EXPECT_EQ(Decoded("+/+/"), "\xfb\xff\xbf");
}

TEST(DecodeBase64Test, RejectsInvalidInput) {
  for (const char* bad : {"Y", "YQ", "YQ=", "YQ===", "=YQ=", "Y=Q=", "YW J", "YWJj\r", "****",
                          "YR==", "YWJ=YWJj", "YWJ-", "YWJ_", "===="}) {
    EXPECT_FALSE(DecodeBase64(bad).ok()) << bad;
  }
}

TEST(ParsePlainMessageTest, SplitsAndNormalises) {
  SecretBytes m(SecretAccess::Grant(), std::string_view("\0Alice@EXAMPLE.onion\0s3cret", 27));
  auto c = ParsePlainMessage(m, "example.onion");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password.RevealString(SecretAccess::Grant()), "s3cret");
}

TEST(ParsePlainMessageTest, RejectsMalformedMessages) {
  auto parse = [](std::string_view s) {
    return ParsePlainMessage(SecretBytes(SecretAccess::Grant(), s), "example.onion");
  };
  EXPECT_FALSE(parse(std::string_view("alice\0pw", 8)).ok());
  EXPECT_FALSE(parse(std::string_view("\0\0pw", 4)).ok());
  EXPECT_FALSE(parse(std::string_view("\0alice\0", 7)).ok());
  EXPECT_FALSE(parse(std::string_view("\0alice\0p\0w", 10)).ok());
  auto other = parse(std::string_view("bob\0alice\0pw", 12));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(parse(std::string_view("ALICE\0alice\0pw", 14)).ok());
}

TEST(RunAuthExchangeTest, LoginPromptsForUserAndPassword) {
  net::FakeConnection conn("YWxpY2U=\r\ncHc=\r\n");
  auto out = RunAuthExchange(conn, "LOGIN", 100, "example.onion");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, AuthOutcome::Kind::kCredentials);
  EXPECT_EQ(out->credentials.user, "alice");
  EXPECT_EQ(out->credentials.password.RevealString(SecretAccess::Grant()), "pw");
  EXPECT_EQ(conn.Output(), "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n");
}

TEST(RunAuthExchangeTest, EqualsSignIsAnEmptyInitialResponse) {
  net::FakeConnection conn;
  auto out = RunAuthExchange(conn, "PLAIN =", 100, "example.onion");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, AuthOutcome::Kind::kFailed);
  EXPECT_EQ(conn.Output(), "");
}

TEST(RunAuthExchangeTest, OverlongContinuationClosesTheSession) {
  net::FakeConnection conn(std::string(300, 'A') + "\r\n");
  auto out = RunAuthExchange(conn, "PLAIN", 100, "example.onion");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, AuthOutcome::Kind::kLineTooLong);
}

TEST(RunAuthExchangeTest, MechanismNameIsCaseInsensitive) {
  net::FakeConnection conn;
  auto out = RunAuthExchange(conn, "plain AGFsaWNlAHB3", 100, "example.onion");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, AuthOutcome::Kind::kCredentials);
}

TEST(RunAuthExchangeTest, PeerGoneMidExchangeIsAnError) {
  net::FakeConnection conn;
  auto out = RunAuthExchange(conn, "LOGIN", 100, "example.onion");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace onionmail::smtp
