// Creation of the server's self-signed TLS certificate at `init`.
//
// Contract: writes `cert_path` (PEM, 0644): SHA-256 signature, valid for 10 years, subject
// CN=<domain>, subjectAltName DNS:<domain>, DNS:localhost, IP:127.0.0.1, IP:::1.
// Onion clients authenticate the server through the onion address itself;
// the certificate pins the TLS session to this server's key.
#pragma once

#include <string>

#include "base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::ctl {

enum class KeyFileType { kRsa2048, kEcdsaP256 };

// The `file` key backend (development only): generates a key of `type` and
// writes it to `key_path` (PEM, mode 0600, created exclusively, fsync'd).
// The caller owns the result (EVP_PKEY_free).
Result<EVP_PKEY*> CreateKeyFile(const std::string& key_path, KeyFileType type);

// The certificate for `key`: a key read from a file, or a net::MakeRemoteEcKey
// / MakeRemoteRsaKey key whose signing runs in the token. `cert_path` is
// created exclusively.
Result<void> CreateCertificateForKey(const std::string& domain, const std::string& cert_path,
                                     EVP_PKEY* key);

}  // namespace onionmail::ctl
