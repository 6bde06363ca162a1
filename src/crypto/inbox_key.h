// Inbox keys: the per-mailbox key pair that every stored message's data key
// (DEK) is wrapped to. Two types (docs/store.md):
//   kX25519 (default for new mailboxes): HPKE base mode (RFC 9180),
//           DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM,
//           info "onionmail inbox dek v1", empty aad;
//           wrapped = enc (32) || AES-GCM(DEK) (32 + 16) = 80 bytes.
//   kRsa:   RSA-OAEP, SHA-256 with MGF1-SHA-256, no label, 2048..16384 bits;
//           wrapped = modulus bytes (256 for RSA-2048).
//
// Contract: public keys are SubjectPublicKeyInfo DER, private keys PKCS#8 DER
// (serialised only into SecretBytes and meant to be encrypted at once, see
// keys/); a key of any other type or size is kInvalidArgument. The key id is
// SHA-256 of the public key's DER. Unwrap failures of any kind return
// kDataLoss "key unwrap failed" without saying why (no oracle detail).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::crypto {

enum class InboxKeyType : uint8_t { kX25519, kRsa };

constexpr size_t kX25519WrappedBytes = 32 + 32 + 16;  // enc || DEK || tag (32-byte DEK)

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

class InboxPublicKey {
 public:
  static Result<InboxPublicKey> FromDer(std::span<const uint8_t> der);  // SubjectPublicKeyInfo
  std::vector<uint8_t> ToDer() const;
  // SHA-256 of the DER SubjectPublicKeyInfo; recorded in every blob. Computed
  // once when the key object is made (OpenSSL 3.0's encoder is slow: bench/
  // measured a re-encoding per call as 16 % of the key role's CPU).
  std::array<uint8_t, 32> KeyId() const { return *key_id_; }
  InboxKeyType type() const { return type_; }
  // Wraps a 32-byte DEK (RSA also takes other sizes up to its OAEP limit).
  Result<std::vector<uint8_t>> Wrap(const SecretBytes& key) const;
  size_t WrappedBytes() const;  // size of Wrap()'s output for a 32-byte key

 private:
  explicit InboxPublicKey(EvpPkeyPtr key);
  InboxPublicKey(EvpPkeyPtr key, std::span<const uint8_t> canonical_der);  // id from these bytes
  std::shared_ptr<EVP_PKEY> key_;
  std::shared_ptr<const std::array<uint8_t, 32>> key_id_;
  InboxKeyType type_ = InboxKeyType::kX25519;
  friend class InboxPrivateKey;
};

class InboxPrivateKey {
 public:
  static Result<InboxPrivateKey> GenerateX25519();
  static Result<InboxPrivateKey> GenerateRsa(int bits);
  static Result<InboxPrivateKey> FromDer(const SecretBytes& pkcs8_der);
  Result<SecretBytes> ToDer() const;  // PKCS#8, unencrypted: wrap it at once
  InboxPublicKey Public() const;
  InboxKeyType type() const { return type_; }
  Result<SecretBytes> Unwrap(std::span<const uint8_t> wrapped) const;

 private:
  explicit InboxPrivateKey(EvpPkeyPtr key);
  std::shared_ptr<EVP_PKEY> key_;
  InboxKeyType type_ = InboxKeyType::kX25519;
};

}  // namespace onionmail::crypto
