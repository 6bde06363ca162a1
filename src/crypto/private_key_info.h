// PKCS#8 PrivateKeyInfo encoding of an OpenSSL key, straight into wiping
// memory (the inbox keys' DER, the KCTL key's PEM).
//
// Contract: the encoding passes only through OpenSSL's secure-heap memory BIO
// (grown with clean reallocation, cleared on free) and the returned
// SecretBytes; no other copy of the key bytes is made. Fails with kInternal if
// OpenSSL has no encoder for the key or the encoding fails.
#pragma once

#include <openssl/evp.h>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::crypto {

enum class KeyEncoding { kDer, kPem };

[[nodiscard]] Result<SecretBytes> EncodePrivateKeyInfo(const EVP_PKEY* key, KeyEncoding encoding);

}  // namespace onionmail::crypto
