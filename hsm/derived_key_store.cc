// DerivedKeyStore implementation.
#include "hsm/derived_key_store.h"

#include <algorithm>

#include "crypto/aead.h"
#include "crypto/kdf.h"

namespace onionmail::hsm {

namespace {
std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
constexpr std::string_view kRecordLabel = "onionmail record v1";
constexpr std::string_view kNamesLabel = "onionmail keyed-hash v1";
constexpr std::string_view kInboxLabel = "onionmail inbox-wrap v1";
constexpr std::string_view kErasableSealLabel = "onionmail erasable seal v1";
}  // namespace

Result<std::unique_ptr<DerivedKeyStore>> DerivedKeyStore::Create(std::string backend,
                                                                 DeriveFn derive, ProbeFn probe,
                                                                 CountFn count,
                                                                 ErasableOps erasable) {
  if (!erasable.create || !erasable.derive || !erasable.erase || !erasable.epochs) {
    return MakeError(ErrorCode::kInvalidArgument, "key store backend without erasable keys");
  }
  std::unique_ptr<DerivedKeyStore> store(new DerivedKeyStore(std::move(backend), std::move(derive),
                                                             std::move(probe), std::move(count),
                                                             std::move(erasable)));
  auto record = store->derive_(Bytes(kRecordLabel));
  if (!record.ok()) return record.error();
  auto names = store->derive_(Bytes(kNamesLabel));
  if (!names.ok()) return names.error();
  if (record->size() != crypto::kAeadKeyBytes || names->size() != 32) {
    return MakeError(ErrorCode::kInternal, "key store derived a root of the wrong size");
  }
  store->record_key_ = std::move(*record);
  store->names_root_ = std::move(*names);
  return store;
}

Result<std::array<uint8_t, 32>> DerivedKeyStore::KeyedHash(std::string_view purpose,
                                                           std::span<const uint8_t> data) {
  if (purpose.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty keyed-hash purpose");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hash_keys_.find(std::string(purpose));
  if (it == hash_keys_.end()) {
    auto subkey = crypto::HkdfSha256(names_root_, {}, purpose, 32);
    if (!subkey.ok()) return subkey.error();
    it = hash_keys_.emplace(std::string(purpose), std::move(*subkey)).first;
  }
  return crypto::HmacSha256(it->second, data);
}

Result<std::vector<uint8_t>> DerivedKeyStore::SealRecord(std::span<const uint8_t> plaintext,
                                                         std::span<const uint8_t> aad) {
  return crypto::AeadSeal(record_key_, plaintext, aad);
}

Result<SecretBytes> DerivedKeyStore::OpenRecord(std::span<const uint8_t> sealed,
                                                std::span<const uint8_t> aad) {
  auto opened = crypto::AeadOpen(record_key_, sealed, aad);
  if (!opened.ok()) return MakeError(ErrorCode::kDataLoss, "sealed record failed authentication");
  return opened;
}

Result<SecretBytes> DerivedKeyStore::InboxWrapSecret(std::span<const uint8_t> input) {
  // `input` carries a password factor (key_store.h): the label is a secret.
  SecretBytes label(kInboxLabel.size() + input.size());
  auto out = label.Reveal(SecretAccess::Grant());
  std::copy(kInboxLabel.begin(), kInboxLabel.end(), out.begin());
  std::copy(input.begin(), input.end(),
            out.begin() + static_cast<std::ptrdiff_t>(kInboxLabel.size()));
  return derive_(out);
}

Result<void> DerivedKeyStore::CreateErasable(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  return erasable_.create(epoch);
}

Result<const SecretBytes*> DerivedKeyStore::ErasableKeyLocked(uint64_t epoch) {
  auto it = erasable_keys_.find(epoch);
  if (it == erasable_keys_.end()) {
    auto key = erasable_.derive(epoch, Bytes(kErasableSealLabel));
    if (!key.ok()) return key.error();
    if (key->size() != crypto::kAeadKeyBytes) {
      return MakeError(ErrorCode::kInternal, "erasable key of the wrong size");
    }
    it = erasable_keys_.emplace(epoch, std::move(*key)).first;
  }
  return &it->second;
}

Result<std::vector<uint8_t>> DerivedKeyStore::SealErasable(uint64_t epoch,
                                                           std::span<const uint8_t> plaintext,
                                                           std::span<const uint8_t> aad) {
  std::lock_guard<std::mutex> lock(mu_);
  auto key = ErasableKeyLocked(epoch);
  if (!key.ok()) return key.error();
  return crypto::AeadSeal(**key, plaintext, aad);
}

Result<SecretBytes> DerivedKeyStore::OpenErasable(uint64_t epoch, std::span<const uint8_t> sealed,
                                                  std::span<const uint8_t> aad) {
  std::lock_guard<std::mutex> lock(mu_);
  auto key = ErasableKeyLocked(epoch);
  if (!key.ok()) return key.error();
  auto opened = crypto::AeadOpen(**key, sealed, aad);
  if (!opened.ok()) return MakeError(ErrorCode::kDataLoss, "erasable seal failed authentication");
  return opened;
}

Result<void> DerivedKeyStore::EraseErasable(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  erasable_keys_.erase(epoch);  // SecretBytes wipes the cached key
  return erasable_.erase(epoch);
}

}  // namespace onionmail::hsm
