// Inbox keys (see inbox_key.h) over OpenSSL 3: X25519 keys wrap with HPKE
// (crypto/hpke.h), RSA keys with RSA-OAEP (SHA-256, MGF1-SHA-256, no label).
#include "crypto/inbox_key.h"

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <string_view>

#include "crypto/hpke.h"
#include "crypto/kdf.h"
#include "crypto/private_key_info.h"

namespace onionmail::crypto {

void EvpPkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

namespace {

constexpr int kMinBits = 2048;
constexpr int kMaxBits = 16384;
constexpr size_t kOaepOverhead = 2 * 32 + 2;  // 2 * hLen + 2 for SHA-256
constexpr size_t kDekBytes = 32;
constexpr std::string_view kHpkeInfo = "onionmail inbox dek v1";

std::span<const uint8_t> HpkeInfo() {
  return {reinterpret_cast<const uint8_t*>(kHpkeInfo.data()), kHpkeInfo.size()};
}

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
struct DecoderCtxDeleter {
  void operator()(OSSL_DECODER_CTX* c) const { OSSL_DECODER_CTX_free(c); }
};

Error Fail(ErrorCode code, const char* what) {
  ERR_clear_error();
  return MakeError(code, what);
}

// Accepts only X25519 keys and plain RSA keys of a sane size.
Result<InboxKeyType> CheckKey(const EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_X25519:
      return InboxKeyType::kX25519;
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(key);
      if (bits < kMinBits || bits > kMaxBits) {
        return Fail(ErrorCode::kInvalidArgument, "RSA key size out of range");
      }
      return InboxKeyType::kRsa;
    }
    default:
      return Fail(ErrorCode::kInvalidArgument, "not an X25519 or RSA key");
  }
}

// The type of a key that CheckKey() accepted (every key object is made from one).
InboxKeyType TypeOf(const EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? InboxKeyType::kRsa : InboxKeyType::kX25519;
}

Result<void> SetOaep(EVP_PKEY_CTX* ctx) {
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA256", nullptr) <= 0 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA256", nullptr) <= 0) {
    return Fail(ErrorCode::kInternal, "OAEP setup failed");
  }
  return Ok();
}

}  // namespace

// ---------------------------------------------------------------- public key

Result<InboxPublicKey> InboxPublicKey::FromDer(std::span<const uint8_t> der) {
  if (der.empty() || der.size() > LONG_MAX) {
    return Fail(ErrorCode::kInvalidArgument, "bad public key DER");
  }
  const unsigned char* p = der.data();
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key || p != der.data() + der.size()) {
    return Fail(ErrorCode::kInvalidArgument, "bad public key DER");
  }
  ONIONMAIL_RETURN_IF_ERROR(CheckKey(key.get()));
  return InboxPublicKey(std::move(key));
}

std::vector<uint8_t> InboxPublicKey::ToDer() const {
  const int len = i2d_PUBKEY(key_.get(), nullptr);
  ONIONMAIL_CHECK(len > 0);
  std::vector<uint8_t> out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  ONIONMAIL_CHECK(i2d_PUBKEY(key_.get(), &p) == len);
  return out;
}

InboxPublicKey::InboxPublicKey(EvpPkeyPtr key) : key_(std::move(key)) {
  key_id_ = std::make_shared<const std::array<uint8_t, 32>>(Sha256(ToDer()));
  type_ = TypeOf(key_.get());
}

InboxPublicKey::InboxPublicKey(EvpPkeyPtr key, std::span<const uint8_t> canonical_der)
    : key_(std::move(key)),
      key_id_(std::make_shared<const std::array<uint8_t, 32>>(Sha256(canonical_der))) {
  type_ = TypeOf(key_.get());
}

size_t InboxPublicKey::WrappedBytes() const {
  if (type_ == InboxKeyType::kX25519) return kX25519WrappedBytes;
  return static_cast<size_t>(EVP_PKEY_get_size(key_.get()));
}

Result<std::vector<uint8_t>> InboxPublicKey::Wrap(const SecretBytes& key) const {
  if (type_ == InboxKeyType::kX25519) {
    if (key.size() != kDekBytes) {
      return MakeError(ErrorCode::kInvalidArgument, "key to wrap has a bad size");
    }
    auto sealed = hpke::Seal(hpke::Aead::kAes256Gcm, key_.get(), HpkeInfo(), {}, key);
    if (!sealed.ok()) return sealed.error();
    std::vector<uint8_t> out(sealed->enc.begin(), sealed->enc.end());
    out.insert(out.end(), sealed->ciphertext.begin(), sealed->ciphertext.end());
    ONIONMAIL_CHECK(out.size() == kX25519WrappedBytes);
    return out;
  }
  if (key.empty() || key.size() + kOaepOverhead > WrappedBytes()) {
    return MakeError(ErrorCode::kInvalidArgument, "key to wrap has a bad size");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0) {
    return Fail(ErrorCode::kInternal, "RSA encrypt init failed");
  }
  ONIONMAIL_RETURN_IF_ERROR(SetOaep(ctx.get()));
  const auto in = key.Reveal(SecretAccess::Grant());
  size_t out_len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, in.data(), in.size()) <= 0) {
    return Fail(ErrorCode::kInternal, "RSA encrypt failed");
  }
  std::vector<uint8_t> out(out_len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, in.data(), in.size()) <= 0) {
    return Fail(ErrorCode::kInternal, "RSA encrypt failed");
  }
  out.resize(out_len);
  return out;
}

// --------------------------------------------------------------- private key

InboxPrivateKey::InboxPrivateKey(EvpPkeyPtr key) : key_(std::move(key)) {
  type_ = TypeOf(key_.get());
}

Result<InboxPrivateKey> InboxPrivateKey::GenerateX25519() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!key) return Fail(ErrorCode::kInternal, "X25519 keygen failed");
  return InboxPrivateKey(std::move(key));
}

Result<InboxPrivateKey> InboxPrivateKey::GenerateRsa(int bits) {
  if (bits < kMinBits || bits > kMaxBits) {
    return MakeError(ErrorCode::kInvalidArgument, "RSA key size out of range");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) <= 0) {
    return Fail(ErrorCode::kInternal, "RSA keygen setup failed");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) <= 0) {
    return Fail(ErrorCode::kInternal, "RSA keygen failed");
  }
  return InboxPrivateKey(EvpPkeyPtr(raw));
}

Result<InboxPrivateKey> InboxPrivateKey::FromDer(const SecretBytes& pkcs8_der) {
  if (pkcs8_der.empty()) return Fail(ErrorCode::kInvalidArgument, "bad private key DER");
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxDeleter> dctx(OSSL_DECODER_CTX_new_for_pkey(
      &raw, "DER", "PrivateKeyInfo", nullptr, OSSL_KEYMGMT_SELECT_KEYPAIR, nullptr, nullptr));
  if (!dctx) return Fail(ErrorCode::kInternal, "decoder setup failed");
  const auto der = pkcs8_der.Reveal(SecretAccess::Grant());
  const unsigned char* p = der.data();
  size_t left = der.size();
  if (OSSL_DECODER_from_data(dctx.get(), &p, &left) != 1 || raw == nullptr) {
    EVP_PKEY_free(raw);
    return Fail(ErrorCode::kInvalidArgument, "bad private key DER");
  }
  EvpPkeyPtr key(raw);
  if (left != 0) return Fail(ErrorCode::kInvalidArgument, "bad private key DER");
  ONIONMAIL_RETURN_IF_ERROR(CheckKey(key.get()));
  return InboxPrivateKey(std::move(key));
}

Result<SecretBytes> InboxPrivateKey::ToDer() const {
  return EncodePrivateKeyInfo(key_.get(), KeyEncoding::kDer);
}

InboxPublicKey InboxPrivateKey::Public() const {
  // Re-decode the SubjectPublicKeyInfo so the public object never shares the
  // private key material.
  const int len = i2d_PUBKEY(key_.get(), nullptr);
  ONIONMAIL_CHECK(len > 0);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* w = der.data();
  ONIONMAIL_CHECK(i2d_PUBKEY(key_.get(), &w) == len);
  const unsigned char* r = der.data();
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &r, len));
  ONIONMAIL_CHECK(pub != nullptr);
  return InboxPublicKey(std::move(pub), der);  // `der` is i2d's own output: canonical
}

Result<SecretBytes> InboxPrivateKey::Unwrap(std::span<const uint8_t> wrapped) const {
  // Every failure below is reported identically: no padding-oracle detail.
  const Error kFailure{ErrorCode::kDataLoss, "key unwrap failed"};
  if (type_ == InboxKeyType::kX25519) {
    if (wrapped.size() != kX25519WrappedBytes) return kFailure;
    auto dek = hpke::Open(hpke::Aead::kAes256Gcm, key_.get(), wrapped.first(hpke::kEncBytes),
                          HpkeInfo(), {}, wrapped.subspan(hpke::kEncBytes));
    if (!dek.ok()) {
      ERR_clear_error();
      return kFailure;
    }
    return std::move(*dek);
  }
  const size_t modulus = static_cast<size_t>(EVP_PKEY_get_size(key_.get()));
  if (wrapped.size() != modulus) {
    ERR_clear_error();
    return kFailure;
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0 || !SetOaep(ctx.get()).ok()) {
    ERR_clear_error();
    return kFailure;
  }
  SecretBytes out(modulus);
  size_t out_len = out.size();
  if (EVP_PKEY_decrypt(ctx.get(), out.Reveal(SecretAccess::Grant()).data(), &out_len,
                       wrapped.data(), wrapped.size()) <= 0 ||
      out_len == 0 || out_len > modulus) {
    ERR_clear_error();
    return kFailure;
  }
  out.Truncate(out_len);
  return out;
}

}  // namespace onionmail::crypto
