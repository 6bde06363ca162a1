// The TKIM service as the SMTP session sees it (docs/PROTOCOL.md, "TKIM"):
// `TKIM KEY` answers with this server's RSA key, and `TKIM <proof>` asks
// whether the client is the onion server it says it is. The session holds no
// key and makes no connection: the implementation (server/tkim_backend.h)
// asks the key role for the key and the relay role for the check, which
// includes the call-back to the sender's onion; tests use a fake.
//
// Contract:
//  - ServerKey(): the DER SubjectPublicKeyInfo of the key that signs this
//    server's TORM requests and TKIM proofs. An Error is a local failure.
//  - Check(): `proof` is the decoded base64 of the client's command and `cb`
//    the RFC 9266 tls-exporter value of the client's TLS connection. Returns
//    the proven sender domain (a v3 onion name, lower case), or an Error:
//    kInvalidArgument (malformed proof, sender not a v3 onion),
//    kUnauthenticated (signature, receiver, time, or a key that is not the
//    one the sender's onion gave), kUnavailable / kDeadlineExceeded (the
//    sender's onion did not answer for its key; try later),
//    kResourceExhausted (too many connections out at once); anything else is
//    a local failure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "mail/torm.h"

namespace onionmail::mail {

class TkimService {
 public:
  virtual ~TkimService() = default;
  [[nodiscard]] virtual Result<std::vector<uint8_t>> ServerKey() = 0;
  [[nodiscard]] virtual Result<std::string> Check(const ChannelBinding& cb,
                                                  std::span<const uint8_t> proof) = 0;
};

}  // namespace onionmail::mail
