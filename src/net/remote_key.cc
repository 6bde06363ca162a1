// RemoteRsaKey over OpenSSL's RSA_METHOD (a deprecated but supported API in
// OpenSSL 3.0: keys with a non-default method take the legacy path, which
// applies the padding and then calls rsa_priv_enc / rsa_priv_dec).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "net/remote_key.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "base/log.h"

namespace onionmail::net {

namespace {

int g_ex_index = -1;
RSA_METHOD* g_method = nullptr;
std::once_flag g_once;

void FreeFn(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {  // NOLINT
  delete static_cast<RsaRawFn*>(ptr);
}

int DoRaw(RSA* rsa, const unsigned char* block, unsigned char* to, int n) {
  auto* fn = static_cast<RsaRawFn*>(RSA_get_ex_data(rsa, g_ex_index));
  if (fn == nullptr) return -1;
  auto out = (*fn)(std::span<const uint8_t>(block, static_cast<size_t>(n)));
  if (!out.ok() || out->size() != static_cast<size_t>(n)) {
    log::Warning("tls", "remote RSA operation failed" +
                            (out.ok() ? std::string() : ": " + out.error().message));
    return -1;
  }
  std::memcpy(to, out->data(), out->size());
  return n;
}

// Signing: PKCS#1 v1.5 type-1 padding here, or a block already padded (PSS).
int PrivEnc(int flen, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
  int n = RSA_size(rsa);
  std::vector<unsigned char> block(static_cast<size_t>(n));
  if (padding == RSA_PKCS1_PADDING) {
    if (RSA_padding_add_PKCS1_type_1(block.data(), n, from, flen) != 1) return -1;
  } else if (padding == RSA_NO_PADDING && flen == n) {
    std::memcpy(block.data(), from, static_cast<size_t>(n));
  } else {
    return -1;
  }
  return DoRaw(rsa, block.data(), to, n);
}

// Decryption is not used by TLS 1.2+ with ECDHE suites; refuse it.
int PrivDec(int, const unsigned char*, unsigned char*, RSA*, int) { return -1; }

void InitOnce() {
  g_ex_index = RSA_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeFn);
  g_method = RSA_meth_dup(RSA_PKCS1_OpenSSL());
  if (g_method == nullptr) return;
  RSA_meth_set1_name(g_method, "onionmaild remote RSA");
  RSA_meth_set_priv_enc(g_method, PrivEnc);
  RSA_meth_set_priv_dec(g_method, PrivDec);
}

}  // namespace

Result<EVP_PKEY*> MakeRemoteRsaKey(std::span<const uint8_t> public_key_der, RsaRawFn raw) {
  std::call_once(g_once, InitOnce);
  if (g_method == nullptr || g_ex_index < 0) {
    return MakeError(ErrorCode::kInternal, "cannot set up the remote RSA method");
  }
  const unsigned char* p = public_key_der.data();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pub(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())), EVP_PKEY_free);
  if (!pub || EVP_PKEY_get_base_id(pub.get()) != EVP_PKEY_RSA) {
    return MakeError(ErrorCode::kInvalidArgument, "server public key is not an RSA key");
  }
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(pub.get(), "n", &n) != 1 ||
      EVP_PKEY_get_bn_param(pub.get(), "e", &e) != 1) {
    BN_free(n);
    BN_free(e);
    return MakeError(ErrorCode::kInternal, "cannot read the RSA public key");
  }
  RSA* rsa = RSA_new();
  if (rsa == nullptr || RSA_set0_key(rsa, n, e, nullptr) != 1) {
    BN_free(n);
    BN_free(e);
    RSA_free(rsa);
    return MakeError(ErrorCode::kInternal, "cannot build the RSA key");
  }
  RSA_set_method(rsa, g_method);
  RSA_set_ex_data(rsa, g_ex_index, new RsaRawFn(std::move(raw)));
  EVP_PKEY* key = EVP_PKEY_new();
  if (key == nullptr || EVP_PKEY_assign_RSA(key, rsa) != 1) {
    RSA_free(rsa);
    EVP_PKEY_free(key);
    return MakeError(ErrorCode::kInternal, "cannot wrap the RSA key");
  }
  return key;
}

}  // namespace onionmail::net
