// Pkcs11Token erasable secrets: one non-extractable 256-bit generic secret
// per epoch, labelled "onionmaild-erasable-<epoch>", used only through
// CKM_SHA256_HMAC and destroyed with C_DestroyObject. See pkcs11_token.h for
// the contract.
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/log.h"
#include "hsm/pkcs11/pkcs11_token.h"

namespace onionmail::hsm {
namespace {

constexpr char kLogComponent[] = "hsm.pkcs11";
constexpr size_t kErasableKeyBytes = 32;

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, void* value, size_t size) {
  return CK_ATTRIBUTE{type, value, static_cast<CK_ULONG>(size)};
}

std::string ErasableLabel(uint64_t epoch) {
  return kPkcs11ErasableLabelPrefix + std::to_string(epoch);
}

// The epoch named by an erasable key label: exactly the prefix followed by
// the canonical decimal form (no sign, no leading zeros) of a uint64_t.
std::optional<uint64_t> ParseErasableLabel(std::string_view label) {
  const std::string_view prefix = kPkcs11ErasableLabelPrefix;
  if (label.size() <= prefix.size() || label.substr(0, prefix.size()) != prefix) return {};
  const std::string_view digits = label.substr(prefix.size());
  if (digits.size() > 1 && digits[0] == '0') return {};
  uint64_t epoch = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), epoch);
  if (ec != std::errc() || end != digits.data() + digits.size()) return {};
  return epoch;
}

}  // namespace

Result<void> Pkcs11Token::CreateErasable(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  const std::string label = ErasableLabel(epoch);
  auto existing = FindObjects(CKO_SECRET_KEY, label.c_str());
  if (!existing.ok()) return existing.error();
  if (!existing->empty()) {
    return MakeError(ErrorCode::kAlreadyExists, "erasable secret for epoch " +
                                                    std::to_string(epoch) + " exists on token " +
                                                    options_.token_label);
  }
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_GENERIC_SECRET;
  CK_ULONG len = kErasableKeyBytes;
  CK_ATTRIBUTE tmpl[] = {
      Attr(CKA_CLASS, &cls, sizeof(cls)),
      Attr(CKA_KEY_TYPE, &type, sizeof(type)),
      Attr(CKA_VALUE_LEN, &len, sizeof(len)),
      Attr(CKA_LABEL, const_cast<char*>(label.data()), label.size()),
      Attr(CKA_TOKEN, &kTrue, 1),
      Attr(CKA_PRIVATE, &kTrue, 1),
      Attr(CKA_SENSITIVE, &kTrue, 1),
      Attr(CKA_EXTRACTABLE, &kFalse, 1),
      Attr(CKA_SIGN, &kTrue, 1),
      Attr(CKA_VERIFY, &kFalse, 1),
      Attr(CKA_ENCRYPT, &kFalse, 1),
      Attr(CKA_DECRYPT, &kFalse, 1),
      Attr(CKA_WRAP, &kFalse, 1),
      Attr(CKA_UNWRAP, &kFalse, 1),
      Attr(CKA_DERIVE, &kFalse, 1),
  };
  CK_MECHANISM mech{CKM_GENERIC_SECRET_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_RV rv = module_->C_GenerateKey(session_, &mech, tmpl, std::size(tmpl), &key);
  if (rv == CKR_DEVICE_MEMORY) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "no room on token " + options_.token_label + " for an erasable secret");
  }
  if (rv != CKR_OK) return Fail("C_GenerateKey (erasable)", rv);
  ++operations_;
  log::Info(kLogComponent, "created erasable secret for epoch " + std::to_string(epoch) +
                               " on token " + options_.token_label);
  return Ok();
}

Result<SecretBytes> Pkcs11Token::DeriveErasable(uint64_t epoch, std::span<const uint8_t> label) {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  auto key = FindObject(CKO_SECRET_KEY, ErasableLabel(epoch).c_str());
  if (!key.ok()) return key.error();
  if (!key->has_value()) {
    return MakeError(ErrorCode::kNotFound, "no erasable secret for epoch " + std::to_string(epoch) +
                                               " on token " + options_.token_label);
  }
  CK_MECHANISM mech{CKM_SHA256_HMAC, nullptr, 0};
  CK_RV rv = module_->C_SignInit(session_, &mech, **key);
  if (rv != CKR_OK) return Fail("C_SignInit (erasable)", rv);
  CK_BYTE empty = 0;
  CK_BYTE_PTR in = label.empty() ? &empty : const_cast<CK_BYTE_PTR>(label.data());
  SecretBytes out(32);
  std::span<uint8_t> raw = out.Reveal(SecretAccess::Grant());
  CK_ULONG out_len = raw.size();
  rv = module_->C_Sign(session_, in, label.size(), raw.data(), &out_len);
  if (rv != CKR_OK) return Fail("C_Sign (erasable)", rv);
  if (out_len != raw.size()) {
    return MakeError(ErrorCode::kInternal, "token returned an HMAC of the wrong size");
  }
  ++operations_;
  return out;
}

Result<void> Pkcs11Token::EraseErasable(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  // Every object with the label goes, should an interrupted run have left
  // more than one.
  auto keys = FindObjects(CKO_SECRET_KEY, ErasableLabel(epoch).c_str());
  if (!keys.ok()) return keys.error();
  if (keys->empty()) return Ok();
  for (unsigned long key : *keys) {
    CK_RV rv = module_->C_DestroyObject(session_, key);
    if (rv == CKR_OBJECT_HANDLE_INVALID) continue;  // destroyed meanwhile: gone anyway
    if (rv != CKR_OK) return Fail("C_DestroyObject (erasable)", rv);
  }
  ++operations_;
  log::Info(kLogComponent, "erased erasable secret of epoch " + std::to_string(epoch) +
                               " on token " + options_.token_label);
  return Ok();
}

Result<std::vector<uint64_t>> Pkcs11Token::ErasableEpochs() {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  // Every secret key; the exact label decides (the HMAC root key does not parse).
  auto objects = FindObjects(CKO_SECRET_KEY, nullptr);
  if (!objects.ok()) return objects.error();
  std::vector<uint64_t> epochs;
  for (unsigned long object : *objects) {
    auto label = ReadAttribute(object, CKA_LABEL);  // public attribute
    if (!label.ok()) return label.error();
    auto epoch = ParseErasableLabel(
        std::string_view(reinterpret_cast<const char*>(label->data()), label->size()));
    if (epoch.has_value()) epochs.push_back(*epoch);
  }
  std::sort(epochs.begin(), epochs.end());
  epochs.erase(std::unique(epochs.begin(), epochs.end()), epochs.end());
  return epochs;
}

Result<ErasableKeyAudit> Pkcs11Token::AuditErasableKey(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  auto key = FindObject(CKO_SECRET_KEY, ErasableLabel(epoch).c_str());
  if (!key.ok()) return key.error();
  if (!key->has_value()) {
    return MakeError(ErrorCode::kNotFound, "no erasable secret for epoch " + std::to_string(epoch));
  }
  CK_BBOOL sensitive = CK_FALSE, always_sensitive = CK_FALSE;
  CK_BBOOL extractable = CK_TRUE, never_extractable = CK_FALSE;
  CK_ATTRIBUTE flags[] = {
      Attr(CKA_SENSITIVE, &sensitive, 1),
      Attr(CKA_ALWAYS_SENSITIVE, &always_sensitive, 1),
      Attr(CKA_EXTRACTABLE, &extractable, 1),
      Attr(CKA_NEVER_EXTRACTABLE, &never_extractable, 1),
  };
  CK_RV rv = module_->C_GetAttributeValue(session_, **key, flags, std::size(flags));
  if (rv != CKR_OK) return Fail("C_GetAttributeValue", rv);
  ErasableKeyAudit audit;
  audit.sensitive = sensitive == CK_TRUE;
  audit.always_sensitive = always_sensitive == CK_TRUE;
  audit.extractable = extractable == CK_TRUE;
  audit.never_extractable = never_extractable == CK_TRUE;
  auto value = ReadAttribute(**key, CKA_VALUE);
  if (value.ok()) {
    audit.value_readable = !value->empty();
    if (!value->empty()) WipeMemory(value->data(), value->size());
  } else if (value.error().code == ErrorCode::kPermissionDenied) {
    audit.value_readable = false;  // CKR_ATTRIBUTE_SENSITIVE
  } else {
    return value.error();
  }
  return audit;
}

}  // namespace onionmail::hsm
