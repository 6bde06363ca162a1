// Pkcs11Token TLS key: an EC key pair on prime256v1 labelled
// "onionmaild-tls-ec", made by CKM_EC_KEY_PAIR_GEN inside the token and used
// only through CKM_ECDSA (the caller hashes). The public key is the public
// object's CKA_EC_POINT, turned into a SubjectPublicKeyInfo by OpenSSL after
// checking that the point lies on the curve. See pkcs11_token.h for the
// contract.
#include <p11-kit/pkcs11.h>

#include <cstring>
#include <memory>
#include <string>

#include "base/log.h"
#include "crypto/ec_p256.h"
#include "hsm/pkcs11/pkcs11_token.h"

namespace onionmail::hsm {
namespace {

constexpr char kLogComponent[] = "hsm.pkcs11";
constexpr size_t kCoordinateBytes = 32;                   // P-256
constexpr size_t kPointBytes = 1 + 2 * kCoordinateBytes;  // 04 || x || y
constexpr size_t kSignatureBytes = 2 * kCoordinateBytes;  // r || s
constexpr size_t kDigestBytes = 32;                       // what TlsSign accepts
// DER of the OID prime256v1 (1.2.840.10045.3.1.7): the CKA_EC_PARAMS value.
constexpr CK_BYTE kP256Params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, void* value, size_t size) {
  return CK_ATTRIBUTE{type, value, static_cast<CK_ULONG>(size)};
}
CK_ATTRIBUTE LabelAttr() {
  return Attr(CKA_LABEL, const_cast<char*>(kPkcs11TlsLabel), std::strlen(kPkcs11TlsLabel));
}

// The uncompressed point inside CKA_EC_POINT: PKCS#11 2.40 asks for the DER
// OCTET STRING (SoftHSM2 does that); some tokens give the raw point. The two
// forms cannot be confused (67 and 65 bytes).
Result<std::vector<uint8_t>> UnwrapEcPoint(const std::vector<uint8_t>& value) {
  if (value.size() == kPointBytes + 2 && value[0] == 0x04 && value[1] == kPointBytes &&
      value[2] == 0x04) {
    return std::vector<uint8_t>(value.begin() + 2, value.end());
  }
  if (value.size() == kPointBytes && value[0] == 0x04) return value;
  return MakeError(ErrorCode::kFailedPrecondition,
                   "CKA_EC_POINT of the TLS key is not an uncompressed P-256 point (" +
                       std::to_string(value.size()) + " bytes)");
}

}  // namespace

Result<unsigned long> Pkcs11Token::TlsKey() {
  if (tls_key_ != 0) return tls_key_;
  auto key = FindObject(CKO_PRIVATE_KEY, kPkcs11TlsLabel);
  if (!key.ok()) return key.error();
  if (!key->has_value()) {
    return MakeError(ErrorCode::kNotFound, std::string("key ") + kPkcs11TlsLabel +
                                               " not provisioned on token " + options_.token_label);
  }
  tls_key_ = **key;
  return tls_key_;
}

Result<void> Pkcs11Token::ProvisionTlsKeyLocked() {
  auto existing = FindObject(CKO_PRIVATE_KEY, kPkcs11TlsLabel);
  if (!existing.ok()) return existing.error();
  if (!existing->has_value()) {
    // A public half without its private key is an orphan of an interrupted
    // run: remove it so that exactly one pair carries the label.
    auto orphans = FindObjects(CKO_PUBLIC_KEY, kPkcs11TlsLabel);
    if (!orphans.ok()) return orphans.error();
    for (unsigned long orphan : *orphans) {
      CK_RV rv = module_->C_DestroyObject(session_, orphan);
      if (rv != CKR_OK) return Fail("C_DestroyObject (TLS key)", rv);
    }
    CK_BYTE id[] = {'o', 'm', 't', 'l', 's'};
    CK_ATTRIBUTE pub[] = {
        Attr(CKA_EC_PARAMS, const_cast<CK_BYTE*>(kP256Params), sizeof(kP256Params)),
        LabelAttr(),
        Attr(CKA_ID, id, sizeof(id)),
        Attr(CKA_TOKEN, &kTrue, 1),
        Attr(CKA_PRIVATE, &kTrue, 1),
        Attr(CKA_VERIFY, &kTrue, 1),
        Attr(CKA_ENCRYPT, &kFalse, 1),
        Attr(CKA_WRAP, &kFalse, 1),
        Attr(CKA_DERIVE, &kFalse, 1),
    };
    CK_ATTRIBUTE priv[] = {
        LabelAttr(),
        Attr(CKA_ID, id, sizeof(id)),
        Attr(CKA_TOKEN, &kTrue, 1),
        Attr(CKA_PRIVATE, &kTrue, 1),
        Attr(CKA_SENSITIVE, &kTrue, 1),
        Attr(CKA_EXTRACTABLE, &kFalse, 1),
        Attr(CKA_SIGN, &kTrue, 1),
        Attr(CKA_DECRYPT, &kFalse, 1),
        Attr(CKA_UNWRAP, &kFalse, 1),
        Attr(CKA_DERIVE, &kFalse, 1),
    };
    CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE pub_key = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE priv_key = CK_INVALID_HANDLE;
    CK_RV rv = module_->C_GenerateKeyPair(session_, &mech, pub, std::size(pub), priv,
                                          std::size(priv), &pub_key, &priv_key);
    if (rv != CKR_OK) return Fail("C_GenerateKeyPair (EC P-256)", rv);
    ++operations_;
    tls_key_ = priv_key;
    tls_public_key_der_.reset();
    log::Info(kLogComponent, "created the TLS key (ECDSA P-256) on token " + options_.token_label);
  }
  return LoadTlsPublicKeyLocked();  // a pair this object cannot use fails Provision
}

Result<void> Pkcs11Token::LoadTlsPublicKeyLocked() {
  if (tls_public_key_der_.has_value()) return Ok();
  auto key = TlsKey();  // kNotFound on a token provisioned before the TLS key
  if (!key.ok()) return key.error();
  auto pub = FindObject(CKO_PUBLIC_KEY, kPkcs11TlsLabel);
  if (!pub.ok()) return pub.error();
  if (!pub->has_value()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     std::string("the public half of ") + kPkcs11TlsLabel +
                         " is missing on token " + options_.token_label +
                         " (destroy the private key to provision anew)");
  }
  auto params = ReadAttribute(**pub, CKA_EC_PARAMS);
  if (!params.ok()) return params.error();
  if (params->size() != sizeof(kP256Params) ||
      std::memcmp(params->data(), kP256Params, sizeof(kP256Params)) != 0) {
    return MakeError(ErrorCode::kFailedPrecondition, std::string(kPkcs11TlsLabel) + " on token " +
                                                         options_.token_label +
                                                         " is not on the curve prime256v1");
  }
  auto value = ReadAttribute(**pub, CKA_EC_POINT);
  if (!value.ok()) return value.error();
  auto point = UnwrapEcPoint(*value);
  if (!point.ok()) return point.error();
  auto der = crypto::P256SpkiFromPoint(*point);
  if (!der.ok()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "public point of the TLS key is not a valid P-256 point");
  }
  tls_public_key_der_ = std::move(der).value();
  return Ok();
}

Result<std::vector<uint8_t>> Pkcs11Token::TlsPublicKey() {
  std::lock_guard<std::mutex> lock(mu_);
  if (tls_public_key_der_.has_value()) return *tls_public_key_der_;
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  ONIONMAIL_RETURN_IF_ERROR(LoadTlsPublicKeyLocked());
  return *tls_public_key_der_;
}

Result<std::vector<uint8_t>> Pkcs11Token::TlsSign(std::span<const uint8_t> digest) {
  if (digest.size() != kDigestBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "TLS signature digest must be 32 bytes, not " + std::to_string(digest.size()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  auto key = TlsKey();
  if (!key.ok()) return key.error();
  CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
  CK_RV rv = module_->C_SignInit(session_, &mech, *key);
  if (rv != CKR_OK) return Fail("C_SignInit (ECDSA)", rv);
  std::vector<uint8_t> signature(kSignatureBytes);
  CK_ULONG signature_len = signature.size();
  rv = module_->C_Sign(session_, const_cast<CK_BYTE_PTR>(digest.data()), digest.size(),
                       signature.data(), &signature_len);
  if (rv != CKR_OK) return Fail("C_Sign (ECDSA)", rv);
  if (signature_len != kSignatureBytes) {
    return MakeError(ErrorCode::kInternal, "token returned an ECDSA signature of " +
                                               std::to_string(signature_len) + " bytes, not 64");
  }
  ++operations_;
  return signature;
}

}  // namespace onionmail::hsm
