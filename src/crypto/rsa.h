// RSA inbox keys: generation, DER (de)serialisation, RSA-OAEP key wrapping.
//
// Contract: OAEP uses SHA-256 with MGF1-SHA-256 and no label. Private keys are
// serialised only into SecretBytes (PKCS#8 DER) and are meant to be encrypted
// immediately (see keys/). Unwrap failures of any kind return kDataLoss
// without saying why (no padding oracle detail). Minimum size 2048 bits.
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

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

class RsaPublicKey {
 public:
  static Result<RsaPublicKey> FromDer(std::span<const uint8_t> der);  // SubjectPublicKeyInfo
  std::vector<uint8_t> ToDer() const;
  // SHA-256 of the DER SubjectPublicKeyInfo; recorded in every blob. Computed
  // once when the key object is made (OpenSSL 3.0's encoder is slow: bench/
  // measured a re-encoding per call as 16 % of the key role's CPU).
  std::array<uint8_t, 32> KeyId() const { return *key_id_; }
  Result<std::vector<uint8_t>> Wrap(const SecretBytes& key) const;  // RSA-OAEP-SHA256
  size_t ModulusBytes() const;

 private:
  explicit RsaPublicKey(EvpPkeyPtr key);
  RsaPublicKey(EvpPkeyPtr key, std::span<const uint8_t> canonical_der);  // id from these bytes
  std::shared_ptr<EVP_PKEY> key_;
  std::shared_ptr<const std::array<uint8_t, 32>> key_id_;
  friend class RsaPrivateKey;
};

class RsaPrivateKey {
 public:
  static Result<RsaPrivateKey> Generate(int bits);
  static Result<RsaPrivateKey> FromDer(const SecretBytes& pkcs8_der);
  Result<SecretBytes> ToDer() const;  // PKCS#8, unencrypted: wrap it at once
  RsaPublicKey Public() const;
  Result<SecretBytes> Unwrap(std::span<const uint8_t> wrapped) const;  // RSA-OAEP-SHA256

 private:
  explicit RsaPrivateKey(EvpPkeyPtr key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace onionmail::crypto
