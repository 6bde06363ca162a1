// DerivedKeyStore: the software half shared by every KeyStore backend.
//
// A backend supplies one function, Derive(label) -> 32 secret bytes, computed
// with the backend's root key (file: HMAC-SHA256 under the 0600 key file;
// token: HMAC-SHA256 inside the PKCS#11 token or TPM). At Init() two roots are
// derived and kept in SecretBytes for the life of the key role:
//   record key  = Derive("onionmail record v1")       -> AES-256-GCM records
//   names root  = Derive("onionmail keyed-hash v1")   -> per-purpose subkeys
//   KeyedHash(purpose, data) = HMAC-SHA256(HKDF(names root, info=purpose), data)
//   InboxWrapSecret(input)   = Derive("onionmail inbox-wrap v1" || input)
// so only InboxWrapSecret touches the device after start-up.
//
// Erasable keys (KeyStore::CreateErasable...) come from the backend's
// ErasableOps: seal key(epoch) = ops.derive(epoch, "onionmail erasable seal v1"),
// derived at first use and cached until EraseErasable(epoch), which wipes the
// cached key before it asks the backend to destroy the secret.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hsm/key_store.h"

namespace onionmail::hsm {

// The backend's erasable secrets (hsm/token.h has the contract).
struct ErasableOps {
  std::function<Result<void>(uint64_t epoch)> create;
  std::function<Result<SecretBytes>(uint64_t epoch, std::span<const uint8_t> label)> derive;
  std::function<Result<void>(uint64_t epoch)> erase;
  std::function<Result<std::vector<uint64_t>>()> epochs;
};

class DerivedKeyStore : public KeyStore {
 public:
  using DeriveFn = std::function<Result<SecretBytes>(std::span<const uint8_t> label)>;
  using ProbeFn = std::function<Result<void>()>;
  using CountFn = std::function<uint64_t()>;

  // Derives the roots; fails if the backend cannot derive.
  static Result<std::unique_ptr<DerivedKeyStore>> Create(std::string backend, DeriveFn derive,
                                                         ProbeFn probe, CountFn count,
                                                         ErasableOps erasable);

  std::string_view backend_name() const override { return backend_; }
  Result<std::array<uint8_t, 32>> KeyedHash(std::string_view purpose,
                                            std::span<const uint8_t> data) override;
  Result<std::vector<uint8_t>> SealRecord(std::span<const uint8_t> plaintext,
                                          std::span<const uint8_t> aad) override;
  Result<SecretBytes> OpenRecord(std::span<const uint8_t> sealed,
                                 std::span<const uint8_t> aad) override;
  Result<SecretBytes> InboxWrapSecret(std::span<const uint8_t> input) override;
  Result<void> Probe() override { return probe_(); }
  uint64_t device_operations() const override { return count_(); }
  Result<void> CreateErasable(uint64_t epoch) override;
  Result<std::vector<uint8_t>> SealErasable(uint64_t epoch, std::span<const uint8_t> plaintext,
                                            std::span<const uint8_t> aad) override;
  Result<SecretBytes> OpenErasable(uint64_t epoch, std::span<const uint8_t> sealed,
                                   std::span<const uint8_t> aad) override;
  Result<void> EraseErasable(uint64_t epoch) override;
  Result<std::vector<uint64_t>> ErasableEpochs() override { return erasable_.epochs(); }

 private:
  DerivedKeyStore(std::string backend, DeriveFn derive, ProbeFn probe, CountFn count,
                  ErasableOps erasable)
      : backend_(std::move(backend)),
        derive_(std::move(derive)),
        probe_(std::move(probe)),
        count_(std::move(count)),
        erasable_(std::move(erasable)) {}

  // The cached seal key of `epoch` (derived at first use); call with mu_ held.
  Result<const SecretBytes*> ErasableKeyLocked(uint64_t epoch);

  std::string backend_;
  DeriveFn derive_;
  ProbeFn probe_;
  CountFn count_;
  ErasableOps erasable_;
  SecretBytes record_key_;
  SecretBytes names_root_;
  std::mutex mu_;
  std::map<std::string, SecretBytes> hash_keys_;   // purpose -> HMAC subkey
  std::map<uint64_t, SecretBytes> erasable_keys_;  // epoch -> seal key
};

}  // namespace onionmail::hsm
