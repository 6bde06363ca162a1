#include "crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
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

TEST(RandomTest, RandomSymbolsUsesOnlyTheAlphabetAndAllOfIt) {
  std::set<char> seen;
  std::set<std::string> outputs;
  for (int i = 0; i < 64; ++i) {
    SecretBytes s = RandomSymbols(kBase32LowerAlphabet, 24);
    ASSERT_EQ(s.size(), 24u);
    std::string text(s.RevealString(SecretAccess::Grant()));
    for (char c : text) {
      EXPECT_NE(kBase32LowerAlphabet.find(c), std::string_view::npos) << text;
      seen.insert(c);
    }
    outputs.insert(text);
  }
  EXPECT_EQ(seen.size(), 32u);  // 1536 draws: every symbol shows up
  EXPECT_EQ(outputs.size(), 64u);
}

TEST(RandomTest, RandomSymbolsIsUnbiasedForAnAlphabetThatDoesNotDivide256) {
  // 3 symbols: a modulo would give 'a' 86/256 against 85/256; rejection
  // sampling gives each a third. 30000 draws: each within a few percent.
  SecretBytes s = RandomSymbols("abc", 30000);
  std::array<int, 3> counts{};
  for (uint8_t c : s.Reveal(SecretAccess::Grant())) {
    ASSERT_TRUE(c >= 'a' && c <= 'c');
    ++counts[c - 'a'];
  }
  for (int n : counts) EXPECT_NEAR(n, 10000, 600);
}

TEST(RandomTest, RandomSymbolsEdgeCases) {
  EXPECT_TRUE(RandomSymbols("", 5).empty());
  EXPECT_TRUE(RandomSymbols(std::string(257, 'x'), 5).empty());
  EXPECT_TRUE(RandomSymbols("ab", 0).empty());
  SecretBytes one = RandomSymbols("z", 7);
  EXPECT_EQ(one.RevealString(SecretAccess::Grant()), "zzzzzzz");
}

}  // namespace
}  // namespace onionmail::crypto
