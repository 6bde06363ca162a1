#include "smtp/address.h"

#include <gtest/gtest.h>

namespace onionmail::smtp {
namespace {

TEST(IsValidLocalPartTest, AcceptsTheServerAlphabet) {
  EXPECT_TRUE(IsValidLocalPart("alice"));
  EXPECT_TRUE(IsValidLocalPart("a.b-c_d9"));
  EXPECT_TRUE(IsValidLocalPart(std::string(64, 'a')));
}

TEST(IsValidLocalPartTest, RejectsEverythingElse) {
  EXPECT_FALSE(IsValidLocalPart(""));
  EXPECT_FALSE(IsValidLocalPart(std::string(65, 'a')));
  EXPECT_FALSE(IsValidLocalPart("Alice"));
  EXPECT_FALSE(IsValidLocalPart(".alice"));
  EXPECT_FALSE(IsValidLocalPart("alice."));
  EXPECT_FALSE(IsValidLocalPart("a..b"));
  EXPECT_FALSE(IsValidLocalPart(".."));
  EXPECT_FALSE(IsValidLocalPart("a/b"));
  EXPECT_FALSE(IsValidLocalPart("a+b"));
  EXPECT_FALSE(IsValidLocalPart(std::string("a\0b", 3)));
}

TEST(ParsePathContentTest, SplitsOnTheLastAt) {
  auto a = ParsePathContent("x.y@Host-1.example.onion");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->local, "x.y");
  EXPECT_EQ(a->domain, "Host-1.example.onion");
}

TEST(ParsePathContentTest, AcceptsAddressLiteralsAndAtext) {
  EXPECT_TRUE(ParsePathContent("a+tag@[127.0.0.1]").has_value());
  EXPECT_TRUE(ParsePathContent("o'brien@x.onion").has_value());
}

TEST(ParsePathContentTest, RejectsBadAddresses) {
  EXPECT_FALSE(ParsePathContent("").has_value());
  EXPECT_FALSE(ParsePathContent("@x.onion").has_value());
  EXPECT_FALSE(ParsePathContent("a@").has_value());
  EXPECT_FALSE(ParsePathContent("a@@x.onion").has_value());
  EXPECT_FALSE(ParsePathContent("a b@x.onion").has_value());
  EXPECT_FALSE(ParsePathContent("a@-x.onion").has_value());
  EXPECT_FALSE(ParsePathContent("a@x.onion.").has_value());
  EXPECT_FALSE(ParsePathContent("a@x_y.onion").has_value());
  EXPECT_FALSE(ParsePathContent("\"a\"@x.onion").has_value());
  EXPECT_FALSE(ParsePathContent(std::string(65, 'a') + "@x.onion").has_value());
  EXPECT_FALSE(ParsePathContent("a@" + std::string(64, 'x') + ".onion").has_value());
  EXPECT_FALSE(ParsePathContent("a@x.onion\r\nBcc: y").has_value());
}

}  // namespace
}  // namespace onionmail::smtp
