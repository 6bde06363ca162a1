// Helpers for the codec tests of one message type. RoundTrip<T>(): encodes
// `m`, decodes it, checks that the result is a T and that encoding it again
// gives the same bytes, and returns it (a default T after a failed
// expectation). Frame(): a frame of `type` around a hand-made payload (length
// and version filled in), for tests of what the decoder refuses;
// FramePayload(): a frame's bytes after its 8-byte header.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

#include "ipc/codec.h"
#include "ipc/messages.h"

namespace onionmail::ipc {

template <typename T>
T RoundTrip(const T& m) {
  auto bytes = Encode(m);
  EXPECT_TRUE(bytes.ok()) << (bytes.ok() ? "" : bytes.error().message);
  if (!bytes.ok()) return T{};
  auto back = Decode(*bytes);
  EXPECT_TRUE(back.ok()) << (back.ok() ? "" : back.error().message);
  if (!back.ok() || !std::holds_alternative<T>(*back)) return T{};
  EXPECT_EQ(Encode(*back).value(), *bytes);
  return std::get<T>(std::move(*back));
}

inline std::vector<uint8_t> Frame(MsgType type, const std::vector<uint8_t>& payload) {
  const uint32_t len = static_cast<uint32_t>(payload.size() + 4);
  const auto t = static_cast<uint16_t>(type);
  std::vector<uint8_t> f(8 + payload.size());
  f[0] = static_cast<uint8_t>(len >> 24);
  f[1] = static_cast<uint8_t>(len >> 16);
  f[2] = static_cast<uint8_t>(len >> 8);
  f[3] = static_cast<uint8_t>(len);
  f[4] = static_cast<uint8_t>(t >> 8);
  f[5] = static_cast<uint8_t>(t);
  f[6] = static_cast<uint8_t>(kProtocolVersion >> 8);
  f[7] = static_cast<uint8_t>(kProtocolVersion);
  std::copy(payload.begin(), payload.end(), f.begin() + 8);
  return f;
}

inline std::vector<uint8_t> FramePayload(const std::vector<uint8_t>& frame) {
  return {frame.begin() + 8, frame.end()};
}

}  // namespace onionmail::ipc
