// Session TLS keys; see session_tls.h.
#include "server/session_tls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <utility>

#include "base/log.h"
#include "crypto/ec_p256.h"
#include "net/remote_key.h"

namespace onionmail::server {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using NamePtr = std::unique_ptr<X509_NAME, decltype(&X509_NAME_free)>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)>;

Error Internal(const std::string& what) {
  ERR_clear_error();
  return MakeError(ErrorCode::kInternal, "session TLS key: " + what);
}

Result<std::string> ToPem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return Internal("cannot encode PEM");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0) return Internal("cannot encode PEM");
  return std::string(data, static_cast<size_t>(n));
}

Result<void> AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return Internal(std::string("cannot build extension ") + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return Internal(std::string("cannot add extension ") + value);
  return Ok();
}

Result<X509Ptr> NewCertificate(const X509_NAME* subject, const X509_NAME* issuer, EVP_PKEY* key) {
  X509Ptr cert(X509_new(), X509_free);
  if (!cert || X509_set_version(cert.get(), 2) != 1) return Internal("X509_new failed");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return Internal("no random serial");
  serial[0] &= 0x7f;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(serial, sizeof(serial), nullptr),
                                                 BN_free);
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(), issuer) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return Internal("cannot fill in the certificate");
  }
  return cert;
}

// X509_sign with the token's key (a remote key: the token signs the digest).
Result<void> SignByToken(X509* cert, EVP_PKEY* token_key) {
  if (X509_sign(cert, token_key, EVP_sha256()) <= 0) {
    ERR_clear_error();
    return MakeError(ErrorCode::kUnavailable,
                     "session TLS key: the token did not sign the certificate");
  }
  return Ok();
}

}  // namespace

struct SessionTlsKeys::Key {
  PkeyPtr key{nullptr, EVP_PKEY_free};
  Generation pub;
  std::chrono::system_clock::time_point made;
};

struct SessionTlsKeys::Issuer {
  X509Ptr ca{nullptr, X509_free};
  PkeyPtr token_key{nullptr, EVP_PKEY_free};
  NamePtr leaf_subject{nullptr, X509_NAME_free};
  NamesPtr san{nullptr, GENERAL_NAMES_free};  // may stay null
};

Result<std::unique_ptr<SessionTlsKeys>> SessionTlsKeys::Create(
    const std::string& server_cert_pem, std::span<const uint8_t> token_public_key,
    TokenSign token_sign, std::chrono::seconds lifetime, Clock clock) {
  if (lifetime.count() <= 0 || lifetime > kMaxLifetime) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "session TLS key lifetime must be positive and at most 168 hours");
  }
  if (!clock) clock = [] { return std::chrono::system_clock::now(); };
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(server_cert_pem.data(), static_cast<int>(server_cert_pem.size())), BIO_free);
  X509Ptr server(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr,
                 X509_free);
  if (!server) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument, "session TLS key: unreadable server certificate");
  }
  auto server_key = crypto::SpkiDer(X509_get0_pubkey(server.get()));
  if (!server_key.ok() || !std::equal(server_key->begin(), server_key->end(),
                                      token_public_key.begin(), token_public_key.end())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "session TLS key: the server certificate is not for the token's TLS key");
  }
  auto issuer = std::make_unique<Issuer>();
  auto token_key = net::MakeRemoteEcKey(token_public_key, std::move(token_sign));
  if (!token_key.ok()) return token_key.error();
  issuer->token_key.reset(*token_key);

  // The issuing certificate: the server's subject, key and validity, as a CA.
  const X509_NAME* subject = X509_get_subject_name(server.get());
  auto ca = NewCertificate(subject, subject, issuer->token_key.get());
  if (!ca.ok()) return ca.error();
  if (X509_set1_notBefore(ca->get(), X509_get0_notBefore(server.get())) != 1 ||
      X509_set1_notAfter(ca->get(), X509_get0_notAfter(server.get())) != 1) {
    return Internal("cannot copy the validity");
  }
  ONIONMAIL_RETURN_IF_ERROR(
      AddExtension(ca->get(), ca->get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  ONIONMAIL_RETURN_IF_ERROR(
      AddExtension(ca->get(), ca->get(), NID_key_usage, "critical,keyCertSign"));
  ONIONMAIL_RETURN_IF_ERROR(AddExtension(ca->get(), ca->get(), NID_subject_key_identifier, "hash"));
  ONIONMAIL_RETURN_IF_ERROR(SignByToken(ca->get(), issuer->token_key.get()));
  auto ca_pem = ToPem(ca->get());
  if (!ca_pem.ok()) return ca_pem.error();
  issuer->ca = std::move(*ca);

  issuer->leaf_subject.reset(X509_NAME_dup(subject));
  if (!issuer->leaf_subject ||
      X509_NAME_add_entry_by_txt(issuer->leaf_subject.get(), "OU", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("session key"), -1, -1,
                                 0) != 1) {
    return Internal("cannot make the subject");
  }
  issuer->san.reset(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(server.get(), NID_subject_alt_name, nullptr, nullptr)));
  ERR_clear_error();  // no subjectAltName is not an error

  std::unique_ptr<SessionTlsKeys> keys(
      new SessionTlsKeys(std::move(issuer), std::move(*ca_pem), lifetime, std::move(clock)));
  uint32_t first_generation = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&first_generation), sizeof(first_generation)) !=
      1) {
    return Internal("no random generation");
  }
  first_generation = (first_generation & 0x7fffffffu) | 1u;  // in [1, 2^31): never 0, no wrap
  auto first = keys->MakeKey(first_generation);
  if (!first.ok()) return first.error();
  keys->current_ = std::move(*first);
  return keys;
}

SessionTlsKeys::SessionTlsKeys(std::unique_ptr<Issuer> issuer, std::string ca_pem,
                               std::chrono::seconds lifetime, Clock clock)
    : issuer_(std::move(issuer)),
      ca_pem_(std::move(ca_pem)),
      lifetime_(lifetime),
      clock_(std::move(clock)) {}

SessionTlsKeys::~SessionTlsKeys() = default;

Result<std::shared_ptr<SessionTlsKeys::Key>> SessionTlsKeys::MakeKey(uint32_t generation) {
  auto key = std::make_shared<Key>();
  key->made = clock_();
  key->key.reset(EVP_EC_gen("P-256"));
  if (!key->key) return Internal("cannot generate a P-256 key");
  auto cert = NewCertificate(issuer_->leaf_subject.get(), X509_get_subject_name(issuer_->ca.get()),
                             key->key.get());
  if (!cert.ok()) return cert.error();
  const time_t now = std::chrono::system_clock::to_time_t(key->made);
  const time_t until = now + static_cast<time_t>(2 * lifetime_.count() + 3600);
  if (ASN1_TIME_set(X509_getm_notBefore(cert->get()), now - 3600) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert->get()), until) == nullptr) {
    return Internal("cannot set the validity");
  }
  X509* ca = issuer_->ca.get();
  ONIONMAIL_RETURN_IF_ERROR(
      AddExtension(cert->get(), ca, NID_basic_constraints, "critical,CA:FALSE"));
  ONIONMAIL_RETURN_IF_ERROR(
      AddExtension(cert->get(), ca, NID_key_usage, "critical,digitalSignature"));
  ONIONMAIL_RETURN_IF_ERROR(AddExtension(cert->get(), ca, NID_ext_key_usage, "serverAuth"));
  ONIONMAIL_RETURN_IF_ERROR(
      AddExtension(cert->get(), ca, NID_authority_key_identifier, "keyid:always"));
  if (issuer_->san && X509_add1_ext_i2d(cert->get(), NID_subject_alt_name, issuer_->san.get(), 0,
                                        X509V3_ADD_DEFAULT) != 1) {
    return Internal("cannot add the subjectAltName");
  }
  ONIONMAIL_RETURN_IF_ERROR(SignByToken(cert->get(), issuer_->token_key.get()));
  auto pem = ToPem(cert->get());
  if (!pem.ok()) return pem.error();
  auto spki = crypto::SpkiDer(key->key.get());
  if (!spki.ok()) return spki.error();
  key->pub.generation = generation;
  key->pub.chain_pem = std::move(*pem) + ca_pem_;
  key->pub.public_key = std::move(*spki);
  return key;
}

Result<SessionTlsKeys::Generation> SessionTlsKeys::Current() {
  std::lock_guard<std::mutex> rotating(rotate_mu_);
  std::shared_ptr<Key> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current = current_;
  }
  const auto now = clock_();
  if (now - current->made < lifetime_ || now < retry_after_) return current->pub;
  const uint32_t next = current->pub.generation + 1;
  auto made = MakeKey(next);
  if (!made.ok()) {
    retry_after_ = now + kRetryAfterFailure;
    log::Warning("key", "could not make session TLS key " + std::to_string(next) + " (key " +
                            std::to_string(current->pub.generation) +
                            " stays in use; tried again in a minute): " + made.error().message);
    return current->pub;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous_ = std::move(current_);
    current_ = std::move(*made);
    current = current_;
  }
  log::Info("key", "session TLS key " + std::to_string(next) + " made; key " +
                       std::to_string(next - 1) + " still signs the handshakes begun with it");
  return current->pub;
}

Result<std::vector<uint8_t>> SessionTlsKeys::Sign(uint32_t generation,
                                                  std::span<const uint8_t> digest) {
  std::shared_ptr<Key> key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ && current_->pub.generation == generation) {
      key = current_;
    } else if (previous_ && previous_->pub.generation == generation) {
      key = previous_;
    }
  }
  if (!key) {
    return MakeError(ErrorCode::kNotFound, "no session TLS key " + std::to_string(generation) +
                                               " (retired or never made)");
  }
  return crypto::EcdsaP256SignRaw(key->key.get(), digest);
}

}  // namespace onionmail::server
