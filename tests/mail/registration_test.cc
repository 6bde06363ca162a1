// mail::CanonicalVoucher and mail::ReservedUserName (mail/registration.h).
#include "mail/registration.h"

#include <gtest/gtest.h>

#include <string>

namespace onionmail::mail {
namespace {

TEST(VoucherTest, TwentyBase32CharactersInAnyCaseAreLowerCased) {
  EXPECT_EQ(CanonicalVoucher("abcdefghijklmnopqr27"), "abcdefghijklmnopqr27");
  EXPECT_EQ(CanonicalVoucher("ABCDEFGHIJKLMNOPQR27"), "abcdefghijklmnopqr27");
  EXPECT_EQ(CanonicalVoucher("zzzzzzzzzz7777777777"), "zzzzzzzzzz7777777777");
}

TEST(VoucherTest, AnythingElseIsRefused) {
  EXPECT_EQ(CanonicalVoucher(""), std::nullopt);
  EXPECT_EQ(CanonicalVoucher("abcdefghijklmnopqr2"), std::nullopt);    // 19
  EXPECT_EQ(CanonicalVoucher("abcdefghijklmnopqr277"), std::nullopt);  // 21
  EXPECT_EQ(CanonicalVoucher("abcdefghijklmnopqr18"), std::nullopt);   // 1, 8 not base32
  EXPECT_EQ(CanonicalVoucher("abcdefghijklmnopqr2="), std::nullopt);
  EXPECT_EQ(CanonicalVoucher("abcdefghij klmnopqr2"), std::nullopt);
  EXPECT_EQ(CanonicalVoucher(std::string("abcdefghijklmnopqr2\0", 20)), std::nullopt);
}

TEST(ReservedUserNameTest, BotListsAndRoleNamesAreReserved) {
  for (const char* name : {"server", "postmaster", "abuse", "root", "admin", "sysop",
                           "mailer-daemon", "noreply", "security", "team.list", "x.list"}) {
    EXPECT_TRUE(ReservedUserName(name)) << name;
  }
}

TEST(ReservedUserNameTest, OrdinaryNamesAreFree) {
  for (const char* name :
       {"alice", "bob.smith", "servers", "postmasters", "list", "my-list", "listen", "a.lists"}) {
    EXPECT_FALSE(ReservedUserName(name)) << name;
  }
}

}  // namespace
}  // namespace onionmail::mail
