// VerifyCache: remembered SMTP-password successes, bound to the verifier.
#include "keys/verify_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace onionmail::keys {
namespace {

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
const std::vector<uint8_t> kVerifier = {1, 2, 3, 4};
const std::vector<uint8_t> kNewVerifier = {5, 6, 7, 8};

TEST(VerifyCacheTest, RememberedSuccessIsAHitForTheSamePasswordOnly) {
  VerifyCache cache(std::chrono::seconds(60));
  EXPECT_FALSE(cache.Hit("bob", kVerifier, Pw("secret")));
  cache.Remember("bob", kVerifier, Pw("secret"));
  EXPECT_TRUE(cache.Hit("bob", kVerifier, Pw("secret")));
  EXPECT_FALSE(cache.Hit("bob", kVerifier, Pw("secreT")));
  EXPECT_FALSE(cache.Hit("alice", kVerifier, Pw("secret")));
}

TEST(VerifyCacheTest, ChangedVerifierInvalidatesTheEntry) {
  VerifyCache cache(std::chrono::seconds(60));
  cache.Remember("bob", kVerifier, Pw("old"));
  EXPECT_FALSE(cache.Hit("bob", kNewVerifier, Pw("old")));
}

TEST(VerifyCacheTest, EntriesExpire) {
  VerifyCache cache(std::chrono::seconds(1));
  cache.Remember("bob", kVerifier, Pw("secret"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(cache.Hit("bob", kVerifier, Pw("secret")));
}

TEST(VerifyCacheTest, ZeroTtlDisablesTheCache) {
  VerifyCache cache(std::chrono::seconds(0));
  cache.Remember("bob", kVerifier, Pw("secret"));
  EXPECT_FALSE(cache.Hit("bob", kVerifier, Pw("secret")));
}

TEST(VerifyCacheTest, SizeIsBounded) {
  VerifyCache cache(std::chrono::seconds(60));
  for (size_t i = 0; i < VerifyCache::kMaxEntries + 10; ++i) {
    cache.Remember("user" + std::to_string(i), kVerifier, Pw("pw"));
  }
  // The newest entry is always kept.
  EXPECT_TRUE(
      cache.Hit("user" + std::to_string(VerifyCache::kMaxEntries + 9), kVerifier, Pw("pw")));
}

}  // namespace
}  // namespace onionmail::keys
