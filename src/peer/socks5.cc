// SOCKS5 CONNECT (see socks5.h).
#include "peer/socks5.h"

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace onionmail::peer {

namespace {
Error ProxyError(std::string message) {
  return MakeError(ErrorCode::kUnavailable, "SOCKS5 proxy: " + message);
}
Error Annotated(const Error& e) { return AnnotateError("SOCKS5 proxy", e); }
}  // namespace

std::string_view Socks5ReplyText(uint8_t code) {
  switch (code) {
    case 0x00:
      return "succeeded";
    case 0x01:
      return "general SOCKS server failure";
    case 0x02:
      return "connection not allowed by ruleset";
    case 0x03:
      return "network unreachable";
    case 0x04:
      return "host unreachable";
    case 0x05:
      return "connection refused";
    case 0x06:
      return "TTL expired";
    case 0x07:
      return "command not supported";
    case 0x08:
      return "address type not supported";
    // Tor's extended errors for onion services (proposal 304).
    case 0xf0:
      return "onion service descriptor not found";
    case 0xf1:
      return "onion service descriptor invalid";
    case 0xf2:
      return "onion service introduction failed";
    case 0xf3:
      return "onion service rendezvous failed";
    case 0xf4:
      return "onion service needs client authorization";
    case 0xf5:
      return "onion service client authorization wrong";
    case 0xf6:
      return "invalid onion address";
    case 0xf7:
      return "onion service introduction timed out";
    default:
      return "unassigned code";
  }
}

Result<void> Socks5Connect(int fd, std::string_view host, uint16_t port, Deadline deadline) {
  // Build the CONNECT request first, so a bad host fails before any I/O.
  std::vector<uint8_t> request = {kSocks5Version, kSocks5Connect, 0x00};
  std::string h(host);
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    request.push_back(kSocks5AtypIpv4);
    const auto* b = reinterpret_cast<const uint8_t*>(&v4);
    request.insert(request.end(), b, b + sizeof(v4));
  } else if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    request.push_back(kSocks5AtypIpv6);
    const auto* b = reinterpret_cast<const uint8_t*>(&v6);
    request.insert(request.end(), b, b + sizeof(v6));
  } else {
    if (host.empty() || host.size() > 255) {
      return MakeError(ErrorCode::kInvalidArgument, "SOCKS5: host name must be 1..255 bytes");
    }
    for (char c : host) {
      if (c == '\0' || c == '\r' || c == '\n' || c == ' ') {
        return MakeError(ErrorCode::kInvalidArgument, "SOCKS5: bad character in host name");
      }
    }
    request.push_back(kSocks5AtypDomain);
    request.push_back(static_cast<uint8_t>(host.size()));
    request.insert(request.end(), host.begin(), host.end());
  }
  request.push_back(static_cast<uint8_t>(port >> 8));
  request.push_back(static_cast<uint8_t>(port & 0xff));

  // Method negotiation: we offer "no authentication" only.
  const std::array<uint8_t, 3> hello = {kSocks5Version, 1, kSocks5NoAuth};
  if (auto r = SendAll(fd, hello, deadline); !r.ok()) return Annotated(r.error());
  std::array<uint8_t, 2> method{};
  if (auto r = RecvExact(fd, method, deadline); !r.ok()) return Annotated(r.error());
  if (method[0] != kSocks5Version) return ProxyError("not a SOCKS5 proxy (bad version)");
  if (method[1] == kSocks5NoAcceptableMethod) {
    return ProxyError("it requires authentication (only no-auth is supported)");
  }
  if (method[1] != kSocks5NoAuth) return ProxyError("it chose a method that was not offered");

  if (auto r = SendAll(fd, request, deadline); !r.ok()) return Annotated(r.error());
  // Reply: VER REP RSV ATYP BND.ADDR BND.PORT
  std::array<uint8_t, 4> head{};
  if (auto r = RecvExact(fd, head, deadline); !r.ok()) return Annotated(r.error());
  if (head[0] != kSocks5Version) return ProxyError("malformed CONNECT reply (bad version)");
  if (head[1] != 0x00) {
    char code[8];
    std::snprintf(code, sizeof(code), "0x%02x", head[1]);
    return ProxyError("CONNECT refused: " + std::string(Socks5ReplyText(head[1])) + " (" + code +
                      ")");
  }
  if (head[2] != 0x00) return ProxyError("malformed CONNECT reply (reserved byte)");
  size_t addr_len = 0;
  switch (head[3]) {
    case kSocks5AtypIpv4:
      addr_len = 4;
      break;
    case kSocks5AtypIpv6:
      addr_len = 16;
      break;
    case kSocks5AtypDomain: {
      std::array<uint8_t, 1> n{};
      if (auto r = RecvExact(fd, n, deadline); !r.ok()) return Annotated(r.error());
      addr_len = n[0];
      break;
    }
    default:
      return ProxyError("malformed CONNECT reply (address type)");
  }
  std::vector<uint8_t> bound(addr_len + 2);  // BND.ADDR + BND.PORT, unused
  if (auto r = RecvExact(fd, bound, deadline); !r.ok()) return Annotated(r.error());
  return Ok();
}

}  // namespace onionmail::peer
