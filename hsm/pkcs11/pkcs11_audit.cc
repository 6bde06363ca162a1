// Pkcs11Token's test-only audits: an attempt to read key material out of the
// token (it must fail) and a count of the session's objects. See
// pkcs11_token.h for the contract; nothing in the server calls these.
#include <p11-kit/pkcs11.h>

#include <optional>
#include <utility>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "hsm/pkcs11/pkcs11_token.h"

namespace onionmail::hsm {

Result<void> Pkcs11Token::AttemptPrivateKeyExport() {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  auto rsa = RsaKey();
  if (!rsa.ok()) return rsa.error();
  auto hmac = HmacKey();
  if (!hmac.ok()) return hmac.error();
  auto tls = TlsKey();
  if (!tls.ok()) return tls.error();
  const std::pair<unsigned long, CK_ATTRIBUTE_TYPE> attempts[] = {
      {*rsa, CKA_PRIVATE_EXPONENT}, {*rsa, CKA_PRIME_1}, {*hmac, CKA_VALUE}, {*tls, CKA_VALUE}};
  std::optional<Error> first_error;
  for (const auto& [object, type] : attempts) {
    auto value = ReadAttribute(object, type);
    if (value.ok() && !value->empty()) {
      WipeMemory(value->data(), value->size());
      return Ok();  // key material left the token
    }
    Error e =
        value.ok() ? MakeError(ErrorCode::kPermissionDenied, "empty attribute") : value.error();
    if (!first_error.has_value() || (first_error->code == ErrorCode::kPermissionDenied &&
                                     e.code != ErrorCode::kPermissionDenied)) {
      first_error = std::move(e);
    }
  }
  return *first_error;
}

Result<size_t> Pkcs11Token::CountObjects() {
  std::lock_guard<std::mutex> lock(mu_);
  ONIONMAIL_RETURN_IF_ERROR(EnsureConnected());
  CK_RV rv = module_->C_FindObjectsInit(session_, nullptr, 0);
  if (rv != CKR_OK) return Fail("C_FindObjectsInit", rv);
  size_t total = 0;
  for (;;) {
    CK_OBJECT_HANDLE batch[16];
    CK_ULONG n = 0;
    rv = module_->C_FindObjects(session_, batch, 16, &n);
    if (rv != CKR_OK || n == 0) break;
    total += n;
  }
  module_->C_FindObjectsFinal(session_);
  if (rv != CKR_OK) return Fail("C_FindObjects", rv);
  return total;
}

}  // namespace onionmail::hsm
