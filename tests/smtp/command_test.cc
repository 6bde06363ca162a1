#include "smtp/command.h"

#include <gtest/gtest.h>

namespace onionmail::smtp {
namespace {

TEST(ParseCommandTest, VerbIsCaseInsensitiveAndArgumentIsKept) {
  Command c = ParseCommand("mAiL FROM:<a@b>");
  EXPECT_EQ(c.verb, Verb::kMail);
  EXPECT_EQ(c.arg, "FROM:<a@b>");
  EXPECT_EQ(ParseCommand("starttls").verb, Verb::kStartTls);
  EXPECT_EQ(ParseCommand("QUIT").arg, "");
}

TEST(ParseCommandTest, UnknownAndPrefixVerbsAreUnknown) {
  EXPECT_EQ(ParseCommand("MAILX FROM:<a@b>").verb, Verb::kUnknown);
  EXPECT_EQ(ParseCommand("MAI").verb, Verb::kUnknown);
  EXPECT_EQ(ParseCommand("").verb, Verb::kUnknown);
  EXPECT_EQ(ParseCommand(" NOOP").verb, Verb::kUnknown);
}

template <typename T>
const T& Value(const Parsed<T>& p) {
  EXPECT_TRUE(std::holds_alternative<T>(p));
  return std::get<T>(p);
}

template <typename T>
Reply Rejection(const Parsed<T>& p) {
  EXPECT_TRUE(std::holds_alternative<Reply>(p));
  return std::holds_alternative<Reply>(p) ? std::get<Reply>(p) : Reply::kOk;
}

TEST(ParseMailFromTest, PlainPath) {
  auto p = ParseMailFrom("FROM:<Carol@Remote.Onion>");
  ASSERT_TRUE(std::holds_alternative<MailFrom>(p));
  const MailFrom& m = std::get<MailFrom>(p);
  ASSERT_TRUE(m.sender.has_value());
  EXPECT_EQ(m.sender->local, "Carol");
  EXPECT_EQ(m.sender->domain, "Remote.Onion");
  EXPECT_FALSE(m.size.has_value());
}

TEST(ParseMailFromTest, NullSenderIsAllowed) {
  auto p = ParseMailFrom("FROM:<>");
  ASSERT_TRUE(std::holds_alternative<MailFrom>(p));
  EXPECT_FALSE(std::get<MailFrom>(p).sender.has_value());
}

TEST(ParseMailFromTest, KeywordIsCaseInsensitiveAndOneSpaceAfterColonIsTolerated) {
  EXPECT_TRUE(Value(ParseMailFrom("from: <a@b.onion>")).sender.has_value());
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:  <a@b.onion>")), Reply::kSyntaxError);
}

TEST(ParseMailFromTest, SourceRouteIsStripped) {
  auto m = Value(ParseMailFrom("FROM:<@relay.one,@relay.two:a@b.onion>"));
  ASSERT_TRUE(m.sender.has_value());
  EXPECT_EQ(m.sender->ToString(), "a@b.onion");
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<@relay.one,a@b.onion>")), Reply::kBadSenderSyntax);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<@:a@b.onion>")), Reply::kBadSenderSyntax);
}

TEST(ParseMailFromTest, SizeAndBodyParameters) {
  auto m = Value(ParseMailFrom("FROM:<a@b.onion> SIZE=12345 BODY=8BITMIME"));
  ASSERT_TRUE(m.size.has_value());
  EXPECT_EQ(*m.size, 12345u);
  EXPECT_TRUE(Value(ParseMailFrom("FROM:<a@b.onion> body=7bit")).sender.has_value());
  EXPECT_TRUE(Value(ParseMailFrom("FROM:<a@b.onion> AUTH=<>")).sender.has_value());
}

TEST(ParseMailFromTest, HugeSizeSaturates) {
  auto m = Value(ParseMailFrom("FROM:<a@b.onion> SIZE=99999999999999999999999999"));
  EXPECT_EQ(*m.size, UINT64_MAX);
}

TEST(ParseMailFromTest, BadParametersAreRejected) {
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a@b.onion> SIZE=")), Reply::kSyntaxError);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a@b.onion> SIZE=-1")), Reply::kSyntaxError);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a@b.onion> SIZE=1 SIZE=2")), Reply::kSyntaxError);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a@b.onion> BODY=BINARYMIME")), Reply::kSyntaxError);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a@b.onion> SMTPUTF8")), Reply::kUnknownParameter);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a@b.onion>SIZE=1")), Reply::kSyntaxError);
}

TEST(ParseMailFromTest, MalformedPathsAreRejected) {
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:a@b.onion")), Reply::kSyntaxError);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a@b.onion")), Reply::kSyntaxError);
  EXPECT_EQ(Rejection(ParseMailFrom("TO:<a@b.onion>")), Reply::kSyntaxError);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a>")), Reply::kBadSenderSyntax);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<\"a b\"@b.onion>")), Reply::kBadSenderSyntax);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a@b..onion>")), Reply::kBadSenderSyntax);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<a\x01@b.onion>")), Reply::kBadSenderSyntax);
  EXPECT_EQ(Rejection(ParseMailFrom("FROM:<\xc3\xa4@b.onion>")), Reply::kBadSenderSyntax);
}

TEST(ParseRcptToTest, PathAndBarePostmaster) {
  auto r = Value(ParseRcptTo("TO:<bob@example.onion>"));
  EXPECT_EQ(r.recipient.local, "bob");
  EXPECT_EQ(r.recipient.domain, "example.onion");
  EXPECT_FALSE(r.bare_postmaster);
  auto pm = Value(ParseRcptTo("to:<PostMaster>"));
  EXPECT_TRUE(pm.bare_postmaster);
  EXPECT_EQ(pm.recipient.local, "postmaster");
}

TEST(ParseRcptToTest, NullPathParametersAndBadSyntaxAreRejected) {
  EXPECT_EQ(Rejection(ParseRcptTo("TO:<>")), Reply::kBadAddressSyntax);
  EXPECT_EQ(Rejection(ParseRcptTo("TO:<bob@example.onion> NOTIFY=NEVER")),
            Reply::kUnknownParameter);
  EXPECT_EQ(Rejection(ParseRcptTo("TO:bob@example.onion")), Reply::kSyntaxError);
  EXPECT_EQ(Rejection(ParseRcptTo("TO:<bob>")), Reply::kBadAddressSyntax);
  EXPECT_EQ(Rejection(ParseRcptTo("TO:<../x@example.onion>")), Reply::kBadAddressSyntax);
}

}  // namespace
}  // namespace onionmail::smtp
