// RemoteTkim: the SMTP front end's mail::TkimService (mail/tkim.h). The
// server's key comes from the key role over the session's link
// (ServerKeyRequest); a client's proof is checked by the relay role, which
// can reach the sender's onion for its key (RemoteRelayBackend::CheckTkim).
//
// Contract:
//  - ServerKey() asks the key role once per RemoteTkim and keeps the answer
//    (a public key); an error is not kept.
//  - Check() forwards to the relay backend; its errors are mail/tkim.h's.
//    A proven sender's vouch goes to the key role on the session's link
//    (TkimProvenRequest), so that the session may act for that server's
//    users on mailing lists. Without a vouch, or if the key role does not
//    take it (logged), the sender is proven all the same.
//  - One RemoteTkim per SMTP session, used by that session's thread only.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mail/tkim.h"
#include "server/relay_backend.h"
#include "server/remote_backend.h"

namespace onionmail::server {

// The server key (DER SubjectPublicKeyInfo) from the key role, over `link`;
// also what the server@ bot's IDENT reports.
Result<std::vector<uint8_t>> FetchServerKey(SessionLink& link);

class RemoteTkim : public mail::TkimService {
 public:
  // Both must outlive this object.
  RemoteTkim(SessionLink& key_link, RemoteRelayBackend& relay)
      : key_link_(key_link), relay_(relay) {}

  Result<std::vector<uint8_t>> ServerKey() override;
  Result<std::string> Check(const mail::ChannelBinding& cb,
                            std::span<const uint8_t> proof) override;

 private:
  SessionLink& key_link_;
  RemoteRelayBackend& relay_;
  std::optional<std::vector<uint8_t>> key_;
};

}  // namespace onionmail::server
