// Self-signed certificate generation with OpenSSL 3.
#include "ctl/tls_cert.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

namespace onionmail::ctl {

namespace {
struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};

Result<void> AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return MakeError(ErrorCode::kInternal, "cannot build certificate extension");
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return MakeError(ErrorCode::kInternal, "cannot add certificate extension");
  return Ok();
}

Result<std::unique_ptr<FILE, FileCloser>> CreateFile(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return MakeError(ErrorCode::kAlreadyExists, "cannot create " + path);
  FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return MakeError(ErrorCode::kInternal, "fdopen failed for " + path);
  }
  return std::unique_ptr<FILE, FileCloser>(f);
}

Result<void> WriteCertificate(const std::string& domain, const std::string& cert_path,
                              EVP_PKEY* key) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!cert) return MakeError(ErrorCode::kInternal, "X509_new failed");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    return MakeError(ErrorCode::kInternal, "RAND_bytes failed");
  }
  serial[0] &= 0x7f;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(serial, sizeof(serial), nullptr),
                                                 BN_free);
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(domain.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  ONIONMAIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  ONIONMAIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature"));
  ONIONMAIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_ext_key_usage, "serverAuth"));
  ONIONMAIL_RETURN_IF_ERROR(
      AddExtension(cert.get(), NID_subject_alt_name,
                   "DNS:" + domain + ",DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1"));
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) {
    return MakeError(ErrorCode::kInternal, "cannot sign the certificate");
  }
  auto f = CreateFile(cert_path, 0644);
  if (!f.ok()) return f.error();
  if (PEM_write_X509(f->get(), cert.get()) != 1 || std::fflush(f->get()) != 0 ||
      ::fsync(::fileno(f->get())) != 0) {
    return MakeError(ErrorCode::kInternal, "cannot write " + cert_path);
  }
  return Ok();
}

}  // namespace

Result<EVP_PKEY*> CreateKeyFile(const std::string& key_path, KeyFileType type) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      type == KeyFileType::kRsa2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("prime256v1"), EVP_PKEY_free);
  if (!key) return MakeError(ErrorCode::kInternal, "cannot generate a key for " + key_path);
  auto f = CreateFile(key_path, 0600);
  if (!f.ok()) return f.error();
  if (PEM_write_PrivateKey(f->get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      std::fflush(f->get()) != 0 || ::fsync(::fileno(f->get())) != 0) {
    return MakeError(ErrorCode::kInternal, "cannot write " + key_path);
  }
  return key.release();
}

Result<void> CreateCertificateForKey(const std::string& domain, const std::string& cert_path,
                                     EVP_PKEY* key) {
  return WriteCertificate(domain, cert_path, key);
}

}  // namespace onionmail::ctl
