// AES-256-GCM one-shot seal/open over OpenSSL EVP (the cipher fetched once,
// crypto/algorithms.h).
#include "crypto/aead.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "crypto/algorithms.h"
#include "crypto/random.h"

namespace onionmail::crypto {

namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

Error DataLoss() {
  ERR_clear_error();
  return MakeError(ErrorCode::kDataLoss, "record failed authentication");
}

Error Internal(const char* what) {
  ERR_clear_error();
  return MakeError(ErrorCode::kInternal, what);
}

}  // namespace

Result<std::vector<uint8_t>> AeadSeal(const SecretBytes& key, std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> aad) {
  if (key.size() != kAeadKeyBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "aead key must be 32 bytes");
  }
  if (plaintext.size() > INT_MAX - 64 || aad.size() > INT_MAX) {
    return MakeError(ErrorCode::kInvalidArgument, "aead input too large");
  }
  std::vector<uint8_t> out(kAeadNonceBytes + plaintext.size() + kAeadTagBytes);
  RandomBytes(std::span(out.data(), kAeadNonceBytes));
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Internal("EVP_CIPHER_CTX_new failed");
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.Reveal(SecretAccess::Grant()).data(),
                         out.data()) != 1) {
    return Internal("aead init failed");
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Internal("aead aad failed");
  }
  uint8_t* ct = out.data() + kAeadNonceBytes;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1) {
    return Internal("aead encrypt failed");
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) != 1) {
    return Internal("aead final failed");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAeadTagBytes, ct + plaintext.size()) !=
      1) {
    return Internal("aead tag failed");
  }
  return out;
}

Result<SecretBytes> AeadOpen(const SecretBytes& key, std::span<const uint8_t> sealed,
                             std::span<const uint8_t> aad) {
  if (key.size() != kAeadKeyBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "aead key must be 32 bytes");
  }
  if (sealed.size() < kAeadNonceBytes + kAeadTagBytes) return DataLoss();
  if (sealed.size() > INT_MAX || aad.size() > INT_MAX) return DataLoss();
  const size_t ct_len = sealed.size() - kAeadNonceBytes - kAeadTagBytes;
  const uint8_t* nonce = sealed.data();
  const uint8_t* ct = sealed.data() + kAeadNonceBytes;
  // The tag buffer is copied because EVP_CTRL_GCM_SET_TAG takes a non-const pointer.
  uint8_t tag[kAeadTagBytes];
  std::copy(ct + ct_len, ct + ct_len + kAeadTagBytes, tag);

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Internal("EVP_CIPHER_CTX_new failed");
  SecretBytes out(ct_len);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.Reveal(SecretAccess::Grant()).data(),
                         nonce) != 1) {
    return Internal("aead init failed");
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return DataLoss();
  }
  auto pt = out.Reveal(SecretAccess::Grant());
  if (ct_len != 0 &&
      EVP_DecryptUpdate(ctx.get(), pt.data(), &len, ct, static_cast<int>(ct_len)) != 1) {
    return DataLoss();
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAeadTagBytes, tag) != 1) {
    return DataLoss();
  }
  uint8_t final_block[16];
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &len) != 1) {
    return DataLoss();  // `out` is wiped when it goes out of scope
  }
  return out;
}

}  // namespace onionmail::crypto
