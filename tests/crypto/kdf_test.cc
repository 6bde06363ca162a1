#include "crypto/kdf.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/hex.h"

namespace onionmail::crypto {
namespace {

std::vector<uint8_t> Hex(std::string_view h) { return FromHex(h).value(); }

SecretBytes SecretHex(std::string_view h) {
  auto b = Hex(h);
  return SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(b));
}

SecretBytes SecretStr(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(HkdfTest, MatchesRfc5869TestCase1) {
  auto info = Hex("f0f1f2f3f4f5f6f7f8f9");
  auto okm = HkdfSha256(
      SecretHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), Hex("000102030405060708090a0b0c"),
      std::string_view(reinterpret_cast<const char*>(info.data()), info.size()), 42);
  ASSERT_TRUE(okm.ok()) << okm.error().message;
  EXPECT_EQ(ToHex(okm->Reveal(SecretAccess::Grant())),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfTest, MatchesRfc5869TestCase3WithEmptySaltAndInfo) {
  auto okm = HkdfSha256(SecretHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), {}, "", 42);
  ASSERT_TRUE(okm.ok()) << okm.error().message;
  EXPECT_EQ(ToHex(okm->Reveal(SecretAccess::Grant())),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfTest, InfoSeparatesDomains) {
  SecretBytes ikm = SecretStr("input key material");
  auto a = HkdfSha256(ikm, Bytes("salt"), "onionmail store key", 32);
  auto b = HkdfSha256(ikm, Bytes("salt"), "onionmail index key", 32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->Equals(*b));
}

TEST(HkdfTest, BadLengthsAreInvalidArgument) {
  SecretBytes ikm = SecretStr("k");
  for (size_t n : {size_t{0}, size_t{255 * 32 + 1}}) {
    auto r = HkdfSha256(ikm, {}, "x", n);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  auto max = HkdfSha256(ikm, {}, "x", 255 * 32);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->size(), 255u * 32);
  auto empty = HkdfSha256(SecretBytes(), {}, "x", 32);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TEST(HmacTest, MatchesRfc4231TestCase1) {
  auto mac = HmacSha256(SecretHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), Bytes("Hi There"));
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(ToHex(*mac), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacTest, MatchesRfc4231TestCase2) {
  auto mac = HmacSha256(SecretStr("Jefe"), Bytes("what do ya want for nothing?"));
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(ToHex(*mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacTest, EmptyKeyAndDataMatchKnownValue) {
  // HMAC-SHA256("", "") as computed by `openssl dgst -sha256 -hmac ''`.
  auto mac = HmacSha256(SecretBytes(), {});
  ASSERT_TRUE(mac.ok()) << mac.error().message;
  EXPECT_EQ(ToHex(*mac), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacTest, DifferentKeysGiveDifferentMacs) {
  auto a = HmacSha256(SecretStr("key-a"), Bytes("data"));
  auto b = HmacSha256(SecretStr("key-b"), Bytes("data"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(Sha256Test, MatchesFips180Vectors) {
  EXPECT_EQ(ToHex(Sha256(Bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace onionmail::crypto
