// TKIM: how an onion mail server proves to the server it relays a message to
// which onion server it is (docs/PROTOCOL.md, "TKIM"). The proof is a signed
// request in the TORM format (unseal/torm_wire.h) with verb 0x04 TKIM, signed
// by the relaying server's RSA key over the channel binding of the TLS
// connection that carries it; its body names both servers and the time:
//
//   tkim body = v8 sender_domain || v8 receiver_domain || u64 unix_time
//
// The signature alone proves only "the holder of this key, on this TLS
// connection, now". The receiver ties the key to the sender's onion by asking
// that onion for its key through Tor (`TKIM KEY`) and comparing
// SHA-256(spki_der) with the partner_id CheckTkimRequest returns. Pure
// encoding and checks: no I/O, no clock (the caller passes `now`).
//
// Contract:
//  - A domain is 1..255 bytes of [a-z0-9.-] (lower case); EncodeTkimBody and
//    ParseTkimBody refuse anything else, and the parser refuses short input
//    and trailing bytes (kInvalidArgument).
//  - CheckTkimRequest(wire, cb, own_domain, now) parses the signed request,
//    requires verb TKIM (kInvalidArgument otherwise), checks the key and the
//    signature over `cb` with VerifyRequest (kInvalidArgument for a bad key,
//    kUnauthenticated for a signature that does not verify), parses the body,
//    and requires receiver_domain == own_domain and sender_domain !=
//    own_domain (kPermissionDenied) and |now - unix_time| <=
//    kTkimMaxSkewSeconds (kDeadlineExceeded). On success it returns the
//    sender's domain and partner_id = SHA-256(spki_der).
//  - Nothing here is secret: errors may say which field is wrong.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "unseal/torm_wire.h"

namespace onionmail::unseal {

// How far the signer's clock may be from the receiver's (either way). Tor
// itself needs clocks within about an hour; a proof is good for one TLS
// connection anyway, the window only limits proofs made in advance.
inline constexpr uint64_t kTkimMaxSkewSeconds = 600;
inline constexpr size_t kMaxTkimDomainSize = 255;

struct TkimBody {
  std::string sender_domain;    // the relaying server's onion ("aaaa....onion")
  std::string receiver_domain;  // the onion it connected to
  uint64_t unix_time = 0;       // when the signer made the proof
  bool operator==(const TkimBody&) const = default;
};

[[nodiscard]] Result<std::vector<uint8_t>> EncodeTkimBody(const TkimBody& body);
[[nodiscard]] Result<TkimBody> ParseTkimBody(std::span<const uint8_t> wire);

struct TkimProof {
  std::string sender_domain;
  PartnerId key_id{};  // SHA-256 of the signer's DER SubjectPublicKeyInfo
};

[[nodiscard]] Result<TkimProof> CheckTkimRequest(std::span<const uint8_t> wire,
                                                 ChannelBindingSpan cb, std::string_view own_domain,
                                                 uint64_t now);

}  // namespace onionmail::unseal
