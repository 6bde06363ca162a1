// ECDSA P-256 helpers over OpenSSL 3.
#include "crypto/ec_p256.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace onionmail::crypto {

namespace {

using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

Error Failed(ErrorCode code, const char* what) {
  ERR_clear_error();
  return MakeError(code, what);
}

}  // namespace

Result<std::vector<uint8_t>> SpkiDer(const EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = key != nullptr ? i2d_PUBKEY(key, &der) : 0;
  if (n <= 0) return Failed(ErrorCode::kInternal, "cannot encode a public key");
  std::vector<uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

Result<std::vector<uint8_t>> P256SpkiFromPoint(std::span<const uint8_t> point) {
  if (point.size() != kP256PointBytes || point[0] != 0x04) {
    return Failed(ErrorCode::kInvalidArgument, "not an uncompressed P-256 point");
  }
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(point.data()),
                                        point.size()),
      OSSL_PARAM_construct_end()};
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return Failed(ErrorCode::kInvalidArgument, "not a valid P-256 point");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  PkeyCtxPtr check(EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Failed(ErrorCode::kInvalidArgument, "not a valid P-256 point");
  }
  return SpkiDer(key.get());
}

Result<std::vector<uint8_t>> EcdsaP256SignRaw(EVP_PKEY* key, std::span<const uint8_t> digest) {
  if (digest.size() != kP256DigestBytes) {
    return Failed(ErrorCode::kInvalidArgument, "an ECDSA P-256 signature needs a 32-byte digest");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
  size_t der_len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &der_len, digest.data(), digest.size()) != 1) {
    return Failed(ErrorCode::kInvalidArgument, "ECDSA signing failed");
  }
  std::vector<uint8_t> der(der_len);
  if (EVP_PKEY_sign(ctx.get(), der.data(), &der_len, digest.data(), digest.size()) != 1) {
    return Failed(ErrorCode::kInvalidArgument, "ECDSA signing failed");
  }
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)), ECDSA_SIG_free);
  std::vector<uint8_t> out(kP256SignatureBytes);
  if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + 32, 32) != 32) {
    return Failed(ErrorCode::kInvalidArgument, "not a P-256 signature");
  }
  return out;
}

}  // namespace onionmail::crypto
