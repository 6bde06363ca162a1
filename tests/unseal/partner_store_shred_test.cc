// Tests of the crypto-shred of a destroyed partner in unseal::PartnerStore:
// live records are sealed under the device's erasable key, and a destroy
// rotates that key, so a copy of the destroyed record (a flash remnant, a
// backup) can never be opened again. The file KeyStore stands in for the
// device here; the tokens' erasable secrets are tested against SoftHSM2 and
// swtpm in tests/hsm/conformance, and the whole path with SoftHSM2 in
// integration.pkcs11.test_unseal.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "hsm/forwarding_key_store.h"
#include "tests/unseal/partner_store_fixture.h"
#include "unseal/partner_store.h"

namespace onionmail::unseal {
namespace {

using onionmail::testing::WriteFileBytes;

class PartnerStoreShredTest : public PartnerStoreTest {
 protected:
  std::vector<uint64_t> Epochs() {
    auto epochs = keys_->ErasableEpochs();
    EXPECT_TRUE(epochs.ok());
    return epochs.ok() ? *epochs : std::vector<uint64_t>{};
  }
  Result<PartnerRecord> OpenCopy(const Partner& p, const std::vector<uint8_t>& copy) {
    auto hash = PartnerFileHashOf(*keys_, p.id, /*tombstone=*/false);
    if (!hash.ok()) return hash.error();
    return OpenPartnerRecord(*keys_, copy, *hash);
  }
};

TEST_F(PartnerStoreShredTest, NoErasableKeyUntilTheFirstPushThenEpochOne) {
  EXPECT_TRUE(Epochs().empty());
  Enrol(MakePartner());
  EXPECT_EQ(Epochs(), (std::vector<uint64_t>{1}));
}

TEST_F(PartnerStoreShredTest, ACopyOfADestroyedRecordCannotBeOpenedAfterTheDestroy) {
  Partner p = MakePartner();
  Partner q = MakePartner();
  Enrol(p);
  Point Sq = Enrol(q);
  auto enrolment_q = ServerEnroll(Sq, q.body.peer_id);
  ASSERT_TRUE(enrolment_q.ok());
  const std::vector<uint8_t> remnant = ReadFileBytes(FileOf(p, false));  // "flash remnant"
  ASSERT_TRUE(OpenCopy(p, remnant).ok()) << "the copy opens while the key lives";

  auto destroyed = store_->ApplyKctl(Cert(p, KctlAction::kDestroy, 1));
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_FALSE(destroyed->cleanup_pending);
  EXPECT_EQ(Epochs(), (std::vector<uint64_t>{2}));
  auto opened = OpenCopy(p, remnant);
  ASSERT_FALSE(opened.ok());
  ExpectCode(opened.error(), ErrorCode::kNotFound);  // its key is erased
  // Restoring the remnant to its place does not bring the partner back.
  WriteFileBytes(FileOf(p, false), remnant);
  Reopen();
  EXPECT_FALSE(std::filesystem::exists(FileOf(p, false))) << "remnant deleted at Open";
  auto answer = store_->Answer(p.id, p.spki, Sq);
  ASSERT_FALSE(answer.ok());
  ExpectCode(answer.error(), ErrorCode::kPermissionDenied);
  // The other partner was re-sealed under the new key and still answers.
  auto k = Boot(q, Sq, enrolment_q->C);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_TRUE(k->Equals(enrolment_q->K));
}

TEST_F(PartnerStoreShredTest, InterruptedRotationIsFinishedAtOpen) {
  Partner p = MakePartner();
  Point S = Enrol(p);
  auto enrolment = ServerEnroll(S, p.body.peer_id);
  ASSERT_TRUE(enrolment.ok());
  // A crash right after the new key was made: two epochs, records under 1.
  ASSERT_TRUE(keys_->CreateErasable(2).ok());
  Reopen();
  EXPECT_EQ(Epochs(), (std::vector<uint64_t>{2}));
  auto k = Boot(p, S, enrolment->C);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_TRUE(k->Equals(enrolment->K));
}

TEST_F(PartnerStoreShredTest, TombstoneWhoseKeyStillLivesTriggersTheShredAtOpen) {
  Partner p = MakePartner();
  Partner q = MakePartner();
  Enrol(p);
  Point Sq = Enrol(q);
  auto enrolment_q = ServerEnroll(Sq, q.body.peer_id);
  ASSERT_TRUE(enrolment_q.ok());
  const std::vector<uint8_t> remnant = ReadFileBytes(FileOf(p, false));
  // A crash right after the tombstone was written (before the delete and the
  // rotation): write that tombstone by hand.
  PartnerRecord tombstone;
  tombstone.destroyed = true;
  tombstone.partner_id = p.id;
  tombstone.kctl_pub = p.kctl.pub;
  tombstone.destroyed_unix = now_;
  tombstone.erasable_epoch = 1;
  tombstone.state.disabled = true;
  auto sealed = SealPartnerRecord(*keys_, tombstone);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  WriteFileBytes(FileOf(p, true), *sealed);
  Reopen();
  EXPECT_EQ(Epochs(), (std::vector<uint64_t>{2}));
  EXPECT_FALSE(std::filesystem::exists(FileOf(p, false)));
  EXPECT_FALSE(OpenCopy(p, remnant).ok());
  auto k = Boot(q, Sq, enrolment_q->C);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_TRUE(k->Equals(enrolment_q->K));
}

TEST_F(PartnerStoreShredTest, RecordsAreKeptWhenTheDeviceHasNoErasableKeyAtAll) {
  Partner p = MakePartner();
  Enrol(p);
  const std::string file = FileOf(p, false);
  ASSERT_TRUE(keys_->EraseErasable(1).ok());  // e.g. another or a reset device
  Reopen();
  EXPECT_TRUE(std::filesystem::exists(file)) << "never delete what may be a device problem";
  EXPECT_EQ(store_->load_errors().size(), 1u);
  auto answer = AnswerRandom(p);
  ASSERT_FALSE(answer.ok());
  ExpectCode(answer.error(), ErrorCode::kDataLoss);
}

// The device refuses to erase (e.g. it is gone for a moment): the destroy
// itself stands (tombstone, record deleted) and says the shred is pending; the
// next Open erases the old key.
class EraseFails : public hsm::ForwardingKeyStore {
 public:
  using ForwardingKeyStore::ForwardingKeyStore;
  Result<void> EraseErasable(uint64_t epoch) override {
    if (fail) return MakeError(ErrorCode::kUnavailable, "device removed");
    return ForwardingKeyStore::EraseErasable(epoch);
  }
  bool fail = true;
};

TEST_F(PartnerStoreShredTest, ShredThatTheDeviceRefusesIsPendingAndFinishedAtNextOpen) {
  Partner p = MakePartner();
  Partner q = MakePartner();
  Enrol(p);
  Enrol(q);
  EraseFails flaky(*keys_);
  store_.reset();
  auto store = PartnerStore::Open(partners_, flaky, options_);
  ASSERT_TRUE(store.ok());
  auto destroyed = (*store)->ApplyKctl(Cert(p, KctlAction::kDestroy, 1));
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_TRUE(destroyed->destroyed);
  EXPECT_TRUE(destroyed->cleanup_pending);
  EXPECT_EQ(Epochs(), (std::vector<uint64_t>{1, 2}));
  store->reset();
  flaky.fail = false;
  auto reopened = PartnerStore::Open(partners_, flaky, options_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(Epochs(), (std::vector<uint64_t>{2}));
  EXPECT_TRUE((*reopened)->Stat(q.id, q.spki).ok()) << "q re-sealed under the new key";
}

}  // namespace
}  // namespace onionmail::unseal
