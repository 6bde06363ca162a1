// HKDF-SHA256 (EVP_KDF "HKDF"), HMAC-SHA256 (EVP_MAC "HMAC"), SHA-256; the
// algorithms are fetched once (crypto/algorithms.h).
#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <string>

#include "crypto/algorithms.h"

namespace onionmail::crypto {

namespace {

struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

constexpr size_t kMaxHkdfOutput = 255 * 32;
char kSha256Name[] = "SHA256";

Error Internal(const char* what) {
  ERR_clear_error();
  return MakeError(ErrorCode::kInternal, what);
}

}  // namespace

Result<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::span<const uint8_t> salt,
                               std::string_view info, size_t out_len) {
  if (out_len == 0 || out_len > kMaxHkdfOutput) {
    return MakeError(ErrorCode::kInvalidArgument, "hkdf: bad output length");
  }
  if (ikm.empty()) return MakeError(ErrorCode::kInvalidArgument, "hkdf: empty input key");
  if (HkdfAlgorithm() == nullptr) return Internal("hkdf: HKDF unavailable");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(HkdfAlgorithm()));
  if (!ctx) return Internal("hkdf: context failed");

  auto key = ikm.Reveal(SecretAccess::Grant());
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  std::string info_copy(info);
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, kSha256Name, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(key.data()), key.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<uint8_t*>(salt.data()), salt.size());
  }
  if (!info_copy.empty()) {
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_copy.data(), info_copy.size());
  }
  params[n] = OSSL_PARAM_construct_end();

  SecretBytes out(out_len);
  if (EVP_KDF_derive(ctx.get(), out.Reveal(SecretAccess::Grant()).data(), out_len, params) != 1) {
    return Internal("hkdf: derive failed");
  }
  return out;
}

Result<Digest> HmacSha256(const SecretBytes& key, std::span<const uint8_t> data) {
  // A copy of the template, whose digest (SHA-256) is already set.
  const EVP_MAC_CTX* tmpl = HmacSha256Template();
  if (tmpl == nullptr) return Internal("hmac: HMAC-SHA256 unavailable");
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_dup(tmpl));
  if (!ctx) return Internal("hmac: context failed");
  // An empty HMAC key is legal (RFC 2104); OpenSSL needs a non-null pointer.
  static const uint8_t kEmpty[1] = {0};
  auto k = key.Reveal(SecretAccess::Grant());
  const uint8_t* key_ptr = k.empty() ? kEmpty : k.data();
  if (EVP_MAC_init(ctx.get(), key_ptr, k.size(), nullptr) != 1) {
    return Internal("hmac: init failed");
  }
  if (!data.empty() && EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) {
    return Internal("hmac: update failed");
  }
  Digest out{};
  size_t out_len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 || out_len != out.size()) {
    return Internal("hmac: final failed");
  }
  return out;
}

Digest Sha256(std::span<const uint8_t> data) {
  Digest out{};
  unsigned int len = 0;
  static const uint8_t kEmpty[1] = {0};
  const uint8_t* p = data.empty() ? kEmpty : data.data();
  ONIONMAIL_CHECK(EVP_Digest(p, data.size(), out.data(), &len, Sha256Md(), nullptr) == 1);
  ONIONMAIL_CHECK(len == out.size());
  return out;
}

}  // namespace onionmail::crypto
