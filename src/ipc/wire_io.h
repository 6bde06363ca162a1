// ipc/wire_io.h: the field readers and writers behind ipc/codec.cc (and
// ipc/codec_peer.cc, ipc/codec_relay.cc). Internal to the ipc library:
// nothing outside src/ipc includes it. Layout rules are those of
// ipc/codec.h: integers big-endian, variable fields as u16 length || bytes,
// bounds checked on both sides.
//
// Contract: Writer records the first bound violation (error()) and keeps
// counting size so a measuring pass and a writing pass agree; with a null
// buffer it only measures. Reader methods return false on short input or a
// bound violation and never read past the end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "ipc/messages.h"

namespace onionmail::ipc::internal {

inline bool IsName(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Two passes over the same code: with out == nullptr it only measures and
// validates; then it writes into a buffer of exactly the measured size.
class Writer {
 public:
  explicit Writer(uint8_t* out) : out_(out) {}

  void U16(uint16_t v) {
    uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    Raw(b, 2);
  }
  void U32(uint32_t v) {
    uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                    static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    Raw(b, 4);
  }
  // u16 element count, checked against [min, max].
  void Count(size_t n, size_t min, size_t max, const char* field) {
    if (n < min || n > max) return Fail(field);
    U16(static_cast<uint16_t>(n));
  }
  void U64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
    Raw(b, 8);
  }
  void Raw(const void* p, size_t n) {
    if (out_ != nullptr && n != 0) std::memcpy(out_ + size_, p, n);
    size_ += n;
  }
  void Bytes(std::span<const uint8_t> b, size_t min, size_t max, const char* field) {
    if (b.size() < min || b.size() > max) return Fail(field);
    U16(static_cast<uint16_t>(b.size()));
    Raw(b.data(), b.size());
  }
  void Text(std::string_view s, size_t min, size_t max, const char* field) {
    Bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, min, max, field);
  }
  void Name(std::string_view s, size_t min, size_t max, const char* field) {
    if (!IsName(s)) return Fail(field);
    Text(s, min, max, field);
  }
  void Secret(const SecretBytes& s, size_t max, const char* field) {
    Bytes(s.Reveal(SecretAccess::Grant()), 0, max, field);
  }
  void Fail(const char* field) {
    if (error_.empty()) error_ = std::string("ipc encode: field out of bounds: ") + field;
  }

  size_t size() const { return size_; }
  const std::string& error() const { return error_; }

 private:
  uint8_t* out_;
  size_t size_ = 0;
  std::string error_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  bool U16(uint16_t& v) {
    if (!Need(2)) return false;
    v = static_cast<uint16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t& v) {
    if (!Need(4)) return false;
    v = (uint32_t{in_[pos_]} << 24) | (uint32_t{in_[pos_ + 1]} << 16) |
        (uint32_t{in_[pos_ + 2]} << 8) | uint32_t{in_[pos_ + 3]};
    pos_ += 4;
    return true;
  }
  bool Count(size_t& n, size_t min, size_t max) {
    uint16_t v = 0;
    if (!U16(v) || v < min || v > max) return false;
    n = v;
    return true;
  }
  bool U64(uint64_t& v) {
    if (!Need(8)) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | in_[pos_ + i];
    pos_ += 8;
    return true;
  }
  // A u16-length-prefixed field with min <= length <= max.
  bool Field(std::span<const uint8_t>& out, size_t min, size_t max) {
    uint16_t n = 0;
    if (!U16(n) || n < min || n > max || !Need(n)) return false;
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool Bytes(std::vector<uint8_t>& out, size_t min, size_t max) {
    std::span<const uint8_t> f;
    if (!Field(f, min, max)) return false;
    out.assign(f.begin(), f.end());
    return true;
  }
  bool Text(std::string& out, size_t min, size_t max) {
    std::span<const uint8_t> f;
    if (!Field(f, min, max)) return false;
    out.assign(reinterpret_cast<const char*>(f.data()), f.size());
    return true;
  }
  bool Name(std::string& out, size_t min, size_t max) { return Text(out, min, max) && IsName(out); }
  bool Secret(SecretBytes& out, size_t max) {
    std::span<const uint8_t> f;
    if (!Field(f, 0, max)) return false;
    out = SecretBytes(SecretAccess::Grant(), f);
    return true;
  }
  template <size_t N>
  bool Fixed(std::array<uint8_t, N>& out) {
    if (!Need(N)) return false;
    std::memcpy(out.data(), in_.data() + pos_, N);
    pos_ += N;
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  bool Need(size_t n) const { return in_.size() - pos_ >= n; }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

inline bool ReadStatus(Reader& r, Status& s) {
  uint16_t v = 0;
  if (!r.U16(v) || v > static_cast<uint16_t>(Status::kRefused)) return false;
  s = static_cast<Status>(v);
  return true;
}

inline void PutStatus(Writer& w, Status s) {
  if (static_cast<uint16_t>(s) > static_cast<uint16_t>(Status::kRefused)) w.Fail("status");
  w.U16(static_cast<uint16_t>(s));
}

// A boolean is a u16, 0 or 1; anything else is malformed.
inline void PutBool(Writer& w, bool b) { w.U16(b ? 1 : 0); }

inline bool GetBool(Reader& r, bool& b) {
  uint16_t v = 0;
  if (!r.U16(v) || v > 1) return false;
  b = v == 1;
  return true;
}

}  // namespace onionmail::ipc::internal
