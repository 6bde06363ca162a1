// RemoteRsaKey over OpenSSL's RSA_METHOD and RemoteEcKey over EC_KEY_METHOD
// (deprecated but supported APIs in OpenSSL 3.0: keys with a non-default
// method are "foreign" and take the legacy path, which for RSA applies the
// padding and then calls rsa_priv_enc / rsa_priv_dec, and for EC calls the
// method's sign / sign_sig with the digest).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "net/remote_key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

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

// ---------------------------------------------------------------------------
// RemoteEcKey (ECDSA P-256).

namespace {

constexpr size_t kEcScalarBytes = 32;  // P-256: the order n has 256 bits

int g_ec_index = -1;
EC_KEY_METHOD* g_ec_method = nullptr;
std::once_flag g_ec_once;

using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using EcSigPtr = std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)>;

void EcFreeFn(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {  // NOLINT
  delete static_cast<EcSignFn*>(ptr);
}

// EC_KEY_dup (EVP_PKEY_dup) copies the method and the ex_data pointers: give
// the copy its own callback, or both keys would delete the same one.
int EcDupFn(CRYPTO_EX_DATA*, const CRYPTO_EX_DATA*, void** from_d, int, long,  // NOLINT
            void*) {
  const auto* fn = static_cast<const EcSignFn*>(*from_d);
  if (fn != nullptr) *from_d = new EcSignFn(*fn);
  return 1;
}

// One signature through the callback: null (logged) unless the answer is a
// valid ECDSA signature of `dgst` under the key's public point.
ECDSA_SIG* RemoteEcSign(const unsigned char* dgst, int dlen, const BIGNUM* in_kinv,
                        const BIGNUM* in_r, EC_KEY* eckey) {
  if (in_kinv != nullptr || in_r != nullptr) {
    log::Warning("tls", "remote EC key: precomputed ECDSA nonces are not supported");
    return nullptr;
  }
  auto* fn = static_cast<EcSignFn*>(EC_KEY_get_ex_data(eckey, g_ec_index));
  const EC_GROUP* group = EC_KEY_get0_group(eckey);
  if (fn == nullptr || group == nullptr || dgst == nullptr || dlen < 0) return nullptr;
  // ECDSA uses the leftmost 256 bits of the digest as an integer: a longer
  // digest is truncated, a shorter one is the same number left-padded.
  std::array<uint8_t, kEcScalarBytes> digest{};
  const size_t take = std::min(static_cast<size_t>(dlen), kEcScalarBytes);
  std::memcpy(digest.data() + (kEcScalarBytes - take), dgst, take);
  auto out = (*fn)(std::span<const uint8_t>(digest));
  if (!out.ok()) {
    log::Warning("tls", "remote ECDSA signature failed: " + out.error().message);
    return nullptr;
  }
  if (out->size() != 2 * kEcScalarBytes) {
    log::Warning("tls", "remote ECDSA signature has " + std::to_string(out->size()) +
                            " bytes, not r || s (64)");
    return nullptr;
  }
  BnPtr r(BN_bin2bn(out->data(), kEcScalarBytes, nullptr), BN_free);
  BnPtr s(BN_bin2bn(out->data() + kEcScalarBytes, kEcScalarBytes, nullptr), BN_free);
  const BIGNUM* order = EC_GROUP_get0_order(group);
  if (!r || !s || order == nullptr) return nullptr;
  if (BN_is_zero(r.get()) || BN_is_zero(s.get()) || BN_cmp(r.get(), order) >= 0 ||
      BN_cmp(s.get(), order) >= 0) {
    log::Warning("tls", "remote ECDSA signature out of range (r or s not in [1, n-1])");
    return nullptr;
  }
  EcSigPtr sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  if (!sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return nullptr;
  r.release();  // owned by sig now
  s.release();
  // The default verify_sig of EC_KEY_OpenSSL(), inherited by our method.
  if (ECDSA_do_verify(digest.data(), static_cast<int>(digest.size()), sig.get(), eckey) != 1) {
    ERR_clear_error();
    log::Warning("tls", "remote ECDSA signature does not verify under the server public key");
    return nullptr;
  }
  return sig.release();
}

// ECDSA_sign / EVP_PKEY_sign: DER output into `sig` (ECDSA_size bytes).
int EcSignDer(int /*type*/, const unsigned char* dgst, int dlen, unsigned char* sig,
              unsigned int* siglen, const BIGNUM* kinv, const BIGNUM* r, EC_KEY* eckey) {
  *siglen = 0;
  if (sig == nullptr) return 0;
  EcSigPtr s(RemoteEcSign(dgst, dlen, kinv, r, eckey), ECDSA_SIG_free);
  if (!s) return 0;
  const int len = i2d_ECDSA_SIG(s.get(), &sig);
  if (len <= 0) return 0;
  *siglen = static_cast<unsigned int>(len);
  return 1;
}

// ECDSA_do_sign.
ECDSA_SIG* EcSignSig(const unsigned char* dgst, int dlen, const BIGNUM* kinv, const BIGNUM* r,
                     EC_KEY* eckey) {
  return RemoteEcSign(dgst, dlen, kinv, r, eckey);
}

// The nonce lives in the token: no ECDSA_sign_setup.
int EcRefuseSignSetup(EC_KEY*, BN_CTX*, BIGNUM**, BIGNUM**) {
  log::Warning("tls", "remote EC key: ECDSA_sign_setup refused");
  return 0;
}

// There is no private scalar here: no ECDH, and no key generation that would
// replace the public point with a local key pair.
int EcRefuseKeygen(EC_KEY*) {
  log::Warning("tls", "remote EC key: key generation refused");
  return 0;
}
int EcRefuseEcdh(unsigned char**, size_t*, const EC_POINT*, const EC_KEY*) {
  log::Warning("tls", "remote EC key: ECDH refused");
  return 0;
}

void EcInitOnce() {
  g_ec_index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, EcDupFn, EcFreeFn);
  g_ec_method = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
  if (g_ec_method == nullptr) return;
  EC_KEY_METHOD_set_sign(g_ec_method, EcSignDer, EcRefuseSignSetup, EcSignSig);
  EC_KEY_METHOD_set_keygen(g_ec_method, EcRefuseKeygen);
  EC_KEY_METHOD_set_compute_key(g_ec_method, EcRefuseEcdh);
}

}  // namespace

Result<EVP_PKEY*> MakeRemoteEcKey(std::span<const uint8_t> public_key_der, EcSignFn sign) {
  std::call_once(g_ec_once, EcInitOnce);
  if (g_ec_method == nullptr || g_ec_index < 0) {
    return MakeError(ErrorCode::kInternal, "cannot set up the remote EC method");
  }
  const unsigned char* p = public_key_der.data();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pub(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())), EVP_PKEY_free);
  char group_name[32] = {};
  if (!pub || p != public_key_der.data() + public_key_der.size() ||
      EVP_PKEY_get_base_id(pub.get()) != EVP_PKEY_EC ||
      EVP_PKEY_get_group_name(pub.get(), group_name, sizeof(group_name), nullptr) != 1 ||
      std::string(group_name) != SN_X9_62_prime256v1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument, "server public key is not an EC P-256 key");
  }
  unsigned char point[1 + 2 * kEcScalarBytes];  // uncompressed: the longest form
  size_t point_len = 0;
  if (EVP_PKEY_get_octet_string_param(pub.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                      &point_len) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument, "cannot read the EC public point");
  }
  std::unique_ptr<EC_KEY, decltype(&EC_KEY_free)> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1),
                                                     EC_KEY_free);
  if (!ec || EC_KEY_set_method(ec.get(), g_ec_method) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot build the EC key");
  }
  if (EC_KEY_oct2key(ec.get(), point, point_len, nullptr) != 1 || EC_KEY_check_key(ec.get()) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument, "invalid EC P-256 public point");
  }
  auto* fn = new EcSignFn(std::move(sign));
  if (EC_KEY_set_ex_data(ec.get(), g_ec_index, fn) != 1) {
    delete fn;
    return MakeError(ErrorCode::kInternal, "cannot attach the EC signing callback");
  }
  EVP_PKEY* key = EVP_PKEY_new();
  if (key == nullptr || EVP_PKEY_assign_EC_KEY(key, ec.get()) != 1) {
    EVP_PKEY_free(key);
    return MakeError(ErrorCode::kInternal, "cannot wrap the EC key");
  }
  ec.release();  // owned by key now
  return key;
}

}  // namespace onionmail::net
