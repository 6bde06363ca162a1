// RemoteRsaKey: an OpenSSL EVP_PKEY whose RSA private operations are done
// elsewhere (in the hardware token, through the key role), the way
// OpenSMTPD's `ca` process and Envoy's private-key providers work.
//
// Contract: the returned key carries only the public modulus and exponent.
// Every private operation (TLS handshake signatures with PKCS#1 v1.5 or PSS
// padding, certificate signing) calls `raw` with the already padded,
// modulus-sized block and expects x^d mod n back. Failures of `raw` make the
// OpenSSL operation fail (the handshake is aborted), never crash.
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

}  // namespace onionmail::net
