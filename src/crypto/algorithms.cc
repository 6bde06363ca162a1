// Process-wide OpenSSL algorithm objects (crypto/algorithms.h).
#include "crypto/algorithms.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "base/result.h"

namespace onionmail::crypto {

namespace {

// Without these algorithms the role can do nothing useful: abort, and let the
// supervisor restart it (house rule 5), rather than fail every later call.
template <typename T>
T* Fetched(T* object) {
  ONIONMAIL_CHECK(object != nullptr);
  ERR_clear_error();
  return object;
}

}  // namespace

const EVP_CIPHER* Aes128Gcm() {
  static EVP_CIPHER* const cipher = Fetched(EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr));
  return cipher;
}

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* const cipher = Fetched(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  return cipher;
}

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = Fetched(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  return mac;
}

const EVP_MAC_CTX* HmacSha256Template() {
  static EVP_MAC_CTX* const ctx = [] {
    EVP_MAC_CTX* c = EVP_MAC_CTX_new(HmacAlgorithm());  // holds its own reference
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    ONIONMAIL_CHECK(c != nullptr && EVP_MAC_CTX_set_params(c, params) == 1);
    return Fetched(c);
  }();
  return ctx;
}

EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* const kdf = Fetched(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  return kdf;
}

const EVP_MD* Sha256Md() {
  static EVP_MD* const md = Fetched(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md;
}

}  // namespace onionmail::crypto
