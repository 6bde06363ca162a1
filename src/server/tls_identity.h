// TlsIdentity: the key the server's TLS certificate is for, decided once by
// the key role at start-up and handed to the front ends (TlsIdentityReply).
//
// Contract: LoadTlsIdentity() reads the certificate (<state>/tls/cert.pem)
// and compares its SubjectPublicKeyInfo with the state's keys:
//  - the ECDSA P-256 TLS key (State::TlsPublicKey): kind kEcdsaP256, what
//    `onionmailctl init` makes; handshakes are signed with State::TlsSign;
//  - the RSA server key (State::ServerPublicKey): kind kRsa, the layout of
//    state directories made before the TLS key existed (they keep working;
//    `onionmailctl tls-key` moves them); it must be at least 2048 bits;
//  - neither: kFailedPrecondition naming the certificate (a certificate
//    copied from another server, or a device that is not this server's).
// A missing or unparsable certificate is kNotFound / kInvalidArgument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "server/state.h"

namespace onionmail::server {

enum class TlsKeyKind { kEcdsaP256, kRsa };

struct TlsIdentity {
  std::string certificate_pem;      // the chain the front ends present
  std::vector<uint8_t> public_key;  // DER SubjectPublicKeyInfo of the certificate
  TlsKeyKind kind = TlsKeyKind::kEcdsaP256;
  size_t rsa_modulus_bits = 0;  // kRsa only
};

[[nodiscard]] Result<TlsIdentity> LoadTlsIdentity(State& state);

// The DER SubjectPublicKeyInfo of the first certificate in `pem`.
[[nodiscard]] Result<std::vector<uint8_t>> CertificatePublicKey(const std::string& pem);

}  // namespace onionmail::server
