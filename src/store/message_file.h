// The encrypted message file format (normative description: docs/store.md).
//
//   header  = "OMMS" || u8 version (1) || key id (32) || u16 BE W || wrapped DEK (W)
//             || nonce prefix (7)
//   meta    = AES-256-GCM seal (crypto::AeadSeal: 12-byte nonce || 16 || 16-byte tag) of
//             u64 BE message size || u64 BE received time (ns since the Unix epoch),
//             key = HKDF(DEK, "onionmail message meta v1"), AAD = the whole header
//   body    = crypto::SegmentEncryptor segments (64 KiB each) of the message bytes,
//             key = HKDF(DEK, "onionmail message segments v1"),
//             AAD = the header without the nonce prefix (the prefix is part of
//             every segment nonce, so it is authenticated too)
//
// The DEK is a fresh random 32-byte key per message and recipient, wrapped
// to the recipient's inbox public key (crypto/inbox_key.h: HPKE for X25519
// keys, RSA-OAEP for RSA keys). The meta slot has a fixed
// size and is written last (at a fixed offset), because the size is known only
// after the whole stream; reading it needs one unwrap and one small AEAD open,
// no body decryption.
//
// Contract: the encryptor never holds more than one segment of plaintext; the
// reader streams plaintext through a sink and reports any malformation,
// tampering, truncation, size mismatch or wrong key as kDataLoss (a failed
// unwrap passes through the unwrapper's error).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/inbox_key.h"
#include "crypto/segment_stream.h"

namespace onionmail::store {

constexpr uint8_t kMessageFormatVersion = 1;
constexpr size_t kMessageMetaPlainBytes = 16;
constexpr size_t kMessageMetaSlotBytes = 12 + kMessageMetaPlainBytes + 16;
constexpr size_t kMinWrappedKeyBytes = 80;    // X25519 HPKE (RSA-2048: 256)
constexpr size_t kMaxWrappedKeyBytes = 2048;  // RSA 16384

struct MessageMeta {
  uint64_t size = 0;              // message octets (what RETR sends before dot-stuffing)
  uint64_t received_unix_ns = 0;  // arrival time
};

// Unwraps a wrapped DEK (normally keys::InboxKey::UnwrapDataKey).
using DataKeyUnwrapper = std::function<Result<SecretBytes>(std::span<const uint8_t> wrapped)>;

class MessageEncryptor {
 public:
  static Result<std::unique_ptr<MessageEncryptor>> Create(const crypto::InboxPublicKey& recipient);

  // Bytes that start the file; the meta slot follows at offset header().size().
  const std::vector<uint8_t>& header() const { return header_; }
  uint64_t size() const { return size_; }

  // Encrypts message bytes; complete segments go to `out`.
  Result<void> Update(std::span<const uint8_t> bytes, const crypto::ByteSink& out);
  // Emits the final segment to `out` and returns the sealed meta slot
  // (kMessageMetaSlotBytes) to write at offset header().size().
  Result<std::vector<uint8_t>> Finish(uint64_t received_unix_ns, const crypto::ByteSink& out);

 private:
  MessageEncryptor(crypto::SegmentEncryptor segments, SecretBytes meta_key,
                   std::vector<uint8_t> header)
      : segments_(std::move(segments)),
        meta_key_(std::move(meta_key)),
        header_(std::move(header)) {}
  crypto::SegmentEncryptor segments_;
  SecretBytes meta_key_;
  std::vector<uint8_t> header_;
  uint64_t size_ = 0;
  bool finished_ = false;
};

// Reads one message file from an open descriptor (positioned anywhere).
class MessageReader {
 public:
  // Parses the header, unwraps the DEK and opens the meta slot.
  static Result<std::unique_ptr<MessageReader>> Open(int fd, const std::string& path,
                                                     const DataKeyUnwrapper& unwrap);
  const MessageMeta& meta() const { return meta_; }
  const std::array<uint8_t, 32>& key_id() const { return key_id_; }
  // Decrypts the body and streams it to `sink`; kDataLoss unless exactly
  // meta().size authenticated bytes come out.
  Result<void> ReadBody(const crypto::ByteSink& sink);

 private:
  MessageReader() = default;
  int fd_ = -1;
  std::string path_;
  std::array<uint8_t, 32> key_id_{};
  MessageMeta meta_;
  std::optional<crypto::SegmentDecryptor> segments_;
  uint64_t body_offset_ = 0;
  uint64_t body_bytes_ = 0;
};

}  // namespace onionmail::store
