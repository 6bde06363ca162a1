// base/ascii.h: ASCII case folding leaves everything but 'A'..'Z' alone.
#include "base/ascii.h"

#include <gtest/gtest.h>

#include <string>

namespace onionmail {
namespace {

TEST(AsciiTest, OnlyAsciiCapitalsAreLowered) {
  EXPECT_EQ(AsciiLower("AbC-1.Z@"), "abc-1.z@");
  EXPECT_EQ(AsciiLower(std::string("\xc3\x89t\xc3\xa9")), "\xc3\x89t\xc3\xa9");  // UTF-8 untouched
  EXPECT_EQ(AsciiLower(std::string("[\\]^_`{")), "[\\]^_`{");  // the bytes around the letters
  EXPECT_EQ(AsciiLower(std::string(1, '\0')), std::string(1, '\0'));
  static_assert(AsciiLower('Q') == 'q' && AsciiLower('@') == '@' && AsciiLower('[') == '[');
}

TEST(AsciiTest, EqualsIgnoreCaseComparesWholeStringsOfTheSameLength) {
  EXPECT_TRUE(AsciiEqualsIgnoreCase("Example.ONION", "example.onion"));
  EXPECT_FALSE(AsciiEqualsIgnoreCase("example.onion", "example.onio"));
  EXPECT_FALSE(AsciiEqualsIgnoreCase("a", "b"));
  EXPECT_TRUE(AsciiEqualsIgnoreCase("", ""));
  EXPECT_FALSE(AsciiEqualsIgnoreCase("\xc3\x89", "\xc3\xa9"));  // not Unicode folding
  static_assert(AsciiEqualsIgnoreCase("QUIT", "quit"));
}

}  // namespace
}  // namespace onionmail
