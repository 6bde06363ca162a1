// Process-wide OpenSSL algorithm objects (crypto/algorithms.h).
#include "crypto/algorithms.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

namespace onionmail::crypto {

namespace {

// A failed fetch is an environment error (OpenSSL without its default
// provider), not a broken invariant: the object stays null and every
// operation that needs it fails with an error. OpenSSL's error queue is
// cleared either way, so that no stale error reaches an unrelated caller.
template <typename T>
T* Fetched(T* object) {
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
    if (HmacAlgorithm() == nullptr) return static_cast<EVP_MAC_CTX*>(nullptr);
    EVP_MAC_CTX* c = EVP_MAC_CTX_new(HmacAlgorithm());  // holds its own reference
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    if (c != nullptr && EVP_MAC_CTX_set_params(c, params) != 1) {
      EVP_MAC_CTX_free(c);
      c = nullptr;
    }
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
