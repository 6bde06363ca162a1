// TkimVouches (server/tkim_vouch.h): a vouch holds for the domain it was made
// for, by the object that made it, until it expires; anything else is
// kUnauthenticated. The key never leaves the object, so the layout is checked
// from the outside: the expiry in the first 8 bytes, and any changed byte
// breaks the vouch.
#include "server/tkim_vouch.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ipc/bounds.h"

namespace onionmail::server {
namespace {

constexpr char kOnion[] = "hb53jwwf6mybde3jqmx4xys74nsvw3esiswtyhegofrgmexlfqx7gpid.onion";
constexpr char kOther[] = "c5j427vx2jqfswevlixlr6xoshvaojzfnfyq2verfqys43ddjyim56qd.onion";
constexpr uint64_t kNow = 1'800'000'000;

uint64_t ExpiryOf(const std::vector<uint8_t>& v) {
  uint64_t e = 0;
  for (size_t i = 0; i < 8; ++i) e = (e << 8) | v[i];
  return e;
}

TEST(TkimVouchesTest, AVouchHoldsForItsDomainUntilItExpires) {
  TkimVouches vouches;
  auto v = vouches.Mint(kOnion, kNow);
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_EQ(v->size(), ipc::kTkimVouchBytes);
  EXPECT_EQ(ExpiryOf(*v), kNow + kTkimVouchLifetime);
  for (uint64_t at : {kNow, kNow + 1, kNow + kTkimVouchLifetime - 1}) {
    auto checked = vouches.Check(kOnion, *v, at);
    ASSERT_TRUE(checked.ok()) << at;
    EXPECT_EQ(*checked, kNow + kTkimVouchLifetime);
  }
  for (uint64_t at : {kNow + kTkimVouchLifetime, kNow + 2 * kTkimVouchLifetime}) {
    EXPECT_EQ(vouches.Check(kOnion, *v, at).error().code, ErrorCode::kUnauthenticated) << at;
  }
}

TEST(TkimVouchesTest, AnotherDomainAnotherObjectOrAnyChangedByteIsRefused) {
  TkimVouches vouches;
  auto v = vouches.Mint(kOnion, kNow).value();
  EXPECT_EQ(vouches.Check(kOther, v, kNow).error().code, ErrorCode::kUnauthenticated);
  TkimVouches other;  // another key role: another key
  EXPECT_EQ(other.Check(kOnion, v, kNow).error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(other.Mint(kOnion, kNow).value(), v);
  for (size_t i = 0; i < v.size(); ++i) {
    std::vector<uint8_t> bent = v;
    bent[i] ^= 0x01;
    EXPECT_EQ(vouches.Check(kOnion, bent, kNow).error().code, ErrorCode::kUnauthenticated) << i;
  }
  std::vector<uint8_t> shorter(v.begin(), v.end() - 1);
  EXPECT_EQ(vouches.Check(kOnion, shorter, kNow).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(vouches.Check(kOnion, {}, kNow).error().code, ErrorCode::kUnauthenticated);
}

TEST(TkimVouchesTest, AnExpiryFurtherThanOneLifetimeAheadIsRefused) {
  TkimVouches vouches;
  // Made "in the future": its expiry is more than a lifetime after now.
  auto v = vouches.Mint(kOnion, kNow + 60).value();
  EXPECT_EQ(vouches.Check(kOnion, v, kNow).error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(vouches.Check(kOnion, v, kNow + 60).ok());
}

TEST(TkimVouchesTest, OnlyALowerCaseV3OnionGetsAVouch) {
  TkimVouches vouches;
  std::string upper = kOnion;
  upper[0] = 'H';
  for (const std::string& d :
       {upper, std::string("example.com"), std::string(""), std::string("aaaa.onion")}) {
    EXPECT_EQ(vouches.Mint(d, kNow).error().code, ErrorCode::kInvalidArgument) << d;
  }
}

}  // namespace
}  // namespace onionmail::server
