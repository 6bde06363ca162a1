// Tests of KCTL query certificates in unseal::PartnerStore: the operator reads a
// partner's state and counters with the KCTL key alone (no server key needed),
// and the query changes nothing.
#include <gtest/gtest.h>

#include <vector>

#include "tests/unseal/partner_store_fixture.h"
#include "unseal/partner_store.h"

namespace onionmail::unseal {
namespace {

class PartnerStoreQueryTest : public PartnerStoreTest {
 protected:
  KctlCert QueryOf(const Partner& p) {
    KctlCert cert;
    cert.server_id = p.id;
    cert.action = KctlAction::kQuery;
    cert.serial = 0;
    cert.not_before = now_ - 60;
    cert.not_after = now_ + 600;
    auto signed_cert = SignKctl(p.kctl.seed, cert);
    EXPECT_TRUE(signed_cert.ok()) << signed_cert.error().message;
    return *signed_cert;
  }
};

TEST_F(PartnerStoreQueryTest, QueryReturnsCountersAndChangesNothing) {
  Partner p = MakePartner(/*credits=*/10);
  Enrol(p);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(AnswerRandom(p).ok());
    now_ += 20;  // under the rate limit
  }
  const std::vector<uint8_t> before = ReadFileBytes(FileOf(p, false));
  auto q = store_->ApplyKctl(QueryOf(p));
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_FALSE(q->advanced);
  EXPECT_FALSE(q->disabled);
  EXPECT_FALSE(q->destroyed);
  EXPECT_EQ(q->credits_left, 7u);
  EXPECT_EQ(q->answered_total, 3u);
  EXPECT_EQ(q->last_answer_unix, now_ - 20);
  EXPECT_TRUE(q->forwards.empty()) << "a query is never forwarded";
  EXPECT_EQ(ReadFileBytes(FileOf(p, false)), before) << "a query must not write";
  // It did not take a serial: the first order (serial 1) still applies.
  auto order = store_->ApplyKctl(Cert(p, KctlAction::kDisable, 1));
  ASSERT_TRUE(order.ok()) << order.error().message;
  EXPECT_TRUE(order->advanced);
  EXPECT_EQ(order->answered_total, 3u);
  // And a query after an order sees it.
  auto again = store_->ApplyKctl(QueryOf(p));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->disabled);
}

TEST_F(PartnerStoreQueryTest, QueryOfADestroyedPartnerShowsTheTombstone) {
  Partner p = MakePartner();
  Enrol(p);
  ASSERT_TRUE(AnswerRandom(p).ok());
  auto destroyed = store_->ApplyKctl(Cert(p, KctlAction::kDestroy, 1));
  ASSERT_TRUE(destroyed.ok());
  EXPECT_EQ(destroyed->answered_total, 1u);
  auto q = store_->ApplyKctl(QueryOf(p));
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_TRUE(q->destroyed);
  EXPECT_TRUE(q->disabled);
  EXPECT_EQ(q->credits_left, 0u);
  EXPECT_EQ(q->answered_total, 1u);
  Reopen();  // from the tombstone file
  auto reopened = store_->ApplyKctl(QueryOf(p));
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE(reopened->destroyed);
  EXPECT_EQ(reopened->answered_total, 1u);
}

TEST_F(PartnerStoreQueryTest, QuerySignedByAnotherKeyOrOutOfDateIsRefused) {
  Partner p = MakePartner();
  Partner stranger = MakePartner();
  Enrol(p);
  KctlCert forged = QueryOf(stranger);
  forged.server_id = p.id;
  auto bad = store_->ApplyKctl(forged);
  ASSERT_FALSE(bad.ok());
  ExpectCode(bad.error(), ErrorCode::kUnauthenticated);
  KctlCert cert = QueryOf(p);
  now_ += 3600;
  auto expired = store_->ApplyKctl(cert);
  ASSERT_FALSE(expired.ok());
  ExpectCode(expired.error(), ErrorCode::kDeadlineExceeded);
  auto unknown = store_->ApplyKctl(QueryOf(stranger));
  ASSERT_FALSE(unknown.ok());
  ExpectCode(unknown.error(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace onionmail::unseal
