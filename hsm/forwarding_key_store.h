// hsm::ForwardingKeyStore: a non-owning KeyStore that forwards every call to
// another one. Base class for views and test doubles that change one or two
// behaviours (override those, inherit the rest). The target must outlive it.
#pragma once

#include "hsm/key_store.h"

namespace onionmail::hsm {

class ForwardingKeyStore : public KeyStore {
 public:
  explicit ForwardingKeyStore(KeyStore& target) : target_(target) {}

  std::string_view backend_name() const override { return target_.backend_name(); }
  Result<std::array<uint8_t, 32>> KeyedHash(std::string_view purpose,
                                            std::span<const uint8_t> data) override {
    return target_.KeyedHash(purpose, data);
  }
  Result<std::vector<uint8_t>> SealRecord(std::span<const uint8_t> plaintext,
                                          std::span<const uint8_t> aad) override {
    return target_.SealRecord(plaintext, aad);
  }
  Result<SecretBytes> OpenRecord(std::span<const uint8_t> sealed,
                                 std::span<const uint8_t> aad) override {
    return target_.OpenRecord(sealed, aad);
  }
  Result<SecretBytes> InboxWrapSecret(std::span<const uint8_t> input) override {
    return target_.InboxWrapSecret(input);
  }
  Result<void> Probe() override { return target_.Probe(); }
  uint64_t device_operations() const override { return target_.device_operations(); }
  Result<void> CreateErasable(uint64_t epoch) override { return target_.CreateErasable(epoch); }
  Result<std::vector<uint8_t>> SealErasable(uint64_t epoch, std::span<const uint8_t> plaintext,
                                            std::span<const uint8_t> aad) override {
    return target_.SealErasable(epoch, plaintext, aad);
  }
  Result<SecretBytes> OpenErasable(uint64_t epoch, std::span<const uint8_t> sealed,
                                   std::span<const uint8_t> aad) override {
    return target_.OpenErasable(epoch, sealed, aad);
  }
  Result<void> EraseErasable(uint64_t epoch) override { return target_.EraseErasable(epoch); }
  Result<std::vector<uint64_t>> ErasableEpochs() override { return target_.ErasableEpochs(); }

 protected:
  KeyStore& target() { return target_; }

 private:
  KeyStore& target_;
};

}  // namespace onionmail::hsm
