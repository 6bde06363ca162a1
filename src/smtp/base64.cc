#include "smtp/base64.h"

namespace onionmail::smtp {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Result<SecretBytes> DecodeBase64(std::string_view in) {
  if (in.size() % 4 != 0) return MakeError(ErrorCode::kInvalidArgument, "base64 length");
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = (in.size() >= 2 && in[in.size() - 2] == '=') ? 2 : 1;
  SecretBytes out(in.size() / 4 * 3);
  auto bytes = out.Reveal(SecretAccess::Grant());
  size_t n = 0;
  for (size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    size_t data_chars = (last ? 4 - pad : 4);
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      int v = 0;
      if (j < data_chars) {
        v = Base64Value(in[i + j]);
        if (v < 0) return MakeError(ErrorCode::kInvalidArgument, "base64 character");
      }
      group = (group << 6) | static_cast<uint32_t>(v);
    }
    if (last && pad == 2 && (group & 0xFFFF) != 0) {
      return MakeError(ErrorCode::kInvalidArgument, "base64 not canonical");
    }
    if (last && pad == 1 && (group & 0xFF) != 0) {
      return MakeError(ErrorCode::kInvalidArgument, "base64 not canonical");
    }
    bytes[n++] = static_cast<uint8_t>(group >> 16);
    if (data_chars > 2) bytes[n++] = static_cast<uint8_t>(group >> 8);
    if (data_chars > 3) bytes[n++] = static_cast<uint8_t>(group);
    group = 0;
  }
  out.Truncate(n);
  return out;
}

std::string EncodeBase64(std::span<const uint8_t> in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t g = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | uint32_t{in[i + 2]};
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(g >> shift) & 0x3f];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t g = uint32_t{in[i]} << 16;
    if (rest == 2) g |= uint32_t{in[i + 1]} << 8;
    out += kAlphabet[(g >> 18) & 0x3f];
    out += kAlphabet[(g >> 12) & 0x3f];
    out += rest == 2 ? kAlphabet[(g >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

}  // namespace onionmail::smtp
