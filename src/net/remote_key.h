// Remote keys: OpenSSL EVP_PKEYs whose private operations are done elsewhere
// (in the hardware token, through the key role), the way OpenSMTPD's `ca`
// process and Envoy's private-key providers work. Two kinds:
//
// MakeRemoteRsaKey: the key carries only the public modulus and exponent.
// Every private operation (TLS handshake signatures with PKCS#1 v1.5 or PSS
// padding, certificate signing) calls `raw` with the already padded,
// modulus-sized block and expects x^d mod n back.
//
// MakeRemoteEcKey: an ECDSA P-256 (prime256v1) key carrying only the public
// point. Every signature (TLS 1.3 ecdsa_secp256r1_sha256, TLS 1.2 ECDSA with
// SHA-256/384/512, X509_sign) calls `sign` with exactly 32 bytes and expects
// r || s back. The result is checked before OpenSSL sees it: exactly 64
// bytes, 1 <= r, s <= n-1, and it must verify under the public key (one
// P-256 verify, negligible next to a token signature): a token answering
// with another key, for another digest or with a faulted signature fails the
// operation here, with a log line naming the cause, instead of the peer
// rejecting it (a faulty ECDSA signature never leaves the process). The key
// refuses ECDH, key generation and precomputed nonces (ECDSA_sign_setup).
//
// Both: failures of the callback make the OpenSSL operation fail (the
// handshake is aborted, logged as a warning), never crash. The callback may be
// called from any thread that uses the key, concurrently if several do, and
// is destroyed with the key. EVP_PKEY_dup of a remote EC key gives the copy
// its own copy of `sign`; OpenSSL 3.0 refuses to duplicate a remote RSA key.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::net {

using RsaRawFn = std::function<Result<std::vector<uint8_t>>(std::span<const uint8_t>)>;

// Takes the DER SubjectPublicKeyInfo of the key; the caller owns the result
// (EVP_PKEY_free).
Result<EVP_PKEY*> MakeRemoteRsaKey(std::span<const uint8_t> public_key_der, RsaRawFn raw);

// `sign` gets exactly 32 bytes (the digest, truncated to its leftmost 32 bytes
// when longer, left-padded with zeros when shorter, as ECDSA does for a
// 256-bit group order) and returns r || s (64 bytes, big-endian, 32 each).
using EcSignFn = std::function<Result<std::vector<uint8_t>>(std::span<const uint8_t>)>;

// Takes the DER SubjectPublicKeyInfo of an EC key on prime256v1 (anything
// else: kInvalidArgument); the caller owns the result (EVP_PKEY_free).
Result<EVP_PKEY*> MakeRemoteEcKey(std::span<const uint8_t> public_key_der, EcSignFn sign);

}  // namespace onionmail::net
