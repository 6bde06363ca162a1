// ECDSA P-256 helpers shared by the TLS key's backends (hsm/pkcs11,
// hsm/tpm2, the file backend in server/state.cc) and the TLS identity check.
//
// Contract:
//  - SpkiDer(): the DER SubjectPublicKeyInfo of any public key (kInternal when
//    OpenSSL cannot encode it).
//  - P256SpkiFromPoint(): the SubjectPublicKeyInfo (id-ecPublicKey, namedCurve
//    prime256v1) of an uncompressed point 04 || x || y; kInvalidArgument when
//    the point is not on the curve (public check: on the curve, not the point
//    at infinity). Callers map the code to their own (a device's bad point is
//    kDataLoss or kFailedPrecondition there).
//  - EcdsaP256SignRaw(): ECDSA with a P-256 private key held in this process
//    over a 32-byte digest, as r || s (32 bytes each, big-endian) like
//    hsm::Token::TlsSign; kInvalidArgument for another digest size or key.
// OpenSSL's error queue is left empty on every failure.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::crypto {

inline constexpr size_t kP256PointBytes = 65;      // 04 || x || y
inline constexpr size_t kP256SignatureBytes = 64;  // r || s
inline constexpr size_t kP256DigestBytes = 32;

[[nodiscard]] Result<std::vector<uint8_t>> SpkiDer(const EVP_PKEY* key);
[[nodiscard]] Result<std::vector<uint8_t>> P256SpkiFromPoint(std::span<const uint8_t> point);
[[nodiscard]] Result<std::vector<uint8_t>> EcdsaP256SignRaw(EVP_PKEY* key,
                                                            std::span<const uint8_t> digest);

}  // namespace onionmail::crypto
