#include "crypto/hex.h"

#include <gtest/gtest.h>

namespace onionmail::crypto {
namespace {

TEST(HexTest, EncodesLowerCase) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0xab, 0xff, 0x7f};
  EXPECT_EQ(ToHex(bytes), "0001abff7f");
  EXPECT_EQ(ToHex({}), "");
}

TEST(HexTest, DecodesEitherCase) {
  auto lower = FromHex("deadbeef");
  auto upper = FromHex("DEADBEEF");
  ASSERT_TRUE(lower.has_value());
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(*lower, (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(*lower, *upper);
}

TEST(HexTest, EmptyStringDecodesToEmpty) {
  auto r = FromHex("");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->empty());
}

TEST(HexTest, RejectsOddLength) { EXPECT_FALSE(FromHex("abc").has_value()); }

TEST(HexTest, RejectsNonHexCharacters) {
  EXPECT_FALSE(FromHex("zz").has_value());
  EXPECT_FALSE(FromHex("0g").has_value());
  EXPECT_FALSE(FromHex(" 0").has_value());
  EXPECT_FALSE(FromHex(std::string_view("0\0", 2)).has_value());
}

TEST(HexTest, RoundTripsAllByteValues) {
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  auto back = FromHex(ToHex(all));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, all);
}

}  // namespace
}  // namespace onionmail::crypto
