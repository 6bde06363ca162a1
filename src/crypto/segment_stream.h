// Streaming AEAD for message bodies: AES-256-GCM over fixed-size segments.
//
// Format (normative description in docs/store.md):
//  - the plaintext stream is cut into segments of kSegmentPlaintextBytes;
//    every segment on disk has the same size kSegmentCiphertextBytes, the last
//    one zero-padded, so the file size reveals only the number of segments;
//  - segment plaintext = u32 big-endian used-length || data || zero padding;
//  - nonce (12 bytes) = 7-byte random per-message prefix || u32 BE segment
//    index || 1 byte final flag (0x01 on the last segment, else 0x00);
//  - AAD = the caller's header bytes (binds version, key id, wrapped key).
// Contract: the decryptor detects truncation (no final segment), extension
// (data after the final segment), reordering, bit flips and a wrong key, and
// reports all of them as kDataLoss. Output is delivered through a callback so
// that a message never needs to be whole in memory.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::crypto {

constexpr size_t kSegmentCiphertextBytes = 64 * 1024;
constexpr size_t kSegmentOverheadBytes = 4 + 16;  // length prefix + GCM tag
constexpr size_t kSegmentPlaintextBytes = kSegmentCiphertextBytes - kSegmentOverheadBytes;
constexpr size_t kNoncePrefixBytes = 7;

using ByteSink = std::function<Result<void>(std::span<const uint8_t>)>;

class SegmentEncryptor {
 public:
  // `key` must be 32 bytes. A fresh random nonce prefix is chosen.
  static Result<SegmentEncryptor> Create(const SecretBytes& key, std::vector<uint8_t> aad);
  const std::array<uint8_t, kNoncePrefixBytes>& nonce_prefix() const { return prefix_; }

  // Buffers plaintext; emits every complete non-final segment to `out`.
  Result<void> Update(std::span<const uint8_t> plaintext, const ByteSink& out);
  // Emits the final (possibly empty, always padded) segment.
  Result<void> Finish(const ByteSink& out);

 private:
  SegmentEncryptor() = default;
  Result<void> EmitSegment(bool final, const ByteSink& out);
  SecretBytes key_;
  std::vector<uint8_t> aad_;
  std::array<uint8_t, kNoncePrefixBytes> prefix_{};
  std::vector<uint8_t> pending_;
  uint32_t index_ = 0;
  bool finished_ = false;
  bool failed_ = false;  // a sink or cipher error poisons the encryptor
};

class SegmentDecryptor {
 public:
  static Result<SegmentDecryptor> Create(const SecretBytes& key,
                                         std::span<const uint8_t> nonce_prefix,
                                         std::vector<uint8_t> aad);
  // Feeds ciphertext bytes (any chunking); emits plaintext of each verified
  // segment to `out`.
  Result<void> Update(std::span<const uint8_t> ciphertext, const ByteSink& out);
  // kDataLoss unless exactly one final segment was seen and nothing followed.
  Result<void> Finish();

 private:
  SegmentDecryptor() = default;
  Result<void> OpenSegment(const ByteSink& out);
  SecretBytes key_;
  std::vector<uint8_t> aad_;
  std::array<uint8_t, kNoncePrefixBytes> prefix_{};
  std::vector<uint8_t> pending_;
  uint32_t index_ = 0;
  bool seen_final_ = false;
  bool failed_ = false;  // after any kDataLoss every later call fails too
};

}  // namespace onionmail::crypto
