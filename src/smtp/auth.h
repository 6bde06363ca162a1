// SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms.
//
// Contract:
//  - Credentials are base64 as smtp/base64.h decodes it (strict, canonical).
//  - RunAuthExchange() handles one AUTH command after the session has checked
//    state (TLS, EHLO, not authenticated, no transaction). It sends the 334
//    challenges itself, reads continuation lines with max_line, calls
//    conn.WipeBuffers() after every credential line and wipes every temporary
//    string that held base64 or decoded credentials. The caller wipes the AUTH
//    command line itself.
//  - Outcomes: kCredentials (verify them), kFailed (well-formed exchange but
//    unusable credentials, e.g. authzid != authcid: counts as a failed AUTH),
//    kReply (send `reply`, nothing counted: cancelled with "*", bad base64,
//    unknown mechanism, syntax), kBareLineEnding / kLineTooLong (close).
//    Connection errors are returned as the Error.
//  - Credentials::user is the authcid lower-cased; "user@<own domain>" is
//    reduced to "user". It is not validated here.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "net/connection.h"
#include "smtp/base64.h"
#include "smtp/reply.h"

namespace onionmail::smtp {

struct Credentials {
  std::string user;
  SecretBytes password;
};

struct AuthOutcome {
  enum class Kind { kCredentials, kFailed, kReply, kBareLineEnding, kLineTooLong };
  Kind kind = Kind::kFailed;
  Reply reply = Reply::kAuthFailed;  // for kReply
  Credentials credentials;           // for kCredentials
};

// `arg` is the argument of the AUTH command ("PLAIN <initial-response>").
Result<AuthOutcome> RunAuthExchange(net::Connection& conn, std::string_view arg, size_t max_line,
                                    std::string_view own_domain);

// Splits a decoded PLAIN message ([authzid] NUL authcid NUL passwd); exposed
// for tests. Errors: kInvalidArgument when malformed, kPermissionDenied when
// the authzid names someone other than the authcid.
Result<Credentials> ParsePlainMessage(const SecretBytes& message, std::string_view own_domain);

}  // namespace onionmail::smtp
