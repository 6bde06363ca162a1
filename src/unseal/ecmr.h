// Blinded key recovery (McCallum-Relyea exchange, as in Tang) on P-256.
//
// Purpose: the key K_i that encrypts master-key share i can be rebuilt only with
// the help of peer i, and peer i never learns K_i (docs/PROTOCOL.md, "Master-key
// unseal: maths and encodings").
//
//   peer:       secret scalar s, public S = s*G
//   enrolment:  server picks c, keeps C = c*G, K = KDF(c*S), forgets c
//   boot:       server picks fresh e, sends X = C + e*G
//   peer:       Y = s*X
//   server:     Z = Y - e*S (= s*C = c*S), K = KDF(Z)
//   KDF(Z) = HKDF-SHA256(ikm = x(Z) as 32 bytes big-endian,
//                        salt = "onionmail-unseal-v1", info = "K" || peer_id, L = 32)
//
// Contract:
//  - Points cross the wire as SEC1 uncompressed encodings: 0x04 || x || y, 65 bytes
//    (x, y 32 bytes big-endian). Every received point is validated: exact length and
//    prefix, coordinates < p, on the curve, not the point at infinity (which has no
//    65-byte encoding). P-256 has cofactor 1, so no subgroup check is needed.
//  - Scalars (s, c, e) are 32 bytes big-endian in SecretBytes and must lie in [1, n-1].
//  - peer_id is an opaque byte string of 1..255 bytes (e.g. the peer's onion address).
//  - Failures are Result errors (kInvalidArgument for bad input, kInternal for OpenSSL
//    failures); nothing secret is put into an error message. Secret BIGNUMs are
//    allocated on the secure heap and cleared on free.
//  - The *WithScalar variants are deterministic (for test vectors); production code
//    uses the variants that draw scalars from OpenSSL's DRBG.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::unseal {

inline constexpr size_t kPointSize = 65;
inline constexpr size_t kScalarSize = 32;
inline constexpr size_t kUnsealKeySize = 32;
inline constexpr size_t kMaxPeerIdSize = 255;
inline constexpr std::string_view kUnsealSalt = "onionmail-unseal-v1";

using Point = std::array<uint8_t, kPointSize>;

// Parses and validates a received point (length 65, prefix 0x04, on the curve).
[[nodiscard]] Result<Point> ParsePoint(std::span<const uint8_t> wire);

struct PeerKey {
  SecretBytes s;  // kScalarSize bytes; the only serialisation of the secret
  Point S;        // public
};

// Peer side: a fresh key pair, or the pair for a given scalar s.
[[nodiscard]] Result<PeerKey> GeneratePeerKey();
[[nodiscard]] Result<PeerKey> PeerKeyFromScalar(const SecretBytes& s);

struct Enrolment {
  Point C;        // stored by the server (public)
  SecretBytes K;  // kUnsealKeySize bytes; encrypts the share, then forgotten
};

// Server side at enrolment; c is random and wiped before returning.
[[nodiscard]] Result<Enrolment> ServerEnroll(const Point& S, std::string_view peer_id);
[[nodiscard]] Result<Enrolment> ServerEnrollWithScalar(const Point& S, std::string_view peer_id,
                                                       const SecretBytes& c);

struct Blinded {
  Point X;        // sent to the peer
  SecretBytes e;  // kScalarSize bytes; kept until the answer arrives
};

// Server side at boot: X = C + e*G for a fresh e (S is validated so that the
// later unblinding cannot fail on a bad stored S). ServerBlind draws another e in
// the (probability 1/n) case X = infinity; the WithScalar variant refuses it.
[[nodiscard]] Result<Blinded> ServerBlind(const Point& C, const Point& S);
[[nodiscard]] Result<Blinded> ServerBlindWithScalar(const Point& C, const Point& S,
                                                    const SecretBytes& e);

// Peer side: Y = s*X.
[[nodiscard]] Result<Point> PeerAnswer(const SecretBytes& s, const Point& X);

// Server side: K = KDF(Y - e*S).
[[nodiscard]] Result<SecretBytes> ServerUnblind(const Point& Y, const SecretBytes& e,
                                                const Point& S, std::string_view peer_id);

}  // namespace onionmail::unseal
