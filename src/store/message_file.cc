// The encrypted message file format (see message_file.h, docs/store.md).
#include "store/message_file.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "store/durable_file.h"

namespace onionmail::store {

namespace {

constexpr uint8_t kMagic[4] = {'O', 'M', 'M', 'S'};
constexpr size_t kFixedPrefixBytes = 4 + 1 + 32 + 2;  // magic, version, key id, W
constexpr std::string_view kMetaInfo = "onionmail message meta v1";
constexpr std::string_view kSegmentInfo = "onionmail message segments v1";

void PutU64(std::vector<uint8_t>& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

uint64_t GetU64(std::span<const uint8_t> in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

struct MessageKeys {
  SecretBytes meta;
  SecretBytes segments;
};

Result<MessageKeys> DeriveKeys(const SecretBytes& dek) {
  if (dek.size() != crypto::kAeadKeyBytes) {
    return MakeError(ErrorCode::kDataLoss, "message data key has the wrong size");
  }
  auto meta = crypto::HkdfSha256(dek, {}, kMetaInfo, crypto::kAeadKeyBytes);
  if (!meta.ok()) return meta.error();
  auto segments = crypto::HkdfSha256(dek, {}, kSegmentInfo, crypto::kAeadKeyBytes);
  if (!segments.ok()) return segments.error();
  return MessageKeys{std::move(*meta), std::move(*segments)};
}

Error Malformed(const std::string& path, const char* what) {
  return MakeError(ErrorCode::kDataLoss, "message file " + path + ": " + what);
}

}  // namespace

Result<std::unique_ptr<MessageEncryptor>> MessageEncryptor::Create(
    const crypto::InboxPublicKey& recipient) {
  SecretBytes dek = crypto::RandomSecret(crypto::kAeadKeyBytes);
  auto wrapped = recipient.Wrap(dek);
  if (!wrapped.ok()) return wrapped.error();
  if (wrapped->size() < kMinWrappedKeyBytes || wrapped->size() > kMaxWrappedKeyBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "recipient key size not supported");
  }
  auto keys = DeriveKeys(dek);
  if (!keys.ok()) return keys.error();

  std::vector<uint8_t> header(kMagic, kMagic + 4);
  header.push_back(kMessageFormatVersion);
  auto key_id = recipient.KeyId();
  header.insert(header.end(), key_id.begin(), key_id.end());
  header.push_back(static_cast<uint8_t>(wrapped->size() >> 8));
  header.push_back(static_cast<uint8_t>(wrapped->size()));
  header.insert(header.end(), wrapped->begin(), wrapped->end());

  // The segment AAD is the header so far; the nonce prefix is appended after.
  auto segments = crypto::SegmentEncryptor::Create(keys->segments, header);
  if (!segments.ok()) return segments.error();
  const auto& prefix = segments->nonce_prefix();
  header.insert(header.end(), prefix.begin(), prefix.end());
  return std::unique_ptr<MessageEncryptor>(
      new MessageEncryptor(std::move(*segments), std::move(keys->meta), std::move(header)));
}

Result<void> MessageEncryptor::Update(std::span<const uint8_t> bytes, const crypto::ByteSink& out) {
  if (finished_) return MakeError(ErrorCode::kFailedPrecondition, "message already finished");
  ONIONMAIL_RETURN_IF_ERROR(segments_.Update(bytes, out));
  size_ += bytes.size();
  return Ok();
}

Result<std::vector<uint8_t>> MessageEncryptor::Finish(uint64_t received_unix_ns,
                                                      const crypto::ByteSink& out) {
  if (finished_) return MakeError(ErrorCode::kFailedPrecondition, "message already finished");
  finished_ = true;
  ONIONMAIL_RETURN_IF_ERROR(segments_.Finish(out));
  std::vector<uint8_t> meta;
  PutU64(meta, size_);
  PutU64(meta, received_unix_ns);
  auto sealed = crypto::AeadSeal(meta_key_, meta, header_);
  if (!sealed.ok()) return sealed.error();
  ONIONMAIL_CHECK(sealed->size() == kMessageMetaSlotBytes);
  return sealed;
}

Result<std::unique_ptr<MessageReader>> MessageReader::Open(int fd, const std::string& path,
                                                           const DataKeyUnwrapper& unwrap) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError("cannot stat", path, errno);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  std::vector<uint8_t> header(kFixedPrefixBytes);
  if (file_size < kFixedPrefixBytes) return Malformed(path, "truncated header");
  if (::lseek(fd, 0, SEEK_SET) != 0) return ErrnoError("cannot seek", path, errno);
  ONIONMAIL_RETURN_IF_ERROR(ReadExact(fd, header, path));
  if (std::memcmp(header.data(), kMagic, 4) != 0) return Malformed(path, "bad magic");
  if (header[4] != kMessageFormatVersion) return Malformed(path, "unsupported version");
  const size_t wrapped_len = (size_t{header[37]} << 8) | header[38];
  if (wrapped_len < kMinWrappedKeyBytes || wrapped_len > kMaxWrappedKeyBytes) {
    return Malformed(path, "bad wrapped key length");
  }
  const size_t header_len = kFixedPrefixBytes + wrapped_len + crypto::kNoncePrefixBytes;
  const uint64_t body_offset = header_len + kMessageMetaSlotBytes;
  if (file_size <= body_offset) return Malformed(path, "truncated header");
  const uint64_t body_bytes = file_size - body_offset;
  if (body_bytes % crypto::kSegmentCiphertextBytes != 0) return Malformed(path, "bad body length");

  header.resize(header_len);
  ONIONMAIL_RETURN_IF_ERROR(
      ReadExact(fd, std::span<uint8_t>(header).subspan(kFixedPrefixBytes), path));
  std::vector<uint8_t> slot(kMessageMetaSlotBytes);
  ONIONMAIL_RETURN_IF_ERROR(ReadExact(fd, slot, path));

  std::span<const uint8_t> all(header);
  auto dek = unwrap(all.subspan(kFixedPrefixBytes, wrapped_len));
  if (!dek.ok()) return dek.error();
  auto keys = DeriveKeys(*dek);
  if (!keys.ok()) return keys.error();
  auto meta = crypto::AeadOpen(keys->meta, slot, header);
  if (!meta.ok() || meta->size() != kMessageMetaPlainBytes) {
    return Malformed(path, "metadata failed authentication");
  }
  auto meta_bytes = meta->Reveal(SecretAccess::Grant());

  auto reader = std::unique_ptr<MessageReader>(new MessageReader());
  reader->fd_ = fd;
  reader->path_ = path;
  std::copy(all.begin() + 5, all.begin() + 37, reader->key_id_.begin());
  reader->meta_.size = GetU64(meta_bytes.subspan(0, 8));
  reader->meta_.received_unix_ns = GetU64(meta_bytes.subspan(8, 8));
  reader->body_offset_ = body_offset;
  reader->body_bytes_ = body_bytes;
  // The encryptor emits ceil(size / segment) segments, at least one.
  const uint64_t segments = body_bytes / crypto::kSegmentCiphertextBytes;
  const uint64_t size = reader->meta_.size;
  const uint64_t expected_segments =
      size == 0 ? 1 : (size - 1) / crypto::kSegmentPlaintextBytes + 1;
  if (segments != expected_segments) {
    return Malformed(path, "size does not match the body");
  }
  auto decryptor = crypto::SegmentDecryptor::Create(
      keys->segments, all.subspan(kFixedPrefixBytes + wrapped_len, crypto::kNoncePrefixBytes),
      std::vector<uint8_t>(all.begin(), all.begin() + kFixedPrefixBytes + wrapped_len));
  if (!decryptor.ok()) return decryptor.error();
  reader->segments_.emplace(std::move(*decryptor));
  return reader;
}

Result<void> MessageReader::ReadBody(const crypto::ByteSink& sink) {
  if (!segments_) return MakeError(ErrorCode::kFailedPrecondition, "message body already read");
  crypto::SegmentDecryptor decryptor = std::move(*segments_);
  segments_.reset();
  if (::lseek(fd_, static_cast<off_t>(body_offset_), SEEK_SET) < 0) {
    return ErrnoError("cannot seek", path_, errno);
  }
  uint64_t delivered = 0;
  const uint64_t expected = meta_.size;
  crypto::ByteSink counted = [&](std::span<const uint8_t> plain) -> Result<void> {
    if (plain.size() > expected - delivered) return Malformed(path_, "body longer than its size");
    delivered += plain.size();
    if (plain.empty()) return Ok();
    return sink(plain);
  };
  std::vector<uint8_t> buffer(crypto::kSegmentCiphertextBytes);
  uint64_t remaining = body_bytes_;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), remaining));
    ONIONMAIL_RETURN_IF_ERROR(ReadExact(fd_, std::span<uint8_t>(buffer.data(), want), path_));
    remaining -= want;
    ONIONMAIL_RETURN_IF_ERROR(
        decryptor.Update(std::span<const uint8_t>(buffer.data(), want), counted));
  }
  auto done = decryptor.Finish();
  if (!done.ok()) return Malformed(path_, "body failed authentication");
  if (delivered != expected) return Malformed(path_, "body shorter than its size");
  return Ok();
}

}  // namespace onionmail::store
