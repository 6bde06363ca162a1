#include "base/secret_bytes.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace onionmail {
namespace {

SecretBytes FromString(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

TEST(SecretBytesTest, SizedConstructorZeroFills) {
  SecretBytes s(16);
  ASSERT_EQ(s.size(), 16u);
  for (uint8_t b : s.Reveal(SecretAccess::Grant())) EXPECT_EQ(b, 0);
}

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.Reveal(SecretAccess::Grant()).empty());
}

TEST(SecretBytesTest, HoldsCopiedBytes) {
  SecretBytes s = FromString("hunter2");
  EXPECT_EQ(s.RevealString(SecretAccess::Grant()), "hunter2");
  const uint8_t raw[] = {1, 2, 3};
  SecretBytes t(SecretAccess::Grant(), std::span<const uint8_t>(raw));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.Reveal(SecretAccess::Grant())[2], 3);
}

TEST(SecretBytesTest, MoveConstructionEmptiesSource) {
  SecretBytes a = FromString("secret");
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the contract
  EXPECT_TRUE(a.Reveal(SecretAccess::Grant()).empty());
  EXPECT_EQ(b.RevealString(SecretAccess::Grant()), "secret");
}

TEST(SecretBytesTest, MoveAssignmentEmptiesSourceAndReplacesTarget) {
  SecretBytes a = FromString("first");
  SecretBytes b = FromString("second-longer");
  b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.RevealString(SecretAccess::Grant()), "first");
}

TEST(SecretBytesTest, SelfMoveAssignmentKeepsContent) {
  SecretBytes a = FromString("keep");
  SecretBytes& alias = a;
  a = std::move(alias);
  EXPECT_EQ(a.RevealString(SecretAccess::Grant()), "keep");
}

TEST(SecretBytesTest, EqualsComparesContentAndLength) {
  EXPECT_TRUE(FromString("abc").Equals(FromString("abc")));
  EXPECT_FALSE(FromString("abc").Equals(FromString("abd")));
  EXPECT_FALSE(FromString("abc").Equals(FromString("abcd")));
  EXPECT_FALSE(FromString("abcd").Equals(FromString("abc")));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes()));
  EXPECT_FALSE(SecretBytes().Equals(FromString("x")));
}

TEST(SecretBytesTest, EqualsDetectsDifferenceInFirstAndLastByte) {
  EXPECT_FALSE(FromString("Xbcdefgh").Equals(FromString("abcdefgh")));
  EXPECT_FALSE(FromString("abcdefgX").Equals(FromString("abcdefgh")));
}

TEST(SecretBytesTest, TruncateShrinksAndWipesTail) {
  SecretBytes s = FromString("abcdef");
  uint8_t* base = s.Reveal(SecretAccess::Grant()).data();
  s.Truncate(2);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.RevealString(SecretAccess::Grant()), "ab");
  // The storage is still owned by `s`; the bytes past the new size are zero.
  for (int i = 2; i < 6; ++i) EXPECT_EQ(base[i], 0) << i;
}

TEST(SecretBytesTest, TruncateToLargerSizeIsNoOp) {
  SecretBytes s = FromString("abc");
  s.Truncate(10);
  EXPECT_EQ(s.RevealString(SecretAccess::Grant()), "abc");
}

TEST(SecretBytesTest, CloneIsIndependentCopy) {
  SecretBytes a = FromString("original");
  SecretBytes b = a.Clone();
  EXPECT_TRUE(a.Equals(b));
  EXPECT_NE(a.Reveal(SecretAccess::Grant()).data(), b.Reveal(SecretAccess::Grant()).data());
  b.Reveal(SecretAccess::Grant())[0] = 'X';
  EXPECT_EQ(a.RevealString(SecretAccess::Grant()), "original");
  EXPECT_FALSE(a.Equals(b));
}

TEST(SecretBytesTest, CloneOfEmptyIsEmpty) {
  SecretBytes a;
  EXPECT_TRUE(a.Clone().empty());
}

TEST(SecretBytesTest, WorksOnSecureHeap) {
  // InitSecureMemory is idempotent; afterwards allocations still behave.
  (void)InitSecureMemory(size_t{1} << 16);
  SecretBytes s = FromString("on the secure heap");
  SecretBytes t = s.Clone();
  EXPECT_TRUE(s.Equals(t));
}

TEST(SecretBytesTest, WipeMemoryZeroesBuffer) {
  char buf[8] = {'p', 'a', 's', 's', 'w', 'o', 'r', 'd'};
  WipeMemory(buf, sizeof(buf));
  for (char c : buf) EXPECT_EQ(c, 0);
  WipeMemory(nullptr, 4);  // tolerated
}

}  // namespace
}  // namespace onionmail
