// VMAT aliases, targets and records (mail/vmat.h).
#include "mail/vmat.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/mail/test_onions.h"

namespace onionmail::mail {
namespace {

const std::string kTarget = "alice@" + kTestOnions[0];

TEST(VmatAliasTest, LocalPartsThatAreNotReservedAreAliases) {
  for (const char* alias : {"alice", "a", "bob.smith", "x_y-z", "007"}) {
    EXPECT_TRUE(ValidVmatAlias(alias)) << alias;
  }
  for (const char* alias : {"", "Alice", ".a", "a.", "a..b", "a+b", "a@b", "postmaster", "abuse",
                            "server", "team.list"}) {
    EXPECT_FALSE(ValidVmatAlias(alias)) << alias;
  }
  EXPECT_TRUE(ValidVmatAlias(std::string(64, 'a')));
  EXPECT_FALSE(ValidVmatAlias(std::string(65, 'a')));
}

TEST(VmatAliasTest, CanonicalAliasIsLowerCasedAndTakesOnlyTheExitDomain) {
  EXPECT_EQ(CanonicalVmatAlias("Alice", "mx.example.org"), "alice");
  EXPECT_EQ(CanonicalVmatAlias("Alice@MX.Example.org", "mx.example.org"), "alice");
  EXPECT_EQ(CanonicalVmatAlias("alice@other.example", "mx.example.org"), std::nullopt);
  EXPECT_EQ(CanonicalVmatAlias("alice@mx.example.org", ""), std::nullopt);
  EXPECT_EQ(CanonicalVmatAlias("Postmaster", "mx.example.org"), std::nullopt);
  EXPECT_EQ(CanonicalVmatAlias("", "mx.example.org"), std::nullopt);
}

TEST(VmatTargetTest, TargetIsAMailboxAtAV3Onion) {
  EXPECT_TRUE(ValidVmatTarget(kTarget));
  EXPECT_EQ(CanonicalVmatTarget("Alice@" + kTestOnions[0]), kTarget);
  EXPECT_FALSE(ValidVmatTarget("alice"));                    // no domain
  EXPECT_FALSE(ValidVmatTarget("alice@example.org"));        // not an onion
  EXPECT_FALSE(ValidVmatTarget("Alice@" + kTestOnions[0]));  // not canonical
  EXPECT_FALSE(ValidVmatTarget("@" + kTestOnions[0]));       // no local part
  EXPECT_FALSE(ValidVmatTarget("a+b@" + kTestOnions[0]));    // not a local part
  EXPECT_EQ(CanonicalVmatTarget("alice@bad.onion"), std::nullopt);
}

TEST(VmatRecordTest, RecordRoundTrips) {
  const VmatRecord record{"alice", kTarget};
  const std::vector<uint8_t> bytes = EncodeVmatRecord(record);
  ASSERT_EQ(bytes.size(), 3 + record.alias.size() + record.target.size());
  EXPECT_EQ(bytes[0], 1);
  auto back = DecodeVmatRecord(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->alias, "alice");
  EXPECT_EQ(back->target, kTarget);
}

TEST(VmatRecordTest, DecodingIsStrict) {
  const std::vector<uint8_t> good = EncodeVmatRecord({"alice", kTarget});
  EXPECT_EQ(DecodeVmatRecord({}), std::nullopt);
  std::vector<uint8_t> v2 = good;
  v2[0] = 2;
  EXPECT_EQ(DecodeVmatRecord(v2), std::nullopt);
  std::vector<uint8_t> trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(DecodeVmatRecord(trailing), std::nullopt);
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(DecodeVmatRecord(std::vector<uint8_t>(good.begin(), good.begin() + n)), std::nullopt)
        << n;
  }
  EXPECT_EQ(DecodeVmatRecord(EncodeVmatRecord({"postmaster", kTarget})), std::nullopt);
  EXPECT_EQ(DecodeVmatRecord(EncodeVmatRecord({"alice", "alice@example.org"})), std::nullopt);
}

}  // namespace
}  // namespace onionmail::mail
