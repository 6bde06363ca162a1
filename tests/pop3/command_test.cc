#include "pop3/command.h"

#include <gtest/gtest.h>

namespace onionmail::pop3 {
namespace {

TEST(Pop3CommandTest, KeywordIsMatchedCaseInsensitively) {
  EXPECT_EQ(ParseCommand("stat").verb, Verb::kStat);
  EXPECT_EQ(ParseCommand("StLs").verb, Verb::kStls);
  EXPECT_EQ(ParseCommand("top 1 2").verb, Verb::kTop);
  EXPECT_EQ(ParseCommand("QUIT").verb, Verb::kQuit);
}

TEST(Pop3CommandTest, UnknownOrMangledKeywordIsUnknown) {
  EXPECT_EQ(ParseCommand("").verb, Verb::kUnknown);
  EXPECT_EQ(ParseCommand("APOP bob x").verb, Verb::kUnknown);
  EXPECT_EQ(ParseCommand("STATS").verb, Verb::kUnknown);
  EXPECT_EQ(ParseCommand(" STAT").verb, Verb::kUnknown);
  EXPECT_EQ(ParseCommand(std::string_view("STA\0T", 5)).verb, Verb::kUnknown);
}

TEST(Pop3CommandTest, ArgumentsAreSplitOnSpaces) {
  Command c = ParseCommand("TOP 3  10");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0], "3");
  EXPECT_EQ(c.args[1], "10");
  EXPECT_TRUE(ParseCommand("LIST").args.empty());
  EXPECT_TRUE(ParseCommand("LIST ").args.empty());
}

TEST(Pop3CommandTest, RestKeepsThePasswordVerbatimIncludingSpaces) {
  std::string line = "PASS  my secret pw ";
  Command c = ParseCommand(line);
  EXPECT_EQ(c.verb, Verb::kPass);
  EXPECT_EQ(c.rest, " my secret pw ");
  // Views point into the caller's buffer (so the line can be wiped).
  EXPECT_GE(c.rest.data(), line.data());
  EXPECT_LE(c.rest.data() + c.rest.size(), line.data() + line.size());
}

TEST(Pop3CommandTest, ParseNumberAcceptsOnlyPlainDecimal) {
  EXPECT_EQ(ParseNumber("1"), 1u);
  EXPECT_EQ(ParseNumber("0"), 0u);
  EXPECT_EQ(ParseNumber("0042"), 42u);
  EXPECT_EQ(ParseNumber("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseNumber("").has_value());
  EXPECT_FALSE(ParseNumber("-1").has_value());
  EXPECT_FALSE(ParseNumber("+1").has_value());
  EXPECT_FALSE(ParseNumber("abc").has_value());
  EXPECT_FALSE(ParseNumber("1a").has_value());
  EXPECT_FALSE(ParseNumber(" 1").has_value());
  EXPECT_FALSE(ParseNumber("0x10").has_value());
  EXPECT_FALSE(ParseNumber("18446744073709551616").has_value());
}

TEST(Pop3CommandTest, UserNamesAreLowerCasedAndValidated) {
  EXPECT_EQ(NormalizeUserName("Bob"), "bob");
  EXPECT_EQ(NormalizeUserName("a.b-c_9"), "a.b-c_9");
  EXPECT_EQ(NormalizeUserName(std::string(64, 'x')), std::string(64, 'x'));
  EXPECT_FALSE(NormalizeUserName("").has_value());
  EXPECT_FALSE(NormalizeUserName(std::string(65, 'x')).has_value());
  EXPECT_FALSE(NormalizeUserName(".bob").has_value());
  EXPECT_FALSE(NormalizeUserName("bob.").has_value());
  EXPECT_FALSE(NormalizeUserName("b..ob").has_value());
  EXPECT_FALSE(NormalizeUserName("bob@host").has_value());
  EXPECT_FALSE(NormalizeUserName("bo b").has_value());
  EXPECT_FALSE(NormalizeUserName("../etc").has_value());
  EXPECT_FALSE(NormalizeUserName(std::string_view("bob\0", 4)).has_value());
}

TEST(Pop3CommandTest, EqualsIgnoreCaseComparesAsciiLetters) {
  EXPECT_TRUE(AsciiEqualsIgnoreCase("plain", "PLAIN"));
  EXPECT_FALSE(AsciiEqualsIgnoreCase("plain", "PLAINX"));
  EXPECT_FALSE(AsciiEqualsIgnoreCase("login", "PLAIN"));
}

}  // namespace
}  // namespace onionmail::pop3
