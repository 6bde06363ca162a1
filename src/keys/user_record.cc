// UserRecord encoding (see user_record.h, docs/store.md).
#include "keys/user_record.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "crypto/kdf.h"

namespace onionmail::keys {

namespace {

constexpr uint8_t kMagic[4] = {'O', 'M', 'U', 'R'};
constexpr std::string_view kPrivateKeyAadPrefix = "OMUR-privkey v1";
constexpr uint32_t kMaxTCost = 1024;
constexpr uint32_t kMaxMCostKib = 4u * 1024 * 1024;  // 4 GiB
constexpr uint32_t kMaxParallelism = 255;

class Writer {
 public:
  void Bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<uint8_t>(v >> shift));
  }
  void Params(const crypto::Argon2Params& p) {
    U32(p.t_cost);
    U32(p.m_cost_kib);
    U32(p.parallelism);
  }
  void Field(std::span<const uint8_t> b) {
    ONIONMAIL_CHECK(b.size() <= 0xffff);
    U16(static_cast<uint16_t>(b.size()));
    Bytes(b);
  }
  std::vector<uint8_t>& out() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

// Bounds-checked reader; every accessor fails once the input is exhausted.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  std::optional<std::span<const uint8_t>> Bytes(size_t n) {
    if (n > in_.size()) return std::nullopt;
    auto b = in_.first(n);
    in_ = in_.subspan(n);
    return b;
  }
  std::optional<uint32_t> UInt(size_t n) {
    auto b = Bytes(n);
    if (!b) return std::nullopt;
    uint32_t v = 0;
    for (uint8_t byte : *b) v = (v << 8) | byte;
    return v;
  }
  // A u16-length-prefixed field whose length is within [min_len, max_len].
  std::optional<std::span<const uint8_t>> Field(size_t min_len, size_t max_len) {
    auto len = UInt(2);
    if (!len || *len < min_len || *len > max_len) return std::nullopt;
    return Bytes(*len);
  }
  std::optional<crypto::Argon2Params> Params() {
    auto t = UInt(4), m = UInt(4), p = UInt(4);
    if (!t || !m || !p) return std::nullopt;
    if (*t < 1 || *t > kMaxTCost || *m < 8 || *m > kMaxMCostKib || *p < 1 || *p > kMaxParallelism ||
        *m < 8 * *p) {
      return std::nullopt;
    }
    return crypto::Argon2Params{*t, *m, *p};
  }
  bool AtEnd() const { return in_.empty(); }

 private:
  std::span<const uint8_t> in_;
};

template <size_t N>
bool CopyFixed(const std::optional<std::span<const uint8_t>>& in, std::array<uint8_t, N>& out) {
  if (!in || in->size() != N) return false;
  std::copy(in->begin(), in->end(), out.begin());
  return true;
}

Error Malformed(const char* what) {
  return MakeError(ErrorCode::kDataLoss, std::string("malformed user record: ") + what);
}

}  // namespace

std::vector<uint8_t> PrivateKeyAad(const std::array<uint8_t, 32>& key_id) {
  std::vector<uint8_t> aad(kPrivateKeyAadPrefix.size() + key_id.size());
  std::memcpy(aad.data(), kPrivateKeyAadPrefix.data(), kPrivateKeyAadPrefix.size());
  std::memcpy(aad.data() + kPrivateKeyAadPrefix.size(), key_id.data(), key_id.size());
  return aad;
}

SecretBytes EncodeUserRecord(const UserRecord& r) {
  Writer w;
  w.Bytes(kMagic);
  ONIONMAIL_CHECK(r.version == kUserRecordVersion || r.version == kUserRecordVersionSaltOnlyWrap);
  w.U8(r.version);
  w.Params(r.smtp_params);
  w.Field(r.smtp_salt);
  w.Field(r.smtp_hash);
  w.Params(r.pop3_params);
  w.Field(r.pop3_salt);
  w.Field(r.public_key);
  w.Field(r.key_id);
  w.Field(r.encrypted_private_key);
  SecretBytes out(SecretAccess::Grant(), std::span<const uint8_t>(w.out()));
  WipeMemory(w.out().data(), w.out().size());
  return out;
}

Result<UserRecord> DecodeUserRecord(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxUserRecordBytes) return Malformed("too large");
  Reader in(bytes);
  auto magic = in.Bytes(4);
  if (!magic || std::memcmp(magic->data(), kMagic, 4) != 0) return Malformed("bad magic");
  auto version = in.UInt(1);
  if (!version || (*version != kUserRecordVersion && *version != kUserRecordVersionSaltOnlyWrap)) {
    return Malformed("unsupported version");
  }
  UserRecord r;
  r.version = static_cast<uint8_t>(*version);
  auto smtp_params = in.Params();
  if (!smtp_params) return Malformed("bad smtp parameters");
  r.smtp_params = *smtp_params;
  if (!CopyFixed(in.Field(r.smtp_salt.size(), r.smtp_salt.size()), r.smtp_salt)) {
    return Malformed("bad smtp salt");
  }
  if (!CopyFixed(in.Field(r.smtp_hash.size(), r.smtp_hash.size()), r.smtp_hash)) {
    return Malformed("bad smtp verifier");
  }
  auto pop3_params = in.Params();
  if (!pop3_params) return Malformed("bad pop3 parameters");
  r.pop3_params = *pop3_params;
  if (!CopyFixed(in.Field(r.pop3_salt.size(), r.pop3_salt.size()), r.pop3_salt)) {
    return Malformed("bad pop3 salt");
  }
  auto public_key = in.Field(1, kMaxPublicKeyBytes);
  if (!public_key) return Malformed("bad public key");
  r.public_key.assign(public_key->begin(), public_key->end());
  if (!CopyFixed(in.Field(r.key_id.size(), r.key_id.size()), r.key_id)) {
    return Malformed("bad key id");
  }
  auto encrypted = in.Field(1, kMaxEncryptedPrivateKeyBytes);
  if (!encrypted) return Malformed("bad encrypted private key");
  r.encrypted_private_key.assign(encrypted->begin(), encrypted->end());
  if (!in.AtEnd()) return Malformed("trailing bytes");
  if (crypto::Sha256(r.public_key) != r.key_id) return Malformed("key id mismatch");
  return r;
}

}  // namespace onionmail::keys
