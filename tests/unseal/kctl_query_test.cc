// Tests of the KCTL query certificate (KctlAction::kQuery): serial 0, a window
// of at most one hour, no serial rule; everything else as for orders. And the
// KCTL reply body every action gets.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "unseal/kctl.h"

namespace onionmail::unseal {
namespace {

constexpr uint64_t kNotBefore = 1767225600;  // 2026-01-01T00:00:00Z

KctlKeyPair Key() {
  auto key = GenerateKctlKey();
  EXPECT_TRUE(key.ok());
  return std::move(*key);
}

KctlCert Query() {
  KctlCert cert;
  cert.server_id.fill(0x5a);
  cert.action = KctlAction::kQuery;
  cert.serial = 0;
  cert.not_before = kNotBefore;
  cert.not_after = kNotBefore + kKctlMaxQueryWindowSeconds;
  return cert;
}

TEST(KctlQueryTest, QueryRoundTripsAndVerifiesWhateverTheLastSerial) {
  const KctlKeyPair key = Key();
  auto cert = SignKctl(key.seed, Query());
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  auto wire = EncodeKctl(*cert);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ((*wire)[33], 5);
  auto parsed = ParseKctl(*wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, *cert);
  for (uint64_t last : {uint64_t{0}, uint64_t{7}, UINT64_MAX}) {
    EXPECT_TRUE(VerifyKctl(*parsed, key.pub, kNotBefore + 1, last).ok());
  }
}

TEST(KctlQueryTest, QueryWithASerialOrCreditsIsRefused) {
  const KctlKeyPair key = Key();
  KctlCert fields = Query();
  fields.serial = 1;
  EXPECT_EQ(SignKctl(key.seed, fields).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(EncodeKctl(fields).error().code, ErrorCode::kInvalidArgument);
  fields = Query();
  fields.credits = 3;
  EXPECT_EQ(SignKctl(key.seed, fields).error().code, ErrorCode::kInvalidArgument);
  // The same on the wire: a valid query with its serial byte changed.
  auto wire = EncodeKctl(*SignKctl(key.seed, Query()));
  ASSERT_TRUE(wire.ok());
  (*wire)[41] = 1;  // last byte of the serial (offset 34..41)
  auto parsed = ParseKctl(*wire);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "kctl: a query has serial 0");
}

TEST(KctlQueryTest, OrderWithSerialZeroIsRefused) {
  const KctlKeyPair key = Key();
  KctlCert fields = Query();
  fields.action = KctlAction::kDisable;
  auto signed_cert = SignKctl(key.seed, fields);
  ASSERT_FALSE(signed_cert.ok());
  EXPECT_EQ(signed_cert.error().message, "kctl: serials start at 1");
}

TEST(KctlQueryTest, QueryWindowLongerThanOneHourIsRefused) {
  const KctlKeyPair key = Key();
  KctlCert fields = Query();
  fields.not_after += 1;
  auto cert = SignKctl(key.seed, fields);
  ASSERT_TRUE(cert.ok());  // structurally fine; the peer's rule refuses it
  auto verified = VerifyKctl(*cert, key.pub, kNotBefore + 1, 0);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(verified.error().message, "kctl: validity window of a query longer than one hour");
}

TEST(KctlQueryTest, ForgedOrExpiredQueryIsRefused) {
  const KctlKeyPair key = Key();
  const KctlKeyPair other = Key();
  auto cert = SignKctl(other.seed, Query());
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(VerifyKctl(*cert, key.pub, kNotBefore + 1, 0).error().code,
            ErrorCode::kUnauthenticated);
  cert = SignKctl(key.seed, Query());
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(VerifyKctl(*cert, key.pub, cert->not_after + 1, 0).error().code,
            ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(VerifyKctl(*cert, key.pub, kNotBefore - 1, 0).error().code,
            ErrorCode::kFailedPrecondition);
}

TEST(KctlReplyTest, ReplyRoundTripsAndOnlyTheExactLayoutParses) {
  KctlReply reply{true, true, false, 997, 3, 1767225600};
  std::vector<uint8_t> wire = EncodeKctlReply(reply);
  ASSERT_EQ(wire.size(), kKctlReplySize);
  auto parsed = ParseKctlReply(wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, reply);
  std::vector<uint8_t> bad = wire;
  bad[0] = 2;  // advanced is 0 or 1
  EXPECT_FALSE(ParseKctlReply(bad).ok());
  bad = wire;
  bad[1] |= 0x04;  // reserved flag bit
  EXPECT_FALSE(ParseKctlReply(bad).ok());
  bad = wire;
  bad.pop_back();
  EXPECT_FALSE(ParseKctlReply(bad).ok());
}

}  // namespace
}  // namespace onionmail::unseal
