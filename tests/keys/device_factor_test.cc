// The key-store device as a factor: opening an inbox needs the POP3 password
// AND the device's InboxWrapSecret; a missing device gives temporary
// failures (never "wrong password"), for logins and deliveries alike.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "hsm/forwarding_key_store.h"
#include "keys/local_key_service.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::TempDir;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

// Delegates to a real file key store; the device half and the presence probe
// can be switched to "gone" or "another device".
class SwitchableKeyStore : public hsm::ForwardingKeyStore {
 public:
  explicit SwitchableKeyStore(std::unique_ptr<hsm::KeyStore> inner)
      : ForwardingKeyStore(*inner), inner_(std::move(inner)) {}
  std::string_view backend_name() const override { return "switchable"; }
  Result<SecretBytes> InboxWrapSecret(std::span<const uint8_t> salt) override {
    ++device_ops;
    if (gone) return MakeError(ErrorCode::kUnavailable, "device removed");
    if (other_device) return SecretBytes(32);  // all zeros: not this device's secret
    return inner_->InboxWrapSecret(salt);
  }
  Result<SecretBytes> OpenRecord(std::span<const uint8_t> sealed,
                                 std::span<const uint8_t> aad) override {
    if (records_gone) return MakeError(ErrorCode::kUnavailable, "device busy");
    return inner_->OpenRecord(sealed, aad);
  }
  Result<void> Probe() override {
    if (gone) return MakeError(ErrorCode::kUnavailable, "device removed");
    return Ok();
  }
  uint64_t device_operations() const override { return device_ops; }

  bool gone = false;
  bool other_device = false;
  bool records_gone = false;  // OpenRecord only
  uint64_t device_ops = 0;

 private:
  std::unique_ptr<hsm::KeyStore> inner_;
};

class DeviceFactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    store_ = std::make_unique<SwitchableKeyStore>(std::move(*ks));
    LocalKeyService::Options o;
    o.state_dir = dir_.path();
    o.kdf = crypto::Argon2Params{1, 8192, 1};
    o.rsa_bits = 2048;
    service_ = std::make_unique<LocalKeyService>(*store_, o);
    ASSERT_TRUE(service_->CreateUser("bob", Pw("smtp-secret"), Pw("pop3-secret")).ok());
  }
  TempDir dir_;
  std::unique_ptr<SwitchableKeyStore> store_;
  std::unique_ptr<LocalKeyService> service_;
};

TEST_F(DeviceFactorTest, RightPasswordWithAnotherDeviceCannotOpenTheInbox) {
  store_->other_device = true;
  auto inbox = service_->OpenInbox("bob", Pw("pop3-secret"));
  ASSERT_FALSE(inbox.ok());
  EXPECT_EQ(inbox.error().code, ErrorCode::kUnauthenticated);
  store_->other_device = false;
  EXPECT_TRUE(service_->OpenInbox("bob", Pw("pop3-secret")).ok());
}

TEST_F(DeviceFactorTest, MissingDeviceMakesLoginsTemporaryFailures) {
  store_->gone = true;
  auto inbox = service_->OpenInbox("bob", Pw("pop3-secret"));
  ASSERT_FALSE(inbox.ok());
  EXPECT_EQ(inbox.error().code, ErrorCode::kUnavailable);
}

TEST_F(DeviceFactorTest, MissingDeviceMakesDeliveriesTemporaryFailuresAndRecovers) {
  store_->gone = true;
  auto user = service_->LookupUser("bob");
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.error().code, ErrorCode::kUnavailable);
  store_->gone = false;
  // The probe result is cached for one second.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(service_->LookupUser("bob").ok());
}

TEST_F(DeviceFactorTest, ADeviceThatCannotOpenARecordNowIsATemporaryFailureNotADamagedRecord) {
  store_->records_gone = true;
  auto smtp = service_->VerifySmtpPassword("bob", Pw("smtp-secret"));
  ASSERT_FALSE(smtp.ok());
  EXPECT_EQ(smtp.error().code, ErrorCode::kUnavailable);
  auto inbox = service_->OpenInbox("bob", Pw("pop3-secret"));
  ASSERT_FALSE(inbox.ok());
  EXPECT_EQ(inbox.error().code, ErrorCode::kUnavailable);
  auto census = service_->CensusRecords();
  ASSERT_FALSE(census.ok()) << "a record the device cannot open now is not counted unreadable";
  EXPECT_EQ(census.error().code, ErrorCode::kUnavailable);
  store_->records_gone = false;
  EXPECT_TRUE(service_->VerifySmtpPassword("bob", Pw("smtp-secret")).ok());
  auto recovered = service_->CensusRecords();
  ASSERT_TRUE(recovered.ok());
  EXPECT_EQ(recovered->unreadable, 0u);
}

TEST_F(DeviceFactorTest, OneDeviceOperationPerLoginAndNonePerLookup) {
  uint64_t before = store_->device_ops;
  ASSERT_TRUE(service_->LookupUser("bob").ok());
  EXPECT_EQ(store_->device_ops, before);
  ASSERT_TRUE(service_->OpenInbox("bob", Pw("pop3-secret")).ok());
  EXPECT_EQ(store_->device_ops, before + 1);
}

}  // namespace
}  // namespace onionmail::keys
