// TORM wire formats: the signed requests a server sends to its peers (PUSH, DERK,
// STAT), their bodies and replies (docs/PROTOCOL.md, "TORM requests"). Pure
// encoding and signature checking: no I/O, no state.
//
//   request        = 0x01 || verb (u8) || v32 body || v16 spki_der || v16 signature
//   signing_input  = "onionmail-torm-v1" || 0x00 || verb || cb (32 bytes) || body
//   signature      = RSA-PSS(SHA-256, MGF1-SHA-256, salt 32) by the server's RSA key
//   partner_id     = SHA-256(spki_der)
//
// Contract:
//  - Integers are big-endian; "v8/v16/v32 x" is a 1/2/4-byte length then x.
//  - Every Parse* refuses short input, trailing bytes, a wrong version, an unknown
//    verb, an invalid point (ParsePoint of ecmr.h), a peer_id or address outside
//    1..255 bytes, more than 32 forwarding peers, t/n outside 2 <= t <= n <= 32, and
//    reserved flag bits, always with kInvalidArgument.
//  - Every Encode* that can fail checks the same rules: what it encodes parses back
//    to an equal value, and it never emits what a parser would refuse.
//  - VerifyRequest accepts only a canonical DER SubjectPublicKeyInfo of a plain RSA
//    key (rsaEncryption) of 2048..16384 bits. A bad key is kInvalidArgument, a
//    signature that does not verify is kUnauthenticated.
//  - The channel binding `cb` is the RFC 9266 tls-exporter value (32 bytes) of the
//    TLS connection carrying the request; signing it ties a request to one
//    connection, so a request cannot be replayed on another.
//  - Nothing here is secret: errors may say which field is wrong.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "unseal/ecmr.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::unseal {

inline constexpr uint8_t kTormVersion = 1;
inline constexpr std::string_view kTormSigningLabel = "onionmail-torm-v1";
inline constexpr size_t kChannelBindingSize = 32;
inline constexpr size_t kPartnerIdSize = 32;
inline constexpr size_t kKctlPublicKeySize = 32;  // Ed25519
inline constexpr size_t kTlsPinSize = 32;         // SHA-256 of the peer's TLS SPKI
inline constexpr size_t kMaxForwardPeers = 32;
inline constexpr size_t kMaxShares = 32;  // n of the t-of-n sharing
inline constexpr size_t kMaxAddressSize = 255;
inline constexpr size_t kMaxRequestBodySize = 65536;
inline constexpr int kMinRequestRsaBits = 2048;
inline constexpr int kMaxRequestRsaBits = 16384;
inline constexpr size_t kPssSaltSize = 32;

using PartnerId = std::array<uint8_t, kPartnerIdSize>;
using KctlPublicKey = std::array<uint8_t, kKctlPublicKeySize>;
using TlsPin = std::array<uint8_t, kTlsPinSize>;
using ChannelBindingSpan = std::span<const uint8_t, kChannelBindingSize>;

// kTkim is not a TORM request: it signs the TKIM proof of a relaying server
// (unseal/tkim_wire.h), in the same format so that it is signed and checked
// by the same code; the verb byte keeps the two apart.
enum class Verb : uint8_t { kPush = 1, kDerk = 2, kStat = 3, kTkim = 4 };

// "PUSH", "DERK", "STAT": the verb as written in the SMTP command `TORM <verb> ...`
// ("TKIM" for kTkim). ParseVerbName knows the three TORM verbs only.
std::string_view VerbName(Verb verb);
[[nodiscard]] Result<Verb> ParseVerbName(std::string_view name);  // exact, upper case

// ------------------------------------------------------------------- bodies

// One of the server's other peers, to which the peer forwards KCTL certificates.
struct ForwardPeer {
  std::string address;  // 1..255 bytes, e.g. "xxxx.onion:25"
  TlsPin tls_pin{};     // SHA-256 of the DER SubjectPublicKeyInfo of its TLS key
  bool operator==(const ForwardPeer&) const = default;
};

// PUSH body = u8 t || u8 n || v8 peer_id || kctl_pub (32) || u32 credits_requested
//             || u8 count || count * (v8 address || tls_pin (32))
struct PushBody {
  uint8_t t = 0;
  uint8_t n = 0;
  std::string peer_id;  // 1..255 bytes: the peer's address as the server enrolled it
  KctlPublicKey kctl_pub{};
  uint32_t credits_requested = 0;
  std::vector<ForwardPeer> forward_peers;  // at most 32
  bool operator==(const PushBody&) const = default;
};

// PUSH reply = S_i (65-byte point) || u32 credits_granted
struct PushReply {
  Point S{};
  uint32_t credits_granted = 0;
  bool operator==(const PushReply&) const = default;
};

// DERK body = X (65-byte point)
struct DerkBody {
  Point X{};
  bool operator==(const DerkBody&) const = default;
};

// DERK reply = Y (65-byte point) || u32 credits_left || u64 answered_total
struct DerkReply {
  Point Y{};
  uint32_t credits_left = 0;
  uint64_t answered_total = 0;
  bool operator==(const DerkReply&) const = default;
};

// STAT body is empty.
// STAT reply = u8 flags (bit 0: disabled; bits 1..7 zero) || u32 credits_left
//              || u64 answered_total || u64 last_answer_unix (0: never answered)
struct StatReply {
  bool disabled = false;
  uint32_t credits_left = 0;
  uint64_t answered_total = 0;
  uint64_t last_answer_unix = 0;
  bool operator==(const StatReply&) const = default;
};

[[nodiscard]] Result<std::vector<uint8_t>> EncodePushBody(const PushBody& body);
[[nodiscard]] Result<PushBody> ParsePushBody(std::span<const uint8_t> wire);
[[nodiscard]] Result<std::vector<uint8_t>> EncodePushReply(const PushReply& reply);
[[nodiscard]] Result<PushReply> ParsePushReply(std::span<const uint8_t> wire);
[[nodiscard]] Result<std::vector<uint8_t>> EncodeDerkBody(const DerkBody& body);
[[nodiscard]] Result<DerkBody> ParseDerkBody(std::span<const uint8_t> wire);
[[nodiscard]] Result<std::vector<uint8_t>> EncodeDerkReply(const DerkReply& reply);
[[nodiscard]] Result<DerkReply> ParseDerkReply(std::span<const uint8_t> wire);
std::vector<uint8_t> EncodeStatBody();  // empty
[[nodiscard]] Result<void> ParseStatBody(std::span<const uint8_t> wire);
std::vector<uint8_t> EncodeStatReply(const StatReply& reply);
[[nodiscard]] Result<StatReply> ParseStatReply(std::span<const uint8_t> wire);

// ---------------------------------------------------------- signed requests

struct SignedRequest {
  Verb verb = Verb::kStat;
  std::vector<uint8_t> body;       // at most kMaxRequestBodySize bytes
  std::vector<uint8_t> spki_der;   // 1..65535 bytes: the server's RSA public key
  std::vector<uint8_t> signature;  // 1..65535 bytes
  bool operator==(const SignedRequest&) const = default;
};

[[nodiscard]] Result<std::vector<uint8_t>> EncodeSignedRequest(const SignedRequest& request);
[[nodiscard]] Result<SignedRequest> ParseSignedRequest(std::span<const uint8_t> wire);

// The bytes the server signs (RSA-PSS hashes them with SHA-256 itself).
std::vector<uint8_t> SigningInput(Verb verb, ChannelBindingSpan cb, std::span<const uint8_t> body);
// SHA-256(SigningInput(...)), for a signer that takes a digest (e.g. a PKCS#11
// token with CKM_RSA_PKCS_PSS, hashAlg SHA-256, MGF1-SHA-256, sLen 32).
std::array<uint8_t, 32> SigningDigest(Verb verb, ChannelBindingSpan cb,
                                      std::span<const uint8_t> body);

// SHA-256 of the DER SubjectPublicKeyInfo: the id of a server (partner) key.
PartnerId PartnerIdOf(std::span<const uint8_t> spki_der);

// A request whose signature was made elsewhere (e.g. by a hardware token over
// SigningInput / SigningDigest); checks lengths and encodes it for the wire.
[[nodiscard]] Result<std::vector<uint8_t>> BuildSignedRequest(Verb verb,
                                                              std::span<const uint8_t> body,
                                                              std::span<const uint8_t> spki_der,
                                                              std::span<const uint8_t> signature);

// Signs with a software RSA private key (tests, tools, servers without a token).
[[nodiscard]] Result<SignedRequest> SignRequestWithKey(EVP_PKEY* rsa_private_key, Verb verb,
                                                       ChannelBindingSpan cb,
                                                       std::span<const uint8_t> body);

// Peer side: checks the key and the signature over SigningInput(verb, cb, body)
// and returns partner_id = SHA-256(spki_der).
[[nodiscard]] Result<PartnerId> VerifyRequest(const SignedRequest& request, ChannelBindingSpan cb);

}  // namespace onionmail::unseal
