// Pkcs11Token implementation: error mapping, object lookup, provisioning and
// the key operations (the connection is in pkcs11_connect.cc). See
// pkcs11_token.h for the contract.
#include "hsm/pkcs11/pkcs11_token.h"

#include <p11-kit/pkcs11.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "base/log.h"
#include "crypto/random.h"
#include "hsm/pkcs11/pkcs11_support.h"

namespace onionmail::hsm {
namespace {

static_assert(std::is_same_v<CK_ULONG, unsigned long>);
static_assert(std::is_same_v<CK_RV, unsigned long>);
static_assert(std::is_same_v<CK_OBJECT_HANDLE, unsigned long>);
static_assert(std::is_same_v<CK_SLOT_ID, unsigned long>);
static_assert(std::is_same_v<CK_SESSION_HANDLE, unsigned long>);
static_assert(std::is_same_v<CK_FUNCTION_LIST, struct _CK_FUNCTION_LIST>);

constexpr char kLogComponent[] = "hsm.pkcs11";

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, void* value, size_t size) {
  return CK_ATTRIBUTE{type, value, static_cast<CK_ULONG>(size)};
}
CK_ATTRIBUTE LabelAttr(const char* label) {
  return Attr(CKA_LABEL, const_cast<char*>(label), std::strlen(label));
}

bool IsHandleError(CK_RV rv) {
  return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID;
}

}  // namespace

Error Pkcs11Token::Fail(const char* what, unsigned long rv) {
  std::string message = std::string(what) + " on PKCS#11 token " + options_.token_label +
                        " failed: " + pkcs11::CkrName(rv);
  if (pkcs11::IsDeviceError(rv) || IsHandleError(rv)) {
    connected_ = false;  // the next call reconnects
    hmac_key_ = 0;
    rsa_key_ = 0;
    tls_key_ = 0;
    return MakeError(ErrorCode::kUnavailable, std::move(message));
  }
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
      return MakeError(ErrorCode::kUnauthenticated, std::move(message));
    case CKR_ATTRIBUTE_SENSITIVE:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
      return MakeError(ErrorCode::kPermissionDenied, std::move(message));
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_ARGUMENTS_BAD:
    case CKR_KEY_TYPE_INCONSISTENT:
      return MakeError(ErrorCode::kFailedPrecondition, std::move(message));
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
      return MakeError(ErrorCode::kInvalidArgument, std::move(message));
    case CKR_HOST_MEMORY:
      return MakeError(ErrorCode::kResourceExhausted, std::move(message));
    default:
      return MakeError(ErrorCode::kInternal, std::move(message));
  }
}

Result<std::vector<unsigned long>> Pkcs11Token::FindObjects(unsigned long cls, const char* label) {
  CK_OBJECT_CLASS object_class = cls;
  CK_ATTRIBUTE tmpl[] = {Attr(CKA_CLASS, &object_class, sizeof(object_class)),
                         label != nullptr ? LabelAttr(label) : CK_ATTRIBUTE{}};
  CK_RV rv = module_->C_FindObjectsInit(session_, tmpl, label != nullptr ? 2 : 1);
  if (rv != CKR_OK) return Fail("C_FindObjectsInit", rv);
  std::vector<unsigned long> found;
  for (;;) {
    CK_OBJECT_HANDLE batch[8];
    CK_ULONG n = 0;
    rv = module_->C_FindObjects(session_, batch, 8, &n);
    if (rv != CKR_OK || n == 0) break;
    found.insert(found.end(), batch, batch + n);
  }
  module_->C_FindObjectsFinal(session_);
  if (rv != CKR_OK) return Fail("C_FindObjects", rv);
  return found;
}

Result<std::optional<unsigned long>> Pkcs11Token::FindObject(unsigned long cls, const char* label) {
  auto found = FindObjects(cls, label);
  if (!found.ok()) return found.error();
  if (found->empty()) return std::optional<unsigned long>();
  if (found->size() > 1) {
    return MakeError(ErrorCode::kFailedPrecondition, std::string("more than one object labelled ") +
                                                         label + " on token " +
                                                         options_.token_label);
  }
  return std::optional<unsigned long>(found->front());
}

Result<unsigned long> Pkcs11Token::HmacKey() {
  if (hmac_key_ != 0) return hmac_key_;
  auto key = FindObject(CKO_SECRET_KEY, kPkcs11HmacLabel);
  if (!key.ok()) return key.error();
  if (!key->has_value()) {
    return MakeError(ErrorCode::kNotFound, std::string("key ") + kPkcs11HmacLabel +
                                               " not provisioned on token " + options_.token_label);
  }
  hmac_key_ = **key;
  return hmac_key_;
}

Result<unsigned long> Pkcs11Token::RsaKey() {
  if (rsa_key_ != 0) return rsa_key_;
  auto key = FindObject(CKO_PRIVATE_KEY, kPkcs11RsaLabel);
  if (!key.ok()) return key.error();
  if (!key->has_value()) {
    return MakeError(ErrorCode::kNotFound, std::string("key ") + kPkcs11RsaLabel +
                                               " not provisioned on token " + options_.token_label);
  }
  rsa_key_ = **key;
  return rsa_key_;
}

Result<std::vector<uint8_t>> Pkcs11Token::ReadAttribute(unsigned long object, unsigned long type) {
  CK_ATTRIBUTE attr = Attr(type, nullptr, 0);
  CK_RV rv = module_->C_GetAttributeValue(session_, object, &attr, 1);
  if (rv != CKR_OK) return Fail("C_GetAttributeValue", rv);
  if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return Fail("C_GetAttributeValue", CKR_ATTRIBUTE_SENSITIVE);
  }
  std::vector<uint8_t> value(attr.ulValueLen);
  attr.pValue = value.data();
  rv = module_->C_GetAttributeValue(session_, object, &attr, 1);
  if (rv != CKR_OK) return Fail("C_GetAttributeValue", rv);
  value.resize(attr.ulValueLen);
  return value;
}

Result<void> Pkcs11Token::Provision(int rsa_bits) {
  if (rsa_bits < 2048 || rsa_bits > 8192 || rsa_bits % 8 != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "RSA key size must be a multiple of 8 between 2048 and 8192");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());

  auto hmac = FindObject(CKO_SECRET_KEY, kPkcs11HmacLabel);
  if (!hmac.ok()) return hmac.error();
  if (!hmac->has_value()) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {
        Attr(CKA_CLASS, &cls, sizeof(cls)),
        Attr(CKA_KEY_TYPE, &type, sizeof(type)),
        Attr(CKA_VALUE_LEN, &len, sizeof(len)),
        LabelAttr(kPkcs11HmacLabel),
        Attr(CKA_TOKEN, &kTrue, 1),
        Attr(CKA_PRIVATE, &kTrue, 1),
        Attr(CKA_SENSITIVE, &kTrue, 1),
        Attr(CKA_EXTRACTABLE, &kFalse, 1),
        Attr(CKA_SIGN, &kTrue, 1),
        Attr(CKA_VERIFY, &kTrue, 1),
        Attr(CKA_ENCRYPT, &kFalse, 1),
        Attr(CKA_DECRYPT, &kFalse, 1),
        Attr(CKA_WRAP, &kFalse, 1),
        Attr(CKA_UNWRAP, &kFalse, 1),
        Attr(CKA_DERIVE, &kFalse, 1),
    };
    CK_MECHANISM mech{CKM_GENERIC_SECRET_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_RV rv = module_->C_GenerateKey(session_, &mech, tmpl, std::size(tmpl), &key);
    if (rv != CKR_OK) return Fail("C_GenerateKey (HMAC)", rv);
    ++operations_;
    hmac_key_ = key;
    log::Info(kLogComponent, "created the HMAC key on token " + options_.token_label);
  }

  auto rsa = FindObject(CKO_PRIVATE_KEY, kPkcs11RsaLabel);
  if (!rsa.ok()) return rsa.error();
  if (!rsa->has_value()) {
    // A public half without its private key is an orphan of an interrupted
    // run: remove it so that exactly one pair carries the label.
    auto orphans = FindObjects(CKO_PUBLIC_KEY, kPkcs11RsaLabel);
    if (!orphans.ok()) return orphans.error();
    for (unsigned long orphan : *orphans) {
      CK_RV rv = module_->C_DestroyObject(session_, orphan);
      if (rv != CKR_OK) return Fail("C_DestroyObject", rv);
    }
    CK_ULONG bits = static_cast<CK_ULONG>(rsa_bits);
    CK_BYTE exponent[] = {0x01, 0x00, 0x01};  // 65537
    CK_BYTE id[] = {'o', 'm', 'r', 's', 'a'};
    CK_ATTRIBUTE pub[] = {
        Attr(CKA_MODULUS_BITS, &bits, sizeof(bits)),
        Attr(CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent)),
        LabelAttr(kPkcs11RsaLabel),
        Attr(CKA_ID, id, sizeof(id)),
        Attr(CKA_TOKEN, &kTrue, 1),
        Attr(CKA_PRIVATE, &kTrue, 1),
        Attr(CKA_ENCRYPT, &kTrue, 1),
        Attr(CKA_VERIFY, &kTrue, 1),
    };
    CK_ATTRIBUTE priv[] = {
        LabelAttr(kPkcs11RsaLabel),     Attr(CKA_ID, id, sizeof(id)),
        Attr(CKA_TOKEN, &kTrue, 1),     Attr(CKA_PRIVATE, &kTrue, 1),
        Attr(CKA_SENSITIVE, &kTrue, 1), Attr(CKA_EXTRACTABLE, &kFalse, 1),
        Attr(CKA_DECRYPT, &kTrue, 1),   Attr(CKA_SIGN, &kTrue, 1),
    };
    CK_MECHANISM mech{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE pub_key = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE priv_key = CK_INVALID_HANDLE;
    CK_RV rv = module_->C_GenerateKeyPair(session_, &mech, pub, std::size(pub), priv,
                                          std::size(priv), &pub_key, &priv_key);
    if (rv != CKR_OK) return Fail("C_GenerateKeyPair (RSA)", rv);
    ++operations_;
    rsa_key_ = priv_key;
    public_key_der_.reset();
    modulus_.clear();
    self_test_done_ = false;
    log::Info(kLogComponent, "created the server RSA key (" + std::to_string(rsa_bits) +
                                 " bits) on token " + options_.token_label);
  }
  ONIONMAIL_RETURN_IF_ERROR(ProvisionTlsKeyLocked());  // pkcs11_tls_key.cc
  if (!self_test_done_) return OaepSelfTestLocked();
  return Ok();
}

Result<std::array<uint8_t, 32>> Pkcs11Token::Hmac(std::span<const uint8_t> data) {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  auto key = HmacKey();
  if (!key.ok()) return key.error();
  CK_MECHANISM mech{CKM_SHA256_HMAC, nullptr, 0};
  CK_RV rv = module_->C_SignInit(session_, &mech, *key);
  if (rv != CKR_OK) return Fail("C_SignInit (HMAC)", rv);
  CK_BYTE empty = 0;
  CK_BYTE_PTR in = data.empty() ? &empty : const_cast<CK_BYTE_PTR>(data.data());
  std::array<uint8_t, 32> mac{};
  CK_ULONG mac_len = mac.size();
  rv = module_->C_Sign(session_, in, data.size(), mac.data(), &mac_len);
  if (rv != CKR_OK) return Fail("C_Sign (HMAC)", rv);
  if (mac_len != mac.size()) {
    return MakeError(ErrorCode::kInternal, "token returned an HMAC of the wrong size");
  }
  ++operations_;
  return mac;
}

Result<void> Pkcs11Token::LoadPublicKeyLocked() {
  if (public_key_der_.has_value()) return Ok();
  auto key = RsaKey();
  if (!key.ok()) return key.error();
  // The modulus and public exponent are public attributes of the private key
  // object too (PKCS#11 2.40 §4.9 RSA private key objects).
  auto n = ReadAttribute(*key, CKA_MODULUS);
  if (!n.ok()) return n.error();
  auto e = ReadAttribute(*key, CKA_PUBLIC_EXPONENT);
  if (!e.ok()) return e.error();
  size_t skip = 0;
  while (skip < n->size() && (*n)[skip] == 0) ++skip;
  std::vector<uint8_t> modulus(n->begin() + static_cast<long>(skip), n->end());
  if (modulus.size() < 256) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "server RSA key on token " + options_.token_label + " is too small");
  }
  auto der = pkcs11::RsaSpkiFromComponents(modulus, *e);
  if (!der.ok()) return der.error();
  modulus_ = std::move(modulus);
  public_key_der_ = std::move(der).value();
  return Ok();
}

Result<std::vector<uint8_t>> Pkcs11Token::ServerPublicKey() {
  std::lock_guard<std::mutex> lock(mu_);
  if (public_key_der_.has_value()) return *public_key_der_;
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  ONIONMAIL_RETURN_IF_ERROR(LoadPublicKeyLocked());
  return *public_key_der_;
}

Result<std::vector<uint8_t>> Pkcs11Token::RsaPrivateRaw(std::span<const uint8_t> input) {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  ONIONMAIL_RETURN_IF_ERROR(LoadPublicKeyLocked());
  if (input.size() != modulus_.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "raw RSA input must be " + std::to_string(modulus_.size()) + " bytes");
  }
  if (std::memcmp(input.data(), modulus_.data(), modulus_.size()) >= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "raw RSA input is not below the modulus");
  }
  auto key = RsaKey();
  if (!key.ok()) return key.error();
  CK_MECHANISM mech{CKM_RSA_X_509, nullptr, 0};
  CK_RV rv = module_->C_DecryptInit(session_, &mech, *key);
  if (rv != CKR_OK) return Fail("C_DecryptInit (RSA X.509)", rv);
  std::vector<uint8_t> out(modulus_.size());
  CK_ULONG out_len = out.size();
  rv = module_->C_Decrypt(session_, const_cast<CK_BYTE_PTR>(input.data()), input.size(), out.data(),
                          &out_len);
  if (rv != CKR_OK) return Fail("C_Decrypt (RSA X.509)", rv);
  if (out_len > out.size()) return MakeError(ErrorCode::kInternal, "raw RSA output too long");
  if (out_len < out.size()) {  // left-pad to the modulus size
    size_t pad = out.size() - out_len;
    std::memmove(out.data() + pad, out.data(), out_len);
    std::memset(out.data(), 0, pad);
  }
  ++operations_;
  return out;
}

Result<SecretBytes> Pkcs11Token::DecryptOaepLocked(std::span<const uint8_t> ciphertext,
                                                   OaepHash hash) {
  ONIONMAIL_RETURN_IF_ERROR(LoadPublicKeyLocked());
  if (ciphertext.size() != modulus_.size()) {
    return MakeError(ErrorCode::kDataLoss, "RSA-OAEP decryption failed");
  }
  auto key = RsaKey();
  if (!key.ok()) return key.error();
  CK_RSA_PKCS_OAEP_PARAMS params{};
  params.hashAlg = hash == OaepHash::kSha1 ? CKM_SHA_1 : CKM_SHA256;
  params.mgf = hash == OaepHash::kSha1 ? CKG_MGF1_SHA1 : CKG_MGF1_SHA256;
  params.source = CKZ_DATA_SPECIFIED;
  params.pSourceData = nullptr;
  params.ulSourceDataLen = 0;
  CK_MECHANISM mech{CKM_RSA_PKCS_OAEP, &params, sizeof(params)};
  CK_RV rv = module_->C_DecryptInit(session_, &mech, *key);
  if (rv != CKR_OK) return Fail("C_DecryptInit (RSA-OAEP)", rv);
  SecretBytes out(modulus_.size());
  std::span<uint8_t> raw = out.Reveal(SecretAccess::Grant());
  CK_ULONG out_len = raw.size();
  rv = module_->C_Decrypt(session_, const_cast<CK_BYTE_PTR>(ciphertext.data()), ciphertext.size(),
                          raw.data(), &out_len);
  if (rv != CKR_OK) {
    // Tokens report a bad padding as CKR_ENCRYPTED_DATA_INVALID, and some
    // (SoftHSM2) as CKR_GENERAL_ERROR: ask the token whether it is still
    // there before calling it a device error. No padding detail escapes.
    CK_TOKEN_INFO info{};
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
        (rv == CKR_GENERAL_ERROR && module_->C_GetTokenInfo(slot_, &info) == CKR_OK)) {
      return MakeError(ErrorCode::kDataLoss, "RSA-OAEP decryption failed");
    }
    return Fail("C_Decrypt (RSA-OAEP)", rv);
  }
  if (out_len > raw.size()) return MakeError(ErrorCode::kInternal, "OAEP output too long");
  out.Truncate(out_len);
  ++operations_;
  return out;
}

Result<SecretBytes> Pkcs11Token::RsaDecryptOaep(std::span<const uint8_t> ciphertext) {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  if (!self_test_done_) ONIONMAIL_RETURN_IF_ERROR(OaepSelfTestLocked());
  return DecryptOaepLocked(ciphertext, oaep_hash_.load());
}

Result<void> Pkcs11Token::OaepSelfTestLocked() {
  ONIONMAIL_RETURN_IF_ERROR(LoadPublicKeyLocked());
  SecretBytes probe = crypto::RandomSecret(32);
  const std::span<const uint8_t> expected = probe.Reveal(SecretAccess::Grant());
  for (OaepHash hash : {OaepHash::kSha256, OaepHash::kSha1}) {
    auto ciphertext = pkcs11::OaepEncrypt(*public_key_der_, expected, hash);
    if (!ciphertext.ok()) return ciphertext.error();
    auto plain = DecryptOaepLocked(*ciphertext, hash);
    if (!plain.ok()) {
      if (plain.error().code == ErrorCode::kUnavailable) return plain.error();
      continue;  // this hash is not supported: try the next one
    }
    if (!plain->Equals(probe)) {
      return MakeError(ErrorCode::kInternal, "RSA-OAEP self-test on token " + options_.token_label +
                                                 " returned a wrong plaintext");
    }
    oaep_hash_ = hash;
    self_test_done_ = true;
    log::Info(kLogComponent, std::string("RSA-OAEP self-test on token ") + options_.token_label +
                                 ": using " + (hash == OaepHash::kSha1 ? "SHA-1" : "SHA-256"));
    return Ok();
  }
  return MakeError(
      ErrorCode::kFailedPrecondition,
      "token " + options_.token_label + " supports neither RSA-OAEP-SHA256 nor RSA-OAEP-SHA1");
}

Result<void> Pkcs11Token::Probe() {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  CK_TOKEN_INFO token_info{};
  CK_RV rv = module_->C_GetTokenInfo(slot_, &token_info);
  if (rv != CKR_OK) return Fail("C_GetTokenInfo", rv);
  CK_SESSION_INFO session_info{};
  rv = module_->C_GetSessionInfo(session_, &session_info);
  if (rv != CKR_OK) return Fail("C_GetSessionInfo", rv);
  if (session_info.state != CKS_RW_USER_FUNCTIONS) {
    connected_ = false;
    return MakeError(ErrorCode::kUnavailable,
                     "session on PKCS#11 token " + options_.token_label + " is logged out");
  }
  return Ok();
}

}  // namespace onionmail::hsm
