// RFC 9180 HPKE, base mode, DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 +
// AES-{128,256}-GCM, over OpenSSL 3.0 EVP (which has no HPKE API).
//
// HKDF is written out as HMAC-SHA256: Extract(salt, ikm) = HMAC(salt, ikm) and,
// as every output here is at most 32 bytes, Expand(prk, info, L) is the first L
// bytes of HMAC(prk, info || 0x01). HMAC is OpenSSL's (EVP_MAC); the labelled
// inputs of section 4 are fed to it piece by piece, so no secret is copied
// into a concatenation buffer. HMAC, AES-GCM and an X25519 key template are
// fetched once per process. Every secret intermediate lives in a Wiped<> buffer
// that OPENSSL_cleanse()s itself on every exit path; OpenSSL contexts wipe
// their own state when freed. The RFC 9180 A.1 test vectors pin every step.
#include "crypto/hpke.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string_view>

#include "crypto/algorithms.h"

namespace onionmail::crypto::hpke {

namespace {

constexpr size_t kHashBytes = 32;   // Nh of HKDF-SHA256, Nsecret of the KEM
constexpr size_t kKeyBytes = 32;    // Nsk / Npk of X25519
constexpr size_t kNonceBytes = 12;  // Nn of both AES-GCM variants
constexpr size_t kMaxAeadKeyBytes = 32;

using Bytes = std::span<const uint8_t>;

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }  // wipes the key and state
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

// A fixed-size stack buffer for secrets, wiped when it goes out of scope.
template <size_t N>
struct Wiped {
  uint8_t bytes[N] = {};
  Wiped() = default;
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { OPENSSL_cleanse(bytes, N); }
  uint8_t* data() { return bytes; }
  Bytes span() const { return {bytes, N}; }
};

// A public key (the base point) that DhX25519() duplicates and overwrites
// with the peer's: half the cost of EVP_PKEY_new_raw_public_key_ex(), which
// fetches the key manager on every call. Made once (thread-safe static init),
// never freed, only ever read. The other algorithms: crypto/algorithms.h.
EVP_PKEY* X25519Template() {
  static EVP_PKEY* const key = [] {
    static const uint8_t kBasePoint[kKeyBytes] = {9};
    EVP_PKEY* k = EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, kBasePoint, kKeyBytes);
    ERR_clear_error();
    return k;
  }();
  return key;
}

// out = HMAC-SHA256(key, parts[0] || parts[1] || ...), through OpenSSL's
// EVP_MAC (a copy of the HMAC-SHA256 template). The parts are fed one by one,
// so no secret is copied into a concatenation buffer.
[[nodiscard]] bool Hmac(Bytes key, std::initializer_list<Bytes> parts, uint8_t out[kHashBytes]) {
  static const uint8_t kEmptyKey[1] = {0};  // an empty HMAC key is a block of zeros
  const EVP_MAC_CTX* tmpl = HmacSha256Template();
  MacCtxPtr mac(tmpl != nullptr ? EVP_MAC_CTX_dup(tmpl) : nullptr);
  const Bytes k = key.empty() ? Bytes(kEmptyKey, 1) : key;
  if (!mac || EVP_MAC_init(mac.get(), k.data(), k.size(), nullptr) != 1) return false;
  for (Bytes p : parts) {
    if (!p.empty() && EVP_MAC_update(mac.get(), p.data(), p.size()) != 1) return false;
  }
  size_t len = 0;
  return EVP_MAC_final(mac.get(), out, &len, kHashBytes) == 1 && len == kHashBytes;
}

Bytes Str(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

constexpr std::string_view kVersion = "HPKE-v1";

// suite_id for the KEM ("KEM" || I2OSP(kem_id, 2)) or the whole suite
// ("HPKE" || kem_id || kdf_id || aead_id).
constexpr uint8_t kKemSuite[] = {'K', 'E', 'M', 0x00, 0x20};

std::array<uint8_t, 10> HpkeSuite(Aead aead) {
  const auto id = static_cast<uint16_t>(aead);
  std::array<uint8_t, 10> suite = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01};
  suite[8] = static_cast<uint8_t>(id >> 8);
  suite[9] = static_cast<uint8_t>(id & 0xff);
  return suite;
}

// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm).
[[nodiscard]] bool LabeledExtract(Bytes suite, Bytes salt, std::string_view label, Bytes ikm,
                                  uint8_t out[kHashBytes]) {
  return Hmac(salt, {Str(kVersion), suite, Str(label), ikm}, out);
}

// LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" ||
// suite_id || label || info, L) for L <= 32 (one HMAC block). `info` comes in
// up to two pieces that are concatenated.
[[nodiscard]] bool LabeledExpand(Bytes suite, Bytes prk, std::string_view label, Bytes info1,
                                 Bytes info2, size_t out_len, uint8_t* out) {
  if (out_len == 0 || out_len > kHashBytes) return false;
  const uint8_t length[2] = {0, static_cast<uint8_t>(out_len)};
  static const uint8_t kCounter[1] = {0x01};
  Wiped<kHashBytes> block;
  if (!Hmac(prk, {Bytes(length), Str(kVersion), suite, Str(label), info1, info2, kCounter},
            block.data())) {
    return false;
  }
  std::memcpy(out, block.data(), out_len);
  return true;
}

// Raw 32-byte X25519 public key of `key` (public or private); false if `key`
// is not an X25519 key.
[[nodiscard]] bool RawPublic(const EVP_PKEY* key, uint8_t out[kKeyBytes]) {
  if (key == nullptr || EVP_PKEY_is_a(key, "X25519") != 1) return false;
  size_t len = kKeyBytes;
  return EVP_PKEY_get_raw_public_key(key, out, &len) == 1 && len == kKeyBytes;
}

// DH(sk, pk) for X25519; rejects the all-zero output of a low-order point (RFC
// 9180 section 7.1.4) in constant time, whether or not OpenSSL already did.
[[nodiscard]] bool DhX25519(const EVP_PKEY* private_key, Bytes peer_public,
                            uint8_t out[kKeyBytes]) {
  if (peer_public.size() != kKeyBytes) return false;
  EVP_PKEY* tmpl = X25519Template();
  PkeyPtr peer(tmpl != nullptr ? EVP_PKEY_dup(tmpl) : nullptr);
  if (!peer || EVP_PKEY_set1_encoded_public_key(peer.get(), peer_public.data(), kKeyBytes) != 1) {
    return false;
  }
  // EVP_PKEY_CTX_new_from_pkey only reads the key and takes a reference.
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(private_key), nullptr));
  size_t len = kKeyBytes;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), /*validate_peer=*/0) != 1 ||
      EVP_PKEY_derive(ctx.get(), out, &len) != 1 || len != kKeyBytes) {
    OPENSSL_cleanse(out, kKeyBytes);
    return false;
  }
  static const uint8_t kZeros[kKeyBytes] = {};
  return CRYPTO_memcmp(out, kZeros, kKeyBytes) != 0;
}

// DHKEM ExtractAndExpand (section 4.1): shared_secret from dh and
// kem_context = enc || pkRm.
[[nodiscard]] bool ExtractAndExpand(Bytes dh, Bytes enc, Bytes pkRm,
                                    uint8_t shared_secret[kHashBytes]) {
  Wiped<kHashBytes> eae_prk;
  return LabeledExtract(kKemSuite, {}, "eae_prk", dh, eae_prk.data()) &&
         LabeledExpand(kKemSuite, eae_prk.span(), "shared_secret", enc, pkRm, kHashBytes,
                       shared_secret);
}

size_t KeyBytes(Aead aead) { return aead == Aead::kAes128Gcm ? 16 : 32; }

const EVP_CIPHER* Cipher(Aead aead) {
  switch (aead) {
    case Aead::kAes128Gcm:
      return Aes128Gcm();
    case Aead::kAes256Gcm:
      return Aes256Gcm();
  }
  return nullptr;
}

// The AEAD key and base_nonce of a base-mode context (KeySchedule, section
// 5.1, with mode 0 and empty psk and psk_id).
struct Context {
  Wiped<kMaxAeadKeyBytes> key;
  Wiped<kNonceBytes> nonce;
};

[[nodiscard]] bool KeySchedule(Aead aead, Bytes shared_secret, Bytes info, Context& out) {
  const auto suite = HpkeSuite(aead);
  // key_schedule_context = mode || psk_id_hash || info_hash (public values).
  uint8_t ksc[1 + 2 * kHashBytes] = {0x00};
  Wiped<kHashBytes> secret;
  return LabeledExtract(suite, {}, "psk_id_hash", {}, ksc + 1) &&
         LabeledExtract(suite, {}, "info_hash", info, ksc + 1 + kHashBytes) &&
         LabeledExtract(suite, shared_secret, "secret", {}, secret.data()) &&
         LabeledExpand(suite, secret.span(), "key", ksc, {}, KeyBytes(aead), out.key.data()) &&
         LabeledExpand(suite, secret.span(), "base_nonce", ksc, {}, kNonceBytes, out.nonce.data());
}

Error SealFailed(ErrorCode code, const char* what) {
  ERR_clear_error();
  return MakeError(code, what);
}

// Encap with the given ephemeral key, KeySchedule and Seal at sequence 0.
Result<Sealed> SealWith(Aead aead, const EVP_PKEY* recipient, const EVP_PKEY* ephemeral, Bytes info,
                        Bytes aad, const SecretBytes& plaintext) {
  const EVP_CIPHER* cipher = Cipher(aead);
  if (cipher == nullptr) return SealFailed(ErrorCode::kInvalidArgument, "hpke: unknown aead");
  if (plaintext.size() > INT_MAX - 64 || aad.size() > INT_MAX) {
    return SealFailed(ErrorCode::kInvalidArgument, "hpke: input too large");
  }
  uint8_t pkRm[kKeyBytes];
  if (!RawPublic(recipient, pkRm)) {
    return SealFailed(ErrorCode::kInvalidArgument, "hpke: recipient is not an X25519 key");
  }
  Sealed sealed;
  if (!RawPublic(ephemeral, sealed.enc.data())) {
    return SealFailed(ErrorCode::kInvalidArgument, "hpke: ephemeral is not an X25519 key");
  }
  Wiped<kHashBytes> dh;
  if (!DhX25519(ephemeral, pkRm, dh.data())) {
    // Only a low-order recipient key, or a broken library, gets here.
    return SealFailed(ErrorCode::kInvalidArgument, "hpke: key agreement failed");
  }
  Wiped<kHashBytes> shared_secret;
  Context context;
  if (!ExtractAndExpand(dh.span(), sealed.enc, pkRm, shared_secret.data()) ||
      !KeySchedule(aead, shared_secret.span(), info, context)) {
    return SealFailed(ErrorCode::kInternal, "hpke: key schedule failed");
  }

  auto pt = plaintext.Reveal(SecretAccess::Grant());
  sealed.ciphertext.resize(pt.size() + kTagBytes);
  uint8_t* ct = sealed.ciphertext.data();
  CipherCtxPtr c(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!c ||
      EVP_EncryptInit_ex2(c.get(), cipher, context.key.data(), context.nonce.data(), nullptr) !=
          1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(c.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!pt.empty() &&
       EVP_EncryptUpdate(c.get(), ct, &len, pt.data(), static_cast<int>(pt.size())) != 1) ||
      EVP_EncryptFinal_ex(c.get(), ct + pt.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + pt.size()) != 1) {
    return SealFailed(ErrorCode::kInternal, "hpke: aead seal failed");
  }
  return sealed;
}

// The one error of Open(): no detail about which check failed.
Error OpenFailed() {
  ERR_clear_error();
  return MakeError(ErrorCode::kDataLoss, "hpke: message failed to open");
}

}  // namespace

Result<Sealed> Seal(Aead aead, const EVP_PKEY* recipient, std::span<const uint8_t> info,
                    std::span<const uint8_t> aad, const SecretBytes& plaintext) {
  if (recipient == nullptr || EVP_PKEY_is_a(recipient, "X25519") != 1) {
    return SealFailed(ErrorCode::kInvalidArgument, "hpke: recipient is not an X25519 key");
  }
  PkeyPtr ephemeral(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!ephemeral) return SealFailed(ErrorCode::kInternal, "hpke: ephemeral keygen failed");
  return SealWith(aead, recipient, ephemeral.get(), info, aad, plaintext);
}

Result<SecretBytes> Open(Aead aead, const EVP_PKEY* recipient, std::span<const uint8_t> enc,
                         std::span<const uint8_t> info, std::span<const uint8_t> aad,
                         std::span<const uint8_t> ciphertext) {
  const EVP_CIPHER* cipher = Cipher(aead);
  if (cipher == nullptr || enc.size() != kEncBytes || ciphertext.size() < kTagBytes ||
      ciphertext.size() > INT_MAX || aad.size() > INT_MAX) {
    return OpenFailed();
  }
  uint8_t pkRm[kKeyBytes];
  if (!RawPublic(recipient, pkRm)) return OpenFailed();
  Wiped<kHashBytes> dh;
  if (!DhX25519(recipient, enc, dh.data())) return OpenFailed();
  Wiped<kHashBytes> shared_secret;
  Context context;
  if (!ExtractAndExpand(dh.span(), enc, pkRm, shared_secret.data()) ||
      !KeySchedule(aead, shared_secret.span(), info, context)) {
    return OpenFailed();
  }

  const size_t pt_len = ciphertext.size() - kTagBytes;
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer, hence the copy.
  uint8_t tag[kTagBytes];
  std::copy_n(ciphertext.data() + pt_len, kTagBytes, tag);
  SecretBytes out(pt_len);
  auto pt = out.Reveal(SecretAccess::Grant());
  CipherCtxPtr c(EVP_CIPHER_CTX_new());
  int len = 0;
  uint8_t final_block[16];
  if (!c ||
      EVP_DecryptInit_ex2(c.get(), cipher, context.key.data(), context.nonce.data(), nullptr) !=
          1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(c.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (pt_len != 0 && EVP_DecryptUpdate(c.get(), pt.data(), &len, ciphertext.data(),
                                        static_cast<int>(pt_len)) != 1) ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1 ||
      EVP_DecryptFinal_ex(c.get(), final_block, &len) != 1) {
    return OpenFailed();  // `out` (unauthenticated plaintext) is wiped on destruction
  }
  return out;
}

EVP_PKEY* DeriveKeyPairForTest(std::span<const uint8_t> ikm) {
  Wiped<kHashBytes> dkp_prk;
  Wiped<kKeyBytes> sk;
  if (!LabeledExtract(kKemSuite, {}, "dkp_prk", ikm, dkp_prk.data()) ||
      !LabeledExpand(kKemSuite, dkp_prk.span(), "sk", {}, {}, kKeyBytes, sk.data())) {
    return nullptr;
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, sk.data(), kKeyBytes);
  ERR_clear_error();
  return key;
}

Result<Sealed> SealWithEphemeralForTest(Aead aead, const EVP_PKEY* recipient,
                                        const EVP_PKEY* ephemeral, std::span<const uint8_t> info,
                                        std::span<const uint8_t> aad,
                                        const SecretBytes& plaintext) {
  return SealWith(aead, recipient, ephemeral, info, aad, plaintext);
}

}  // namespace onionmail::crypto::hpke
