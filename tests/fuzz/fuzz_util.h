// Helpers shared by the libFuzzer targets in tests/fuzz.
//
// Contract: SplitAtTls() models a well-behaved client on a FakeConnection:
// everything up to and including the first `tls_line` (e.g. "STARTTLS\r\n")
// is sent in plaintext, the rest only after the handshake (FeedAfterTls), so a
// single fuzz input can drive a session through STARTTLS into the
// authenticated states. Without that line, everything is plaintext.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/net/fake_connection.h"

namespace onionmail::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

inline void SplitAtTls(std::string_view input, std::string_view tls_line,
                       net::FakeConnection& conn) {
  size_t at = input.find(tls_line);
  if (at == std::string_view::npos) {
    conn.Feed(input);
    return;
  }
  size_t cut = at + tls_line.size();
  conn.Feed(input.substr(0, cut));
  conn.FeedAfterTls(input.substr(cut));
}

}  // namespace onionmail::fuzz
