// TlsIdentity: matches the certificate against the state's two keys.
#include "server/tls_identity.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "crypto/ec_p256.h"
#include "store/durable_file.h"

namespace onionmail::server {

namespace {

constexpr size_t kMaxCertificateFileBytes = 64 * 1024;

size_t RsaBits(const std::vector<uint8_t>& spki) {
  const unsigned char* p = spki.data();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> k(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())), EVP_PKEY_free);
  if (!k || EVP_PKEY_get_base_id(k.get()) != EVP_PKEY_RSA) return 0;
  int bits = EVP_PKEY_get_bits(k.get());
  return bits > 0 ? static_cast<size_t>(bits) : 0;
}

}  // namespace

Result<std::vector<uint8_t>> CertificatePublicKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, X509_free);
  if (!cert) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument, "not a PEM certificate");
  }
  auto der = crypto::SpkiDer(X509_get0_pubkey(cert.get()));
  if (!der.ok()) {
    return MakeError(ErrorCode::kInvalidArgument, "the certificate has no usable public key");
  }
  return der;
}

Result<TlsIdentity> LoadTlsIdentity(State& state) {
  const std::string path = state.config().tls_cert_path();
  auto bytes = store::ReadSmallFile(path, kMaxCertificateFileBytes);
  if (!bytes.ok()) return MakeError(bytes.error().code, "cannot read " + path);
  TlsIdentity id;
  id.certificate_pem.assign(bytes->begin(), bytes->end());
  auto cert_key = CertificatePublicKey(id.certificate_pem);
  if (!cert_key.ok())
    return MakeError(cert_key.error().code, path + ": " + cert_key.error().message);
  id.public_key = std::move(*cert_key);

  auto tls_key = state.TlsPublicKey();
  if (tls_key.ok() && *tls_key == id.public_key) {
    id.kind = TlsKeyKind::kEcdsaP256;
    return id;
  }
  if (!tls_key.ok() && tls_key.error().code != ErrorCode::kNotFound) {
    return MakeError(tls_key.error().code, "TLS key: " + tls_key.error().message);
  }
  auto server_key = state.ServerPublicKey();
  if (!server_key.ok()) {
    return MakeError(server_key.error().code, "server key: " + server_key.error().message);
  }
  if (*server_key == id.public_key) {
    id.kind = TlsKeyKind::kRsa;
    id.rsa_modulus_bits = RsaBits(*server_key);
    if (id.rsa_modulus_bits < 2048) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "server key: not an RSA key of at least 2048 bits");
    }
    return id;
  }
  return MakeError(
      ErrorCode::kFailedPrecondition,
      "the TLS certificate " + path + " is for neither this device's TLS key nor its server key");
}

}  // namespace onionmail::server
