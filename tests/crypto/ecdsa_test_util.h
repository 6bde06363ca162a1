// Test helpers: checks an ECDSA P-256 signature in the r || s form (32 bytes
// each, big-endian) that hsm::Token::TlsSign, State::TlsSign and the key
// role's TlsEcdsaSignRequest return (the PKCS#11 CKM_ECDSA layout), and makes
// the 32-byte digests those calls sign.
//
// Contract: VerifyP256RawSignature is true only if `rs` is 64 bytes, `spki` is
// a DER SubjectPublicKeyInfo and OpenSSL verifies the signature over `digest`
// (used as given, no hashing). Never throws; OpenSSL's error queue is left
// empty. Sha256Digest returns SHA-256(message) and aborts if OpenSSL fails.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace onionmail::testing {

inline bool VerifyP256RawSignature(std::span<const uint8_t> spki, std::span<const uint8_t> digest,
                                   std::span<const uint8_t> rs) {
  if (rs.size() != 64) return false;
  const unsigned char* p = spki.data();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())), EVP_PKEY_free);
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(rs.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(rs.data() + 32, 32, nullptr);
  if (!key || !sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ERR_clear_error();
    return false;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
  const bool ok = der_len > 0 && ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
                  EVP_PKEY_verify(ctx.get(), der, static_cast<size_t>(der_len), digest.data(),
                                  digest.size()) == 1;
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

inline std::vector<uint8_t> Sha256Digest(std::string_view message) {
  std::vector<uint8_t> digest(32);
  unsigned int len = 0;
  if (EVP_Digest(message.data(), message.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != digest.size()) {
    std::abort();
  }
  return digest;
}

}  // namespace onionmail::testing
