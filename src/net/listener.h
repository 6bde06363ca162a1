// TCP listening sockets: parse "host:port" and bind/listen.
//
// Contract: ParseHostPort accepts "1.2.3.4:25", "[::1]:25" and "localhost:25"
// (resolved numerically only: "localhost" means 127.0.0.1); port 0..65535.
// Listen() returns the listening fd (CLOEXEC, SO_REUSEADDR) or an error that
// names the address.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace onionmail::net {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

Result<HostPort> ParseHostPort(std::string_view text);
Result<int> Listen(const HostPort& address, int backlog = 128);
// The port a listening socket is bound to (useful with port 0).
Result<uint16_t> BoundPort(int fd);

}  // namespace onionmail::net
