// mail::CanonicalBlockEntry and mail::SenderIsBlocked (mail/block_list.h):
// the forms a user may type, the one form stored, and what a stored entry
// matches.
#include "mail/block_list.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace onionmail::mail {
namespace {

TEST(BlockListTest, AddressIsLowerCasedAndStrippedOfBlanksAndBrackets) {
  EXPECT_EQ(CanonicalBlockEntry("Pest@Remote.Onion"), "pest@remote.onion");
  EXPECT_EQ(CanonicalBlockEntry("  <pest@remote.onion>\t"), "pest@remote.onion");
  EXPECT_EQ(CanonicalBlockEntry("< pest@remote.onion >"), "pest@remote.onion");
  EXPECT_EQ(CanonicalBlockEntry("a.b+tag@x-y.example"), "a.b+tag@x-y.example");
}

TEST(BlockListTest, WholeDomainIsWrittenWithALeadingAt) {
  EXPECT_EQ(CanonicalBlockEntry("@Evil.onion"), "@evil.onion");
  EXPECT_EQ(CanonicalBlockEntry("*@evil.onion"), "@evil.onion");
  EXPECT_EQ(CanonicalBlockEntry("<*@evil.onion>"), "@evil.onion");
}

TEST(BlockListTest, AnythingElseIsRefused) {
  for (const char* bad : {"",
                          "pest",
                          "pest@",
                          "@",
                          "a@@b.onion",
                          "a b@c.onion",
                          "a@b c.onion",
                          ".a@b.onion",
                          "a.@b.onion",
                          "a..b@c.onion",
                          "a@-b.onion",
                          "a@b-.onion",
                          "a@b..onion",
                          "a@.b.onion",
                          "a@b.onion.",
                          "\"quoted\"@b.onion",
                          "a@[127.0.0.1]",
                          "a\r\n@b.onion",
                          "a@b\x01.onion",
                          "a@b\xc3\xa9.onion",
                          "<a@b.onion",
                          "a@b.onion>"}) {
    EXPECT_EQ(CanonicalBlockEntry(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(CanonicalBlockEntry(std::string(65, 'a') + "@b.onion"), std::nullopt);
  EXPECT_EQ(CanonicalBlockEntry("a@" + std::string(64, 'b') + ".onion"), std::nullopt);
}

TEST(BlockListTest, EntriesNeverExceedTheByteLimit) {
  std::string label(63, 'd');
  std::string domain = label + "." + label + "." + label + "." + std::string(50, 'e');
  ASSERT_LE(domain.size(), 253u);
  auto entry = CanonicalBlockEntry(std::string(64, 'a') + "@" + domain);
  EXPECT_EQ(entry, std::nullopt);  // 64 + 1 + 241 > 200
  EXPECT_EQ(CanonicalBlockEntry("@" + domain), std::nullopt);
  auto fits = CanonicalBlockEntry("a@" + domain.substr(domain.size() - 198));
  ASSERT_TRUE(fits.has_value());
  EXPECT_LE(fits->size(), kMaxBlockEntryBytes);
}

TEST(BlockListTest, SenderMatchesItsAddressOrItsWholeDomainInAnyCase) {
  std::vector<std::string> entries = {"@evil.onion", "pest@remote.onion"};  // sorted
  EXPECT_TRUE(SenderIsBlocked(entries, "pest@remote.onion"));
  EXPECT_TRUE(SenderIsBlocked(entries, "PEST@Remote.Onion"));
  EXPECT_TRUE(SenderIsBlocked(entries, "anyone@evil.onion"));
  EXPECT_TRUE(SenderIsBlocked(entries, "Anyone@EVIL.onion"));
  EXPECT_FALSE(SenderIsBlocked(entries, "friend@remote.onion"));
  EXPECT_FALSE(SenderIsBlocked(entries, "anyone@sub.evil.onion"));
  EXPECT_FALSE(SenderIsBlocked(entries, "anyone@notevil.onion"));
  EXPECT_FALSE(SenderIsBlocked(entries, "pest@remote.onion.example"));
}

TEST(BlockListTest, NullSenderAndEmptyListNeverBlock) {
  std::vector<std::string> entries = {"@evil.onion"};
  EXPECT_FALSE(SenderIsBlocked(entries, ""));
  EXPECT_FALSE(SenderIsBlocked({}, "anyone@evil.onion"));
  EXPECT_FALSE(SenderIsBlocked(entries, "no-at-sign"));
}

}  // namespace
}  // namespace onionmail::mail
