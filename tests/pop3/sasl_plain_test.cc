#include "pop3/sasl_plain.h"

#include <gtest/gtest.h>

#include "tests/pop3/base64_for_test.h"

namespace onionmail::pop3 {
namespace {

using ::onionmail::pop3::testing::Base64;
using namespace std::string_literals;

std::string PasswordOf(const PlainCredentials& c) {
  return std::string(c.password.RevealString(SecretAccess::Grant()));
}

TEST(Pop3SaslPlainTest, DecodesAuthcidAndPasswordWithEmptyAuthzid) {
  for (std::string password : {"p"s, "pw"s, "pwd"s, "secret pw"s}) {
    auto c = DecodeSaslPlain(Base64("\0bob\0"s + password));
    ASSERT_TRUE(c.ok()) << password;
    EXPECT_EQ(c->authcid, "bob");
    EXPECT_EQ(PasswordOf(*c), password);
  }
}

TEST(Pop3SaslPlainTest, AuthzidEqualToAuthcidIsAcceptedOtherwiseRejected) {
  auto same = DecodeSaslPlain(Base64("Bob\0bob\0pw"s));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->authcid, "bob");
  auto other = DecodeSaslPlain(Base64("alice\0bob\0pw"s));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
}

TEST(Pop3SaslPlainTest, WrongNumberOfSeparatorsOrEmptyFieldsAreRejected) {
  EXPECT_FALSE(DecodeSaslPlain(Base64("bobpw"s)).ok());
  EXPECT_FALSE(DecodeSaslPlain(Base64("bob\0pw"s)).ok());
  EXPECT_FALSE(DecodeSaslPlain(Base64("\0bob\0pw\0x"s)).ok());
  EXPECT_FALSE(DecodeSaslPlain(Base64("\0\0pw"s)).ok());
  EXPECT_FALSE(DecodeSaslPlain(Base64("\0bob\0"s)).ok());
}

TEST(Pop3SaslPlainTest, NonCanonicalBase64IsRejected) {
  std::string good = Base64("\0bob\0pw"s);  // "AGJvYgBwdw=="
  ASSERT_TRUE(DecodeSaslPlain(good).ok());
  EXPECT_FALSE(DecodeSaslPlain("").ok());
  EXPECT_FALSE(DecodeSaslPlain(good.substr(0, good.size() - 1)).ok());  // length
  EXPECT_FALSE(DecodeSaslPlain(" " + good.substr(1)).ok());             // bad char
  EXPECT_FALSE(DecodeSaslPlain("AG=vYgBwdw==").ok());                   // '=' inside
  EXPECT_FALSE(DecodeSaslPlain("AGJvYgBwd===").ok());                   // 3 pads
  EXPECT_FALSE(DecodeSaslPlain(good + "\r").ok());
}

}  // namespace
}  // namespace onionmail::pop3
