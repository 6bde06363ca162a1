// MasterKeyedStore implementation; see master_keyed_store.h.
#include "hsm/master_keyed_store.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "crypto/aead.h"
#include "crypto/kdf.h"

namespace onionmail::hsm {

namespace {
constexpr size_t kMasterKeyBytes = 32;
constexpr size_t kSubkeyBytes = 32;
constexpr std::string_view kNamesInfo = "onionmail names v1";
constexpr std::string_view kRecordInfo = "onionmail record v1";
constexpr std::string_view kInboxKeyInfo = "onionmail inbox-wrap key v1";
constexpr std::string_view kInboxInfo = "onionmail inbox-wrap v1";

Error RecordError() {
  return MakeError(ErrorCode::kDataLoss, "sealed record failed authentication");
}
}  // namespace

Result<std::unique_ptr<MasterKeyedStore>> MasterKeyedStore::Create(std::unique_ptr<KeyStore> inner,
                                                                   const SecretBytes& master_key) {
  if (!inner) return MakeError(ErrorCode::kInvalidArgument, "master-keyed store needs a key store");
  if (master_key.size() != kMasterKeyBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "master key must be 32 bytes");
  }
  auto names = crypto::HkdfSha256(master_key, {}, kNamesInfo, kSubkeyBytes);
  if (!names.ok()) return names.error();
  auto record = crypto::HkdfSha256(master_key, {}, kRecordInfo, kSubkeyBytes);
  if (!record.ok()) return record.error();
  auto inbox = crypto::HkdfSha256(master_key, {}, kInboxKeyInfo, kSubkeyBytes);
  if (!inbox.ok()) return inbox.error();
  return std::unique_ptr<MasterKeyedStore>(new MasterKeyedStore(
      std::move(inner), std::move(*names), std::move(*record), std::move(*inbox)));
}

Result<std::array<uint8_t, 32>> MasterKeyedStore::KeyedHash(std::string_view purpose,
                                                            std::span<const uint8_t> data) {
  auto inner_hash = inner_->KeyedHash(purpose, data);
  if (!inner_hash.ok()) return inner_hash.error();
  auto out = crypto::HmacSha256(names_key_, *inner_hash);
  WipeMemory(inner_hash->data(), inner_hash->size());
  return out;
}

Result<std::vector<uint8_t>> MasterKeyedStore::SealRecord(std::span<const uint8_t> plaintext,
                                                          std::span<const uint8_t> aad) {
  auto inner_sealed = inner_->SealRecord(plaintext, aad);
  if (!inner_sealed.ok()) return inner_sealed.error();
  return crypto::AeadSeal(record_key_, *inner_sealed, aad);
}

Result<SecretBytes> MasterKeyedStore::OpenRecord(std::span<const uint8_t> sealed,
                                                 std::span<const uint8_t> aad) {
  auto outer = crypto::AeadOpen(record_key_, sealed, aad);
  if (!outer.ok()) return RecordError();
  auto opened = inner_->OpenRecord(std::as_const(*outer).Reveal(SecretAccess::Grant()), aad);
  if (!opened.ok()) {
    // A device that is unavailable is not a bad record: keep that error as it is.
    if (opened.error().code != ErrorCode::kDataLoss) return opened.error();
    return RecordError();
  }
  return opened;
}

Result<SecretBytes> MasterKeyedStore::InboxWrapSecret(std::span<const uint8_t> input) {
  auto device_half = inner_->InboxWrapSecret(input);
  if (!device_half.ok()) return device_half.error();
  const SecretAccess access = SecretAccess::Grant();
  SecretBytes ikm(device_half->size() + inbox_key_.size());
  auto out = ikm.Reveal(access);
  const auto a = std::as_const(*device_half).Reveal(access);
  const auto b = inbox_key_.Reveal(access);
  std::copy(a.begin(), a.end(), out.begin());
  std::copy(b.begin(), b.end(), out.begin() + static_cast<std::ptrdiff_t>(a.size()));
  return crypto::HkdfSha256(ikm, {}, kInboxInfo, kSubkeyBytes);
}

}  // namespace onionmail::hsm
