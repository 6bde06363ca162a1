// Assertions shared by the TORM wire format tests (torm_wire_test.cc,
// torm_wire_request_test.cc, torm_wire_signature_test.cc): an error is
// kInvalidArgument, and a parser refuses every truncation of a message and the
// message plus one trailing byte while accepting the message itself. Failures
// are reported through gtest; nothing here aborts the process.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/result.h"

namespace onionmail::unseal {

inline void ExpectInvalid(const Error& e) {
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << e.message;
}

// Every strict prefix of `wire` is refused (kInvalidArgument), and so is `wire`
// plus one trailing byte ("torm: trailing bytes"); `wire` itself parses.
inline void ExpectEveryTruncationAndTrailingByteRefused(
    const std::vector<uint8_t>& wire,
    const std::function<Result<void>(std::span<const uint8_t>)>& parse) {
  for (size_t len = 0; len < wire.size(); ++len) {
    auto r = parse(std::span<const uint8_t>(wire.data(), len));
    ASSERT_FALSE(r.ok()) << "prefix of length " << len << " accepted";
    ExpectInvalid(r.error());
  }
  std::vector<uint8_t> longer = wire;
  longer.push_back(0);
  auto r = parse(longer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "torm: trailing bytes");
  ASSERT_TRUE(parse(wire).ok());
}

// `parse` with its parsed value dropped, for the check above.
template <typename F>
std::function<Result<void>(std::span<const uint8_t>)> Discard(F parse) {
  return [parse](std::span<const uint8_t> w) -> Result<void> {
    auto r = parse(w);
    if (!r.ok()) return r.error();
    return Ok();
  };
}

}  // namespace onionmail::unseal
