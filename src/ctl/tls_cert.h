// Creation of the server's self-signed TLS certificate at `init`.
//
// Contract: writes `key_path` (PEM, mode 0600, created exclusively) and
// `cert_path` (PEM, 0644): ECDSA P-256, SHA-256, valid for 10 years, subject
// CN=<domain>, subjectAltName DNS:<domain>, DNS:localhost, IP:127.0.0.1, IP:::1.
// Onion clients authenticate the server through the onion address itself;
// the certificate pins the TLS session to this server's key.
#pragma once

#include <string>

#include "base/result.h"

namespace onionmail::ctl {

Result<void> CreateSelfSignedCertificate(const std::string& domain, const std::string& cert_path,
                                         const std::string& key_path);

}  // namespace onionmail::ctl
