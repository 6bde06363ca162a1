// Segmented AES-256-GCM stream (format in segment_stream.h / docs/store.md).
#include "crypto/segment_stream.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <memory>

#include "crypto/algorithms.h"
#include "crypto/random.h"

namespace onionmail::crypto {

namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kLengthBytes = 4;
constexpr size_t kSealedBodyBytes = kSegmentCiphertextBytes - kTagBytes;  // length + data
static_assert(kSealedBodyBytes == kLengthBytes + kSegmentPlaintextBytes);
static_assert(kSegmentCiphertextBytes < INT_MAX);

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

using Nonce = std::array<uint8_t, kNonceBytes>;

Nonce MakeNonce(const std::array<uint8_t, kNoncePrefixBytes>& prefix, uint32_t index, bool final) {
  Nonce n{};
  std::copy(prefix.begin(), prefix.end(), n.begin());
  n[7] = static_cast<uint8_t>(index >> 24);
  n[8] = static_cast<uint8_t>(index >> 16);
  n[9] = static_cast<uint8_t>(index >> 8);
  n[10] = static_cast<uint8_t>(index);
  n[11] = final ? 0x01 : 0x00;
  return n;
}

Error DataLoss(const char* what) {
  ERR_clear_error();
  return MakeError(ErrorCode::kDataLoss, what);
}

Error Internal(const char* what) {
  ERR_clear_error();
  return MakeError(ErrorCode::kInternal, what);
}

// Encrypts `body` (length prefix + data + padding, kSealedBodyBytes) into
// `out` (kSegmentCiphertextBytes): ciphertext followed by the tag.
Result<void> Seal(const SecretBytes& key, const Nonce& nonce, std::span<const uint8_t> aad,
                  std::span<const uint8_t> body, std::span<uint8_t> out) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.Reveal(SecretAccess::Grant()).data(),
                         nonce.data()) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                         static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &len, body.data(), static_cast<int>(body.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + body.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out.data() + body.size()) !=
          1) {
    return Internal("segment encryption failed");
  }
  return Ok();
}

// Decrypts one on-disk segment into `body`; false when authentication fails.
bool TryOpen(const SecretBytes& key, const Nonce& nonce, std::span<const uint8_t> aad,
             std::span<const uint8_t> segment, std::span<uint8_t> body) {
  uint8_t tag[kTagBytes];
  std::copy(segment.end() - kTagBytes, segment.end(), tag);
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  uint8_t final_block[16];
  const bool ok = ctx &&
                  EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr,
                                     key.Reveal(SecretAccess::Grant()).data(), nonce.data()) == 1 &&
                  (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                                    static_cast<int>(aad.size())) == 1) &&
                  EVP_DecryptUpdate(ctx.get(), body.data(), &len, segment.data(),
                                    static_cast<int>(kSealedBodyBytes)) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) == 1 &&
                  EVP_DecryptFinal_ex(ctx.get(), final_block, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(body.data(), body.size());
    ERR_clear_error();
  }
  return ok;
}

Result<void> CheckKeyAndAad(const SecretBytes& key, const std::vector<uint8_t>& aad) {
  if (key.size() != kKeyBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "segment key must be 32 bytes");
  }
  if (aad.size() > INT_MAX) return MakeError(ErrorCode::kInvalidArgument, "aad too large");
  // Checked here, so that a missing cipher is not later taken for a segment
  // that failed authentication.
  if (Aes256Gcm() == nullptr) return Internal("AES-256-GCM unavailable");
  return Ok();
}

}  // namespace

// ----------------------------------------------------------------- encryptor

Result<SegmentEncryptor> SegmentEncryptor::Create(const SecretBytes& key,
                                                  std::vector<uint8_t> aad) {
  ONIONMAIL_RETURN_IF_ERROR(CheckKeyAndAad(key, aad));
  SegmentEncryptor enc;
  enc.key_ = key.Clone();
  enc.aad_ = std::move(aad);
  RandomBytes(enc.prefix_);
  enc.pending_.reserve(kSegmentPlaintextBytes);
  return enc;
}

Result<void> SegmentEncryptor::Update(std::span<const uint8_t> plaintext, const ByteSink& out) {
  if (failed_ || finished_) {
    return MakeError(ErrorCode::kFailedPrecondition, "encryptor finished or failed");
  }
  while (!plaintext.empty()) {
    // A full buffer is only emitted once more data proves it is not the last.
    if (pending_.size() == kSegmentPlaintextBytes) {
      ONIONMAIL_RETURN_IF_ERROR(EmitSegment(/*final=*/false, out));
    }
    const size_t take = std::min(plaintext.size(), kSegmentPlaintextBytes - pending_.size());
    pending_.insert(pending_.end(), plaintext.begin(), plaintext.begin() + take);
    plaintext = plaintext.subspan(take);
  }
  return Ok();
}

Result<void> SegmentEncryptor::Finish(const ByteSink& out) {
  if (failed_ || finished_) {
    return MakeError(ErrorCode::kFailedPrecondition, "encryptor finished or failed");
  }
  ONIONMAIL_RETURN_IF_ERROR(EmitSegment(/*final=*/true, out));
  finished_ = true;
  return Ok();
}

Result<void> SegmentEncryptor::EmitSegment(bool final, const ByteSink& out) {
  if (index_ == std::numeric_limits<uint32_t>::max() && !final) {
    failed_ = true;
    return MakeError(ErrorCode::kResourceExhausted, "stream too long");
  }
  std::vector<uint8_t> body(kSealedBodyBytes, 0);
  const uint32_t used = static_cast<uint32_t>(pending_.size());
  body[0] = static_cast<uint8_t>(used >> 24);
  body[1] = static_cast<uint8_t>(used >> 16);
  body[2] = static_cast<uint8_t>(used >> 8);
  body[3] = static_cast<uint8_t>(used);
  std::copy(pending_.begin(), pending_.end(), body.begin() + kLengthBytes);
  OPENSSL_cleanse(pending_.data(), pending_.size());
  pending_.clear();

  std::vector<uint8_t> segment(kSegmentCiphertextBytes);
  auto sealed = Seal(key_, MakeNonce(prefix_, index_, final), aad_, body, segment);
  OPENSSL_cleanse(body.data(), body.size());
  if (!sealed.ok()) {
    failed_ = true;
    return sealed.error();
  }
  ++index_;
  auto written = out(segment);
  if (!written.ok()) {
    failed_ = true;
    return written.error();
  }
  return Ok();
}

// ----------------------------------------------------------------- decryptor

Result<SegmentDecryptor> SegmentDecryptor::Create(const SecretBytes& key,
                                                  std::span<const uint8_t> nonce_prefix,
                                                  std::vector<uint8_t> aad) {
  ONIONMAIL_RETURN_IF_ERROR(CheckKeyAndAad(key, aad));
  if (nonce_prefix.size() != kNoncePrefixBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "nonce prefix must be 7 bytes");
  }
  SegmentDecryptor dec;
  dec.key_ = key.Clone();
  dec.aad_ = std::move(aad);
  std::copy(nonce_prefix.begin(), nonce_prefix.end(), dec.prefix_.begin());
  dec.pending_.reserve(kSegmentCiphertextBytes);
  return dec;
}

Result<void> SegmentDecryptor::Update(std::span<const uint8_t> ciphertext, const ByteSink& out) {
  if (failed_) return DataLoss("stream already failed");
  while (!ciphertext.empty()) {
    if (seen_final_) {
      failed_ = true;
      return DataLoss("data after the final segment");
    }
    const size_t take = std::min(ciphertext.size(), kSegmentCiphertextBytes - pending_.size());
    pending_.insert(pending_.end(), ciphertext.begin(), ciphertext.begin() + take);
    ciphertext = ciphertext.subspan(take);
    if (pending_.size() == kSegmentCiphertextBytes) {
      auto opened = OpenSegment(out);
      if (!opened.ok()) {
        failed_ = true;
        return opened.error();
      }
    }
  }
  return Ok();
}

Result<void> SegmentDecryptor::OpenSegment(const ByteSink& out) {
  std::vector<uint8_t> body(kSealedBodyBytes);
  bool final = false;
  if (!TryOpen(key_, MakeNonce(prefix_, index_, false), aad_, pending_, body)) {
    if (!TryOpen(key_, MakeNonce(prefix_, index_, true), aad_, pending_, body)) {
      return DataLoss("segment failed authentication");
    }
    final = true;
  }
  pending_.clear();
  const uint32_t used = (uint32_t{body[0]} << 24) | (uint32_t{body[1]} << 16) |
                        (uint32_t{body[2]} << 8) | uint32_t{body[3]};
  const bool padding_zero =
      used <= kSegmentPlaintextBytes &&
      std::all_of(body.begin() + kLengthBytes + used, body.end(), [](uint8_t b) { return b == 0; });
  if (!padding_zero || (!final && used != kSegmentPlaintextBytes)) {
    OPENSSL_cleanse(body.data(), body.size());
    return DataLoss("segment length field invalid");
  }
  if (!final && index_ == std::numeric_limits<uint32_t>::max()) {
    OPENSSL_cleanse(body.data(), body.size());
    return DataLoss("stream too long");
  }
  ++index_;
  seen_final_ = final;
  Result<void> written = Ok();
  if (used != 0) written = out(std::span<const uint8_t>(body.data() + kLengthBytes, used));
  OPENSSL_cleanse(body.data(), body.size());
  return written;
}

Result<void> SegmentDecryptor::Finish() {
  if (failed_) return DataLoss("stream already failed");
  if (!pending_.empty()) {
    failed_ = true;
    return DataLoss("partial segment at end of stream");
  }
  if (!seen_final_) {
    failed_ = true;
    return DataLoss("stream truncated: no final segment");
  }
  return Ok();
}

}  // namespace onionmail::crypto
