// Server-side TLS context (OpenSSL): TLS 1.2 minimum, AEAD suites in the order
// of net/tls_ciphers.h, the server's own certificate and key, loaded once at
// start-up and shared by all sessions.
//
// Contract: Load() fails with a clear error naming the file that is missing or
// unusable. The context is immutable after Load() and safe to share between
// threads. Sessions can be resumed (no signature, so no key-store operation)
// from an in-memory server cache of at most kSessionCacheEntries sessions,
// each for kSessionCacheSeconds; no stateless tickets are issued. Issue "keys in hardware" will
// route the private-key operations to the key role; the certificate stays here.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::net {

class TlsContext {
 public:
  static constexpr long kSessionCacheEntries = 4096;
  static constexpr long kSessionCacheSeconds = 1800;

  static Result<std::shared_ptr<TlsContext>> Load(const std::string& cert_file,
                                                  const std::string& key_file);
  // Certificate from a file, private key as an EVP_PKEY whose private
  // operations may run in hardware (net/remote_key.h). Takes a reference.
  static Result<std::shared_ptr<TlsContext>> LoadWithKey(const std::string& cert_file,
                                                         EVP_PKEY* key);
  // Certificate chain from PEM bytes (leaf first), e.g. received over IPC by
  // a front end that may not open files; key as for LoadWithKey.
  static Result<std::shared_ptr<TlsContext>> LoadPemWithKey(std::string_view cert_chain_pem,
                                                            EVP_PKEY* key);
  ~TlsContext();
  SSL_CTX* get() const { return ctx_; }

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  static Result<std::shared_ptr<TlsContext>> NewBareContext();
  static Result<std::shared_ptr<TlsContext>> NewContext(const std::string& cert_file);
  SSL_CTX* ctx_;
};

}  // namespace onionmail::net
