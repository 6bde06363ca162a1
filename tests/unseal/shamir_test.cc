#include "unseal/shamir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <vector>

#include "crypto/random.h"

namespace onionmail::unseal {
namespace {

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto r = s.Reveal(SecretAccess::Grant());
  return {r.begin(), r.end()};
}

SecretBytes SecretOf(const std::vector<uint8_t>& bytes) {
  return SecretBytes(SecretAccess::Grant(), std::span<const uint8_t>(bytes));
}

Share CopyShare(const Share& s) { return Share{s.x, s.y.Clone()}; }

std::vector<Share> Pick(const std::vector<Share>& all, const std::vector<int>& idx) {
  std::vector<Share> out;
  for (int i : idx) out.push_back(CopyShare(all[static_cast<size_t>(i)]));
  return out;
}

// Calls f for every k-subset (as sorted indices) of {0..n-1}.
template <typename F>
void ForEachSubset(int n, int k, F f) {
  std::vector<bool> mask(static_cast<size_t>(n), false);
  std::fill(mask.begin(), mask.begin() + k, true);
  do {
    std::vector<int> idx;
    for (int i = 0; i < n; ++i) {
      if (mask[static_cast<size_t>(i)]) idx.push_back(i);
    }
    f(idx);
  } while (std::prev_permutation(mask.begin(), mask.end()));
}

// Branchy reference multiply (schoolbook, then reduction), for comparison only.
uint8_t ReferenceMul(uint8_t a, uint8_t b) {
  unsigned p = 0;
  for (int i = 0; i < 8; ++i) {
    if (b & (1u << i)) p ^= static_cast<unsigned>(a) << i;
  }
  for (int d = 14; d >= 8; --d) {
    if (p & (1u << d)) p ^= 0x11bu << (d - 8);
  }
  return static_cast<uint8_t>(p);
}

TEST(GfTest, MatchesFips197Examples) {
  EXPECT_EQ(GfMul(0x57, 0x83), 0xc1);
  EXPECT_EQ(GfMul(0x57, 0x13), 0xfe);
  EXPECT_EQ(GfMul(0x57, 0x02), 0xae);
}

TEST(GfTest, MultiplyAgreesWithReferenceForAllPairs) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      ASSERT_EQ(GfMul(static_cast<uint8_t>(a), static_cast<uint8_t>(b)),
                ReferenceMul(static_cast<uint8_t>(a), static_cast<uint8_t>(b)))
          << a << "*" << b;
    }
  }
}

TEST(GfTest, InverseOfEveryNonzeroElement) {
  EXPECT_EQ(GfInv(0), 0);
  for (int a = 1; a < 256; ++a) {
    EXPECT_EQ(GfMul(static_cast<uint8_t>(a), GfInv(static_cast<uint8_t>(a))), 1) << a;
  }
}

TEST(ShamirTest, EveryThresholdSubsetRecoversAndFewerSharesAreRefused) {
  for (int n = 2; n <= 6; ++n) {
    for (int t = 2; t <= n; ++t) {
      SecretBytes secret = crypto::RandomSecret(kShamirSecretSize);
      auto shares = Split(secret, t, n);
      ASSERT_TRUE(shares.ok()) << shares.error().message;
      ASSERT_EQ(shares->size(), static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) EXPECT_EQ((*shares)[static_cast<size_t>(i)].x, i + 1);
      ForEachSubset(n, t, [&](const std::vector<int>& idx) {
        auto picked = Pick(*shares, idx);
        auto got = Combine(picked, t);
        ASSERT_TRUE(got.ok()) << got.error().message;
        EXPECT_TRUE(got->Equals(secret)) << "t=" << t << " n=" << n;
        std::reverse(picked.begin(), picked.end());  // order does not matter
        auto reversed = Combine(picked, t);
        ASSERT_TRUE(reversed.ok());
        EXPECT_TRUE(reversed->Equals(secret));
      });
      ForEachSubset(n, t - 1, [&](const std::vector<int>& idx) {
        auto picked = Pick(*shares, idx);
        auto refused = Combine(picked, t);
        ASSERT_FALSE(refused.ok());
        EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
        if (t - 1 >= 2) {
          // Interpolating t-1 shares as if the threshold were t-1 gives a wrong value.
          auto wrong = Combine(picked, t - 1);
          ASSERT_TRUE(wrong.ok());
          EXPECT_FALSE(wrong->Equals(secret)) << "t=" << t << " n=" << n;
        }
      });
    }
  }
}

TEST(ShamirTest, LargestSplitRoundTrips) {
  SecretBytes secret = crypto::RandomSecret(kShamirSecretSize);
  auto shares = Split(secret, 32, 32);
  ASSERT_TRUE(shares.ok());
  auto got = Combine(*shares, 32);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->Equals(secret));
  // More than t shares: the first t are used, the rest still validated.
  auto more = Split(secret, 5, 32);
  ASSERT_TRUE(more.ok());
  auto got_more = Combine(*more, 5);
  ASSERT_TRUE(got_more.ok());
  EXPECT_TRUE(got_more->Equals(secret));
}

TEST(ShamirTest, FreshCoefficientsGiveDifferentSharesForTheSameSecret) {
  SecretBytes secret = crypto::RandomSecret(kShamirSecretSize);
  auto a = Split(secret, 2, 3);
  auto b = Split(secret, 2, 3);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE((*a)[0].y.Equals((*b)[0].y));
}

TEST(ShamirTest, RandomSourceIsAskedForExactlyTheCoefficients) {
  SecretBytes secret = crypto::RandomSecret(kShamirSecretSize);
  std::vector<size_t> requests;
  auto shares = Split(secret, 4, 7, [&](std::span<uint8_t> out) {
    requests.push_back(out.size());
    crypto::RandomBytes(out);
  });
  ASSERT_TRUE(shares.ok());
  EXPECT_EQ(requests, std::vector<size_t>{3 * kShamirSecretSize});
}

TEST(ShamirTest, ZeroCoefficientsMakeEveryShareTheSecret) {
  SecretBytes secret = crypto::RandomSecret(kShamirSecretSize);
  auto shares = Split(
      secret, 3, 4, [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), uint8_t{0}); });
  ASSERT_TRUE(shares.ok());
  for (const Share& s : *shares) EXPECT_TRUE(s.y.Equals(secret));
}

// Perfect secrecy, checked exhaustively on byte 0: for t = 2 one share, and for t = 3 two
// shares, take every possible value exactly once as the coefficients range over the field,
// whatever the secret. So t-1 shares carry no information about the secret.
TEST(ShamirTest, FewerThanThresholdSharesAreUniformWhateverTheSecret) {
  for (uint8_t secret_byte : {uint8_t{0x00}, uint8_t{0x5a}, uint8_t{0xff}}) {
    std::vector<uint8_t> sb(kShamirSecretSize, secret_byte);
    SecretBytes secret = SecretOf(sb);
    std::array<std::array<int, 256>, 3> seen{};
    for (int a1 = 0; a1 < 256; ++a1) {
      auto shares = Split(secret, 2, 3, [&](std::span<uint8_t> out) {
        std::fill(out.begin(), out.end(), static_cast<uint8_t>(a1));
      });
      ASSERT_TRUE(shares.ok());
      for (size_t i = 0; i < 3; ++i) ++seen[i][Reveal((*shares)[i].y)[0]];
    }
    for (const auto& per_share : seen) {
      for (int count : per_share) ASSERT_EQ(count, 1);
    }
    std::vector<int> pairs(65536, 0);
    for (int a1 = 0; a1 < 256; ++a1) {
      for (int a2 = 0; a2 < 256; ++a2) {
        auto shares = Split(secret, 3, 3, [&](std::span<uint8_t> out) {
          out[0] = static_cast<uint8_t>(a1);                  // a_1[0]
          out[kShamirSecretSize] = static_cast<uint8_t>(a2);  // a_2[0]
        });
        ASSERT_TRUE(shares.ok());
        ++pairs[Reveal((*shares)[0].y)[0] * 256u + Reveal((*shares)[2].y)[0]];
      }
    }
    EXPECT_EQ(std::count(pairs.begin(), pairs.end(), 1), 65536);
  }
}

TEST(ShamirTest, SplitRejectsBadParameters) {
  SecretBytes secret = crypto::RandomSecret(kShamirSecretSize);
  for (auto [t, n] :
       std::vector<std::pair<int, int>>{{1, 3}, {0, 0}, {4, 3}, {2, 33}, {33, 33}, {-1, 2}}) {
    auto r = Split(secret, t, n);
    ASSERT_FALSE(r.ok()) << t << " " << n;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  for (size_t size : {size_t{0}, size_t{16}, size_t{31}, size_t{33}}) {
    auto r = Split(crypto::RandomSecret(size), 2, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(ShamirTest, CombineRejectsDuplicateZeroAndMalformedShares) {
  SecretBytes secret = crypto::RandomSecret(kShamirSecretSize);
  auto shares = Split(secret, 3, 5);
  ASSERT_TRUE(shares.ok());

  auto dup = Pick(*shares, {0, 1, 1});
  auto r = Combine(dup, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  // A duplicate beyond the first t is still refused.
  auto dup_late = Pick(*shares, {0, 1, 2, 0});
  EXPECT_FALSE(Combine(dup_late, 3).ok());

  auto zero = Pick(*shares, {0, 1, 2});
  zero[1].x = 0;
  EXPECT_FALSE(Combine(zero, 3).ok());

  auto short_y = Pick(*shares, {0, 1, 2});
  short_y[2].y.Truncate(31);
  EXPECT_FALSE(Combine(short_y, 3).ok());

  auto three = Pick(*shares, {0, 1, 2});
  EXPECT_FALSE(Combine(three, 1).ok());
  EXPECT_FALSE(Combine(three, 33).ok());
  EXPECT_FALSE(Combine({}, 2).ok());
}

TEST(ShamirTest, ShareEncodingIsXThenY) {
  SecretBytes secret = crypto::RandomSecret(kShamirSecretSize);
  auto shares = Split(secret, 2, 3);
  ASSERT_TRUE(shares.ok());
  std::vector<Share> decoded;
  for (const Share& s : *shares) {
    auto wire = EncodeShare(s);
    ASSERT_TRUE(wire.ok());
    auto bytes = Reveal(*wire);
    ASSERT_EQ(bytes.size(), kShamirShareSize);
    EXPECT_EQ(bytes[0], s.x);
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 1, bytes.end()), Reveal(s.y));
    auto back = DecodeShare(*wire);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->x, s.x);
    EXPECT_TRUE(back->y.Equals(s.y));
    decoded.push_back(std::move(*back));
  }
  auto got = Combine(decoded, 2);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->Equals(secret));

  std::vector<uint8_t> zero_x(kShamirShareSize, 7);
  zero_x[0] = 0;
  EXPECT_FALSE(DecodeShare(SecretOf(zero_x)).ok());
  EXPECT_FALSE(DecodeShare(SecretOf(std::vector<uint8_t>(32, 1))).ok());
  EXPECT_FALSE(DecodeShare(SecretOf(std::vector<uint8_t>(34, 1))).ok());
  EXPECT_FALSE(EncodeShare(Share{0, secret.Clone()}).ok());
  EXPECT_FALSE(EncodeShare(Share{1, SecretBytes(31)}).ok());
}

}  // namespace
}  // namespace onionmail::unseal
