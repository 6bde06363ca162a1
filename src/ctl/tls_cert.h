// Creation of the server's self-signed TLS certificate at `init`.
//
// Contract: writes `key_path` (PEM, mode 0600, created exclusively) and
// `cert_path` (PEM, 0644): SHA-256 signature, valid for 10 years, subject
// CN=<domain>, subjectAltName DNS:<domain>, DNS:localhost, IP:127.0.0.1, IP:::1.
// Onion clients authenticate the server through the onion address itself;
// the certificate pins the TLS session to this server's key.
#pragma once

#include <string>

#include "base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::ctl {

// The `file` key backend: an ECDSA key in a 0600 PEM file next to the cert.
Result<void> CreateSelfSignedCertificate(const std::string& domain, const std::string& cert_path,
                                         const std::string& key_path);

// Hardware backends: the certificate for the server RSA key held in the
// token; `key` is a net::MakeRemoteRsaKey key, so signing runs in the token.
Result<void> CreateCertificateForKey(const std::string& domain, const std::string& cert_path,
                                     EVP_PKEY* key);

}  // namespace onionmail::ctl
