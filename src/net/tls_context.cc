// TlsContext implementation.
#include "net/tls_context.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/tls_ciphers.h"

namespace onionmail::net {

namespace {
std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}
}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::NewContext(const std::string& cert_file) {
  auto out = NewBareContext();
  if (!out.ok()) return out;
  if (SSL_CTX_use_certificate_chain_file((*out)->get(), cert_file.c_str()) != 1) {
    return MakeError(ErrorCode::kNotFound,
                     "cannot load TLS certificate " + cert_file + ": " + OpenSslError());
  }
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::LoadPemWithKey(std::string_view cert_chain_pem,
                                                               EVP_PKEY* key) {
  auto out = NewBareContext();
  if (!out.ok()) return out;
  SSL_CTX* ctx = (*out)->get();
  BIO* bio = BIO_new_mem_buf(cert_chain_pem.data(), static_cast<int>(cert_chain_pem.size()));
  if (bio == nullptr) return MakeError(ErrorCode::kInternal, "BIO_new_mem_buf failed");
  X509* leaf = PEM_read_bio_X509_AUX(bio, nullptr, nullptr, nullptr);
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  while (ok) {  // the rest of the chain, if any
    X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      ok = false;
    }
  }
  BIO_free(bio);
  ERR_clear_error();  // the loop ends on "no start line"
  if (!ok) return MakeError(ErrorCode::kInvalidArgument, "unusable TLS certificate (PEM)");
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "the server key does not match the certificate");
  }
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::NewBareContext() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return MakeError(ErrorCode::kInternal, "SSL_CTX_new: " + OpenSslError());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx));
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot set TLS 1.2 minimum");
  }
  // Forward secrecy only; no compression, no renegotiation. No stateless
  // tickets (SSL_OP_NO_TICKET): a ticket would carry the session's secrets
  // encrypted under a ticket key, so stealing that key later would open
  // recorded sessions.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  // AEAD suites only, the fastest one for this CPU first (tls_ciphers.h).
  static const bool cpu_has_aes = CpuHasAesInstructions();
  if (auto r = ApplyServerCipherPreference(ctx, cpu_has_aes); !r.ok()) return r.error();
  // Resumption from a bounded in-memory cache instead (TLS 1.3: one stateful
  // ticket per handshake, which is only an id into this cache, resumed with a
  // fresh ECDHE (psk_dhe_ke; psk_ke is not allowed); TLS 1.2: session ids).
  // A resumed handshake needs no signature, so no key-store operation: a mail
  // client that reconnects within kSessionCacheSeconds (a burst of messages,
  // a short polling interval) does not wait for the token, which on a real
  // TPM takes far longer than the rest of the handshake. The secrets stay in
  // this process's memory, which holds the live sessions' keys anyway, and
  // die with it.
  static constexpr unsigned char kSessionIdContext[] = "onionmaild";
  if (SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot set the TLS session id context");
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, kSessionCacheEntries);
  SSL_CTX_set_timeout(ctx, kSessionCacheSeconds);
  SSL_CTX_set_num_tickets(ctx, 1);
  // Read ahead: one recv() takes every record that has arrived, instead of
  // two per record (header, then body). SocketConnection::Fill calls SSL_read
  // before it polls the socket, so buffered records are never left waiting.
  SSL_CTX_set_read_ahead(ctx, 1);
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                     const std::string& key_file) {
  auto out = NewContext(cert_file);
  if (!out.ok()) return out;
  SSL_CTX* ctx = (*out)->get();
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return MakeError(ErrorCode::kNotFound,
                     "cannot load TLS key " + key_file + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "TLS key does not match the certificate");
  }
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::LoadWithKey(const std::string& cert_file,
                                                            EVP_PKEY* key) {
  auto out = NewContext(cert_file);
  if (!out.ok()) return out;
  SSL_CTX* ctx = (*out)->get();
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot use the server key: " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the server key does not match the certificate " + cert_file);
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace onionmail::net
