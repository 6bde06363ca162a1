// Decoding of a SASL PLAIN response (RFC 4616) as carried by POP3 AUTH
// (RFC 5034): base64 of  [authzid] NUL authcid NUL passwd.
//
// Contract:
//  - The base64 text must be canonical: length a multiple of 4, only the
//    standard alphabet, '=' padding only at the end. Anything else, a wrong
//    number of NUL separators, an empty authcid or password, or an authzid
//    that differs from the authcid (case-insensitively) is kInvalidArgument.
//  - The decoded bytes live only in SecretBytes; the password is returned as
//    SecretBytes. Error messages never contain any part of the input.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::pop3 {

struct PlainCredentials {
  std::string authcid;  // as sent; the session validates and lower-cases it
  SecretBytes password;
};

Result<PlainCredentials> DecodeSaslPlain(std::string_view base64);

}  // namespace onionmail::pop3
