// Tests for mail::ValidLocalPart.
#include <gtest/gtest.h>

#include "mail/backend.h"

namespace onionmail::mail {
namespace {

TEST(ValidLocalPartTest, AcceptsLowerCaseNamesWithDotsDashesUnderscores) {
  EXPECT_TRUE(ValidLocalPart("bob"));
  EXPECT_TRUE(ValidLocalPart("a"));
  EXPECT_TRUE(ValidLocalPart("first.last-2_x"));
  EXPECT_TRUE(ValidLocalPart(std::string(64, 'a')));
}

TEST(ValidLocalPartTest, RejectsEmptyTooLongAndBadCharacters) {
  EXPECT_FALSE(ValidLocalPart(""));
  EXPECT_FALSE(ValidLocalPart(std::string(65, 'a')));
  EXPECT_FALSE(ValidLocalPart("Bob"));
  EXPECT_FALSE(ValidLocalPart("bob@x"));
  EXPECT_FALSE(ValidLocalPart("a/b"));
  EXPECT_FALSE(ValidLocalPart("a b"));
  EXPECT_FALSE(ValidLocalPart("a+b"));
  EXPECT_FALSE(ValidLocalPart(std::string("a\0b", 3)));
}

TEST(ValidLocalPartTest, RejectsLeadingTrailingAndDoubleDots) {
  EXPECT_FALSE(ValidLocalPart(".bob"));
  EXPECT_FALSE(ValidLocalPart("bob."));
  EXPECT_FALSE(ValidLocalPart("b..ob"));
  EXPECT_FALSE(ValidLocalPart("."));
  EXPECT_FALSE(ValidLocalPart(".."));
}

}  // namespace
}  // namespace onionmail::mail
