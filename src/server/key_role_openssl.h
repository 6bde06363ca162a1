// InitKeyRoleOpenSsl: how the key role (onionmail-key) initialises OpenSSL,
// first thing in its main, before any other OpenSSL call.
//
// OpenSSL's legacy cipher and digest name tables (EVP_get_cipherbyname,
// EVP_get_digestbyname) stay empty in the process. tss2-esys 3.x (the tpm2
// backend) creates a new OpenSSL library context for each hash, HMAC and
// random number it computes, and OpenSSL 3.0 copies those tables into every
// new context's name map: about a third of the key role's CPU per TPM
// signature (docs/benchmarks.md, "The TPM backend").
//
// Contract: returns false when OpenSSL cannot be initialised. Afterwards,
// fetching by provider name (EVP_MD_fetch, EVP_*_fetch, *_name setters on
// provider keys) and EVP_sha256() and the like work as before; a name given
// for a legacy key (net/remote_key.h: keys whose private operation runs in
// the token) does not, so the key role passes EVP_MD objects there.
// tests/server/key_role_openssl_test.cc runs the key role's crypto in a
// process initialised this way.
#pragma once

namespace onionmail::server {

[[nodiscard]] bool InitKeyRoleOpenSsl();

}  // namespace onionmail::server
