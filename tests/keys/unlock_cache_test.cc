// UnlockCache: a login's password factor, sealed under the password and salt.
#include "keys/unlock_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace onionmail::keys {
namespace {

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
const std::vector<uint8_t> kSalt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
const std::vector<uint8_t> kNewSalt = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

std::string Str(const SecretBytes& s) { return std::string(s.RevealString(SecretAccess::Grant())); }

TEST(UnlockCacheTest, RememberedFactorIsFoundWithTheSamePasswordOnly) {
  UnlockCache cache(std::chrono::seconds(60));
  EXPECT_FALSE(cache.Find("bob", kSalt, Pw("secret")).has_value());
  cache.Remember("bob", kSalt, Pw("secret"), Pw("argon2-output-bytes"));
  auto hit = cache.Find("bob", kSalt, Pw("secret"));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(Str(*hit), "argon2-output-bytes");
  EXPECT_FALSE(cache.Find("bob", kSalt, Pw("secreT")).has_value());
  EXPECT_FALSE(cache.Find("bob", kSalt, Pw("")).has_value());
  EXPECT_FALSE(cache.Find("alice", kSalt, Pw("secret")).has_value());
}

TEST(UnlockCacheTest, AnotherSaltMissesAsAfterAPasswordChange) {
  UnlockCache cache(std::chrono::seconds(60));
  cache.Remember("bob", kSalt, Pw("secret"), Pw("factor"));
  EXPECT_FALSE(cache.Find("bob", kNewSalt, Pw("secret")).has_value());
}

TEST(UnlockCacheTest, ForgetDropsTheEntry) {
  UnlockCache cache(std::chrono::seconds(60));
  cache.Remember("bob", kSalt, Pw("secret"), Pw("factor"));
  EXPECT_EQ(cache.size(), 1u);
  cache.Forget("bob");
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Find("bob", kSalt, Pw("secret")).has_value());
}

TEST(UnlockCacheTest, EntriesExpire) {
  UnlockCache cache(std::chrono::seconds(1));
  cache.Remember("bob", kSalt, Pw("secret"), Pw("factor"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(cache.Find("bob", kSalt, Pw("secret")).has_value());
  EXPECT_EQ(cache.size(), 0u);  // the expired entry was dropped on lookup
}

TEST(UnlockCacheTest, ZeroTtlDisablesTheCache) {
  UnlockCache cache(std::chrono::seconds(0));
  cache.Remember("bob", kSalt, Pw("secret"), Pw("factor"));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Find("bob", kSalt, Pw("secret")).has_value());
}

TEST(UnlockCacheTest, SizeIsBoundedAndTheNewestEntryKept) {
  UnlockCache cache(std::chrono::seconds(60));
  for (size_t i = 0; i < UnlockCache::kMaxEntries + 10; ++i) {
    cache.Remember("user" + std::to_string(i), kSalt, Pw("pw"), Pw("factor"));
  }
  EXPECT_LE(cache.size(), UnlockCache::kMaxEntries);
  EXPECT_TRUE(cache.Find("user" + std::to_string(UnlockCache::kMaxEntries + 9), kSalt, Pw("pw"))
                  .has_value());
}

}  // namespace
}  // namespace onionmail::keys
