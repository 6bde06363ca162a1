// TokenKeyStore: a KeyStore whose roots live in a hardware Token.
//
// Derive(label) = Token::Hmac(label), computed inside the PKCS#11 token or
// the TPM with a non-extractable key; see hsm/derived_key_store.h for what is
// derived from it. The Token stays shared with the TLS key path (the server
// RSA key) through token().
#pragma once

#include <memory>

#include "hsm/key_store.h"
#include "hsm/token.h"

namespace onionmail::hsm {

Result<std::unique_ptr<KeyStore>> OpenTokenKeyStore(std::shared_ptr<Token> token);

}  // namespace onionmail::hsm
