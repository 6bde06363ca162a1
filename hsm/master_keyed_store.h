// hsm::MasterKeyedStore: a KeyStore decorator that mixes the unsealed master key M
// (src/unseal/master_key.h) into every key the inner (device) KeyStore derives, so that the
// server's data needs both the device and M (i.e. t of the unseal shares).
//
// Subkeys, derived once in Create() with HKDF-SHA256 (empty salt, L = 32) from M:
//   names_key  = HKDF(M, info = "onionmail names v1")
//   record_key = HKDF(M, info = "onionmail record v1")
//   inbox_key  = HKDF(M, info = "onionmail inbox-wrap key v1")
// Operations:
//   KeyedHash(purpose, data) = HMAC-SHA256(names_key, inner.KeyedHash(purpose, data))
//   SealRecord(pt, aad)      = AeadSeal(record_key, inner.SealRecord(pt, aad), aad)
//   OpenRecord(sealed, aad)  = inner.OpenRecord(AeadOpen(record_key, sealed, aad), aad)
//   InboxWrapSecret(input)   = HKDF(ikm = inner.InboxWrapSecret(input) || inbox_key,
//                                   info = "onionmail inbox-wrap v1", L = 32)
//   Probe, device_operations, backend_name: forwarded to the inner store.
//
// Contract: the same as hsm::KeyStore (hsm/key_store.h): no method returns key bytes;
// KeyedHash is deterministic; OpenRecord returns kDataLoss on any mismatch (wrong M, wrong
// device, wrong aad, tampering); other errors of the inner store (e.g. kUnavailable) pass
// through unchanged. Every call makes exactly the inner store's calls (one per
// operation), so it costs no device operation beyond the inner store's. M is not kept, only
// the three subkeys (SecretBytes, wiped on destruction). Thread-safe if the inner store is.
// Links no device library: it only wraps the interface.
#pragma once

#include <memory>

#include "hsm/key_store.h"

namespace onionmail::hsm {

class MasterKeyedStore : public KeyStore {
 public:
  // M must be 32 bytes (kInvalidArgument); `inner` must not be null.
  static Result<std::unique_ptr<MasterKeyedStore>> Create(std::unique_ptr<KeyStore> inner,
                                                          const SecretBytes& master_key);

  std::string_view backend_name() const override { return inner_->backend_name(); }
  Result<std::array<uint8_t, 32>> KeyedHash(std::string_view purpose,
                                            std::span<const uint8_t> data) override;
  Result<std::vector<uint8_t>> SealRecord(std::span<const uint8_t> plaintext,
                                          std::span<const uint8_t> aad) override;
  Result<SecretBytes> OpenRecord(std::span<const uint8_t> sealed,
                                 std::span<const uint8_t> aad) override;
  Result<SecretBytes> InboxWrapSecret(std::span<const uint8_t> input) override;
  Result<void> Probe() override { return inner_->Probe(); }
  uint64_t device_operations() const override { return inner_->device_operations(); }
  // Erasable keys are the device's alone (M is not mixed in): forwarded.
  Result<void> CreateErasable(uint64_t epoch) override { return inner_->CreateErasable(epoch); }
  Result<std::vector<uint8_t>> SealErasable(uint64_t epoch, std::span<const uint8_t> plaintext,
                                            std::span<const uint8_t> aad) override {
    return inner_->SealErasable(epoch, plaintext, aad);
  }
  Result<SecretBytes> OpenErasable(uint64_t epoch, std::span<const uint8_t> sealed,
                                   std::span<const uint8_t> aad) override {
    return inner_->OpenErasable(epoch, sealed, aad);
  }
  Result<void> EraseErasable(uint64_t epoch) override { return inner_->EraseErasable(epoch); }
  Result<std::vector<uint64_t>> ErasableEpochs() override { return inner_->ErasableEpochs(); }

  // The device store alone (e.g. to re-enrol the master key, which the device seals).
  KeyStore& inner() { return *inner_; }

 private:
  MasterKeyedStore(std::unique_ptr<KeyStore> inner, SecretBytes names_key, SecretBytes record_key,
                   SecretBytes inbox_key)
      : inner_(std::move(inner)),
        names_key_(std::move(names_key)),
        record_key_(std::move(record_key)),
        inbox_key_(std::move(inbox_key)) {}

  std::unique_ptr<KeyStore> inner_;
  const SecretBytes names_key_;
  const SecretBytes record_key_;
  const SecretBytes inbox_key_;
};

}  // namespace onionmail::hsm
