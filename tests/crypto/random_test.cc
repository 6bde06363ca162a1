#include "crypto/random.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace onionmail::crypto {
namespace {

TEST(RandomTest, RandomBytesFillsBufferDifferentlyEachCall) {
  std::vector<uint8_t> a(32, 0), b(32, 0);
  RandomBytes(a);
  RandomBytes(b);
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::vector<uint8_t>(32, 0));
}

TEST(RandomTest, RandomBytesAcceptsEmptySpan) {
  std::vector<uint8_t> empty;
  RandomBytes(empty);
  EXPECT_TRUE(empty.empty());
}

TEST(RandomTest, RandomSecretHasRequestedSizeAndIsNotConstant) {
  SecretBytes a = RandomSecret(32);
  SecretBytes b = RandomSecret(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_FALSE(a.Equals(b));
  EXPECT_FALSE(a.Equals(SecretBytes(32)));
  EXPECT_TRUE(RandomSecret(0).empty());
}

TEST(RandomTest, RandomHexIsLowerCaseOfDoubleLength) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string h = RandomHex(16);
    ASSERT_EQ(h.size(), 32u);
    for (char c : h) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << h;
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), 50u);
}

}  // namespace
}  // namespace onionmail::crypto
