// RoundTrip<T>() for the codec tests of one message type: encodes `m`,
// decodes it, checks that the result is a T and that encoding it again gives
// the same bytes, and returns it (a default T after a failed expectation).
#pragma once

#include <gtest/gtest.h>

#include <utility>
#include <variant>

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

}  // namespace onionmail::ipc
