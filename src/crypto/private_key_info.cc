// EncodePrivateKeyInfo: OSSL_ENCODER into a BIO_s_secmem (see the header).
#include "crypto/private_key_info.h"

#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/encoder.h>
#include <openssl/err.h>

#include <memory>
#include <span>

namespace onionmail::crypto {

namespace {

Error Fail(const char* what) {
  ERR_clear_error();
  return MakeError(ErrorCode::kInternal, what);
}

struct EncoderCtxDeleter {
  void operator()(OSSL_ENCODER_CTX* c) const { OSSL_ENCODER_CTX_free(c); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

}  // namespace

Result<SecretBytes> EncodePrivateKeyInfo(const EVP_PKEY* key, KeyEncoding encoding) {
  if (key == nullptr) return Fail("no key to encode");
  std::unique_ptr<OSSL_ENCODER_CTX, EncoderCtxDeleter> ectx(OSSL_ENCODER_CTX_new_for_pkey(
      key, OSSL_KEYMGMT_SELECT_KEYPAIR, encoding == KeyEncoding::kPem ? "PEM" : "DER",
      "PrivateKeyInfo", nullptr));
  if (!ectx || OSSL_ENCODER_CTX_get_num_encoders(ectx.get()) == 0) {
    return Fail("encoder setup failed");
  }
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_secmem()));
  if (!bio) return Fail("BIO_new failed");
  if (OSSL_ENCODER_to_bio(ectx.get(), bio.get()) != 1) {
    return Fail("private key encoding failed");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return Fail("empty key encoding");
  return SecretBytes(
      SecretAccess::Grant(),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
}

}  // namespace onionmail::crypto
