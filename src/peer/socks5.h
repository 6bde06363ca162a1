// SOCKS5 client (RFC 1928), as used to reach peers through Tor: the "no
// authentication" method only, one CONNECT per connection.
//
// Contract:
//  - Socks5Connect() speaks on `fd`, a socket already connected to the proxy,
//    and returns once the proxy reports the tunnel open; from then on `fd`
//    carries the target's byte stream (nothing past the reply is consumed).
//  - A numeric IPv4/IPv6 host goes as ATYP 1/4; any other host goes as
//    ATYP 3 (domain name, 1..255 bytes) and is resolved by the proxy only:
//    there is no local DNS. A host name with a NUL, CR, LF or space is
//    kInvalidArgument.
//  - A proxy that is not SOCKS5, wants authentication, or refuses the CONNECT
//    gives kUnavailable with the reason (RFC 1928 reply codes and Tor's
//    onion-service codes 0xF0..0xF7, Tor proposal 304); a timeout gives
//    kDeadlineExceeded. Messages never contain the host name.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "peer/socket_io.h"

namespace onionmail::peer {

inline constexpr uint8_t kSocks5Version = 5;
inline constexpr uint8_t kSocks5NoAuth = 0;
inline constexpr uint8_t kSocks5NoAcceptableMethod = 0xff;
inline constexpr uint8_t kSocks5Connect = 1;
inline constexpr uint8_t kSocks5AtypIpv4 = 1;
inline constexpr uint8_t kSocks5AtypDomain = 3;
inline constexpr uint8_t kSocks5AtypIpv6 = 4;

// Human-readable text of a SOCKS5 reply code ("succeeded", "connection
// refused", "onion service descriptor not found", ... "unassigned code").
std::string_view Socks5ReplyText(uint8_t code);

[[nodiscard]] Result<void> Socks5Connect(int fd, std::string_view host, uint16_t port,
                                         Deadline deadline);

}  // namespace onionmail::peer
