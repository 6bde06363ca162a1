// Tests for hsm/master_keyed_store.{h,cc}: the KeyStore decorator that mixes the master key
// into every derived key, over a real file KeyStore wrapped in a call counter.
#include "hsm/master_keyed_store.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "hsm/forwarding_key_store.h"
#include "tests/store/test_util.h"

namespace onionmail::hsm {
namespace {

using onionmail::testing::Bytes;
using onionmail::testing::TempDir;

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto r = s.Reveal(SecretAccess::Grant());
  return {r.begin(), r.end()};
}

// Forwards to a shared inner store and counts every call, and counts one "device
// operation" per InboxWrapSecret as a hardware backend would.
class CountingStore : public ForwardingKeyStore {
 public:
  CountingStore(KeyStore& inner, std::map<std::string, int>& calls)
      : ForwardingKeyStore(inner), inner_(inner), calls_(calls) {}
  std::string_view backend_name() const override { return "counting"; }
  Result<std::array<uint8_t, 32>> KeyedHash(std::string_view purpose,
                                            std::span<const uint8_t> data) override {
    ++calls_["KeyedHash"];
    return inner_.KeyedHash(purpose, data);
  }
  Result<std::vector<uint8_t>> SealRecord(std::span<const uint8_t> plaintext,
                                          std::span<const uint8_t> aad) override {
    ++calls_["SealRecord"];
    return inner_.SealRecord(plaintext, aad);
  }
  Result<SecretBytes> OpenRecord(std::span<const uint8_t> sealed,
                                 std::span<const uint8_t> aad) override {
    ++calls_["OpenRecord"];
    return inner_.OpenRecord(sealed, aad);
  }
  Result<SecretBytes> InboxWrapSecret(std::span<const uint8_t> salt) override {
    ++calls_["InboxWrapSecret"];
    ++device_ops_;
    return inner_.InboxWrapSecret(salt);
  }
  Result<void> Probe() override {
    ++calls_["Probe"];
    if (fail_probe_) return MakeError(ErrorCode::kUnavailable, "device unplugged");
    return inner_.Probe();
  }
  uint64_t device_operations() const override { return device_ops_; }

  bool fail_probe_ = false;

 private:
  KeyStore& inner_;
  std::map<std::string, int>& calls_;
  uint64_t device_ops_ = 0;
};

class MasterKeyedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto device = CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(device.ok());
    device_ = std::move(*device);
    master_ = crypto::RandomSecret(32);
    store_ = Wrap(master_);
  }

  std::unique_ptr<MasterKeyedStore> Wrap(const SecretBytes& m) {
    auto counting = std::make_unique<CountingStore>(*device_, calls_);
    counting_ = counting.get();
    auto store = MasterKeyedStore::Create(std::move(counting), m);
    EXPECT_TRUE(store.ok());
    return store.ok() ? std::move(*store) : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<KeyStore> device_;  // the device alone
  std::map<std::string, int> calls_;
  CountingStore* counting_ = nullptr;
  SecretBytes master_;
  std::unique_ptr<MasterKeyedStore> store_;
};

TEST_F(MasterKeyedStoreTest, EveryOperationDiffersFromTheDeviceAlone) {
  const auto data = Bytes("user@example.onion");
  auto mixed = store_->KeyedHash("mailbox", data);
  auto plain = device_->KeyedHash("mailbox", data);
  ASSERT_TRUE(mixed.ok() && plain.ok());
  EXPECT_NE(*mixed, *plain);

  const auto salt = Bytes("0123456789abcdef");
  auto wrap = store_->InboxWrapSecret(salt);
  auto device_wrap = device_->InboxWrapSecret(salt);
  ASSERT_TRUE(wrap.ok() && device_wrap.ok());
  EXPECT_EQ(wrap->size(), 32u);
  EXPECT_FALSE(wrap->Equals(*device_wrap));

  const auto pt = Bytes("a user record");
  const auto aad = Bytes("user-record-v1");
  auto sealed = store_->SealRecord(pt, aad);
  ASSERT_TRUE(sealed.ok());
  auto device_open = device_->OpenRecord(*sealed, aad);
  ASSERT_FALSE(device_open.ok()) << "the device alone must not open it";
  EXPECT_EQ(device_open.error().code, ErrorCode::kDataLoss);
}

TEST_F(MasterKeyedStoreTest, KeyedHashIsDeterministicAndSeparatesPurposes) {
  const auto data = Bytes("some name");
  auto a = store_->KeyedHash("mailbox", data);
  auto b = store_->KeyedHash("mailbox", data);
  auto other_purpose = store_->KeyedHash("user", data);
  auto other_data = store_->KeyedHash("mailbox", Bytes("some other name"));
  ASSERT_TRUE(a.ok() && b.ok() && other_purpose.ok() && other_data.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *other_purpose);
  EXPECT_NE(*a, *other_data);
  // Another wrapper with the same M and device gives the same names (stable on disk).
  auto again = Wrap(master_);
  auto c = again->KeyedHash("mailbox", data);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*a, *c);
  // ...and another M gives other names.
  auto other_m = Wrap(crypto::RandomSecret(32));
  auto d = other_m->KeyedHash("mailbox", data);
  ASSERT_TRUE(d.ok());
  EXPECT_NE(*a, *d);
}

TEST_F(MasterKeyedStoreTest, SealedRecordRoundTripsAndIsBoundToItsAad) {
  const auto pt = Bytes("private key bytes");
  const auto aad = Bytes("aad-1");
  auto sealed = store_->SealRecord(pt, aad);
  ASSERT_TRUE(sealed.ok());
  auto opened = store_->OpenRecord(*sealed, aad);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(Reveal(*opened), pt);
  auto wrong_aad = store_->OpenRecord(*sealed, Bytes("aad-2"));
  ASSERT_FALSE(wrong_aad.ok());
  EXPECT_EQ(wrong_aad.error().code, ErrorCode::kDataLoss);
  for (size_t pos : {size_t{0}, sealed->size() / 2, sealed->size() - 1}) {
    auto tampered = *sealed;
    tampered[pos] ^= 0x01;
    auto r = store_->OpenRecord(tampered, aad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  }
  auto empty = store_->OpenRecord({}, aad);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kDataLoss);
}

TEST_F(MasterKeyedStoreTest, RecordSealedUnderOneMasterKeyDoesNotOpenUnderAnother) {
  const auto pt = Bytes("record");
  const auto aad = Bytes("aad");
  auto sealed = store_->SealRecord(pt, aad);
  ASSERT_TRUE(sealed.ok());
  auto other = Wrap(crypto::RandomSecret(32));
  auto r = other->OpenRecord(*sealed, aad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  // The same M over another device does not open it either.
  TempDir other_dir;
  auto other_device = CreateFileKeyStore(other_dir.path() + "/server.key");
  ASSERT_TRUE(other_device.ok());
  auto same_m = MasterKeyedStore::Create(std::move(*other_device), master_);
  ASSERT_TRUE(same_m.ok());
  auto r2 = (*same_m)->OpenRecord(*sealed, aad);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, ErrorCode::kDataLoss);
  // Same M and device: opens.
  auto same = Wrap(master_);
  EXPECT_TRUE(same->OpenRecord(*sealed, aad).ok());
}

TEST_F(MasterKeyedStoreTest, InboxWrapSecretIsDeterministicPerSaltAndMasterKey) {
  auto a = store_->InboxWrapSecret(Bytes("salt-a"));
  auto a2 = store_->InboxWrapSecret(Bytes("salt-a"));
  auto b = store_->InboxWrapSecret(Bytes("salt-b"));
  ASSERT_TRUE(a.ok() && a2.ok() && b.ok());
  EXPECT_TRUE(a->Equals(*a2));
  EXPECT_FALSE(a->Equals(*b));
  auto other = Wrap(crypto::RandomSecret(32));
  auto c = other->InboxWrapSecret(Bytes("salt-a"));
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(a->Equals(*c));
}

TEST_F(MasterKeyedStoreTest, CostsNoDeviceOperationBeyondTheInnerStore) {
  calls_.clear();
  const uint64_t ops_before = store_->device_operations();
  auto h = store_->KeyedHash("p", Bytes("d"));
  auto s = store_->SealRecord(Bytes("x"), Bytes("a"));
  ASSERT_TRUE(h.ok() && s.ok());
  auto o = store_->OpenRecord(*s, Bytes("a"));
  auto w = store_->InboxWrapSecret(Bytes("salt"));
  ASSERT_TRUE(o.ok() && w.ok());
  EXPECT_TRUE(store_->Probe().ok());
  EXPECT_EQ(calls_, (std::map<std::string, int>{{"KeyedHash", 1},
                                                {"SealRecord", 1},
                                                {"OpenRecord", 1},
                                                {"InboxWrapSecret", 1},
                                                {"Probe", 1}}));
  // device_operations is the inner store's count: one InboxWrapSecret, nothing else.
  EXPECT_EQ(store_->device_operations(), ops_before + 1);
  EXPECT_EQ(store_->device_operations(), counting_->device_operations());
  EXPECT_EQ(store_->backend_name(), "counting");
  EXPECT_EQ(&store_->inner(), counting_);
}

TEST_F(MasterKeyedStoreTest, ProbeFailureIsForwarded) {
  counting_->fail_probe_ = true;
  auto r = store_->Probe();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(MasterKeyedStoreTest, CreateRefusesAShortMasterKeyOrNoStore) {
  auto counting = std::make_unique<CountingStore>(*device_, calls_);
  auto r = MasterKeyedStore::Create(std::move(counting), SecretBytes(16));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  auto none = MasterKeyedStore::Create(nullptr, master_);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace onionmail::hsm
