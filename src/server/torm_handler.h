// TormHandler: the key role's answer to TORM requests from peer servers
// (docs/PROTOCOL.md, "TORM over SMTP"), i.e. this server acting as an unseal
// peer for its partners. The SMTP front end only relays the blob and the TLS
// channel binding (ipc::TormRequest); everything is checked here.
//
// Contract:
//  - PUSH, DERK and STAT must be signed requests (unseal/torm_wire.h) whose
//    verb equals the SMTP verb and whose RSA-PSS signature covers this
//    connection's channel binding: a request replayed on another connection,
//    forged, or signed by a key under 2048 bits is kBadSignature, before any
//    partner record is touched. The partner is SHA-256 of the signing key.
//  - KCTL carries an operator certificate (unseal/kctl.h), checked by the
//    partner store against the KCTL key given at PUSH. Its reply, for every
//    action (the query included), is unseal::KctlReply (unseal/kctl.h, 22 bytes). When an order
//    (not a query) advanced the partner's state, `forward` gets the certificate bytes and the
//    partner's other peers, once; a query is never forwarded.
//  - Every refusal is a mail::TormOutcome (never an Error); Handle() returns
//    an Error only if an encoder fails, which is a bug. Log lines carry the
//    verb and outcome only, never a partner's identity.
//  - Thread-safe (the partner store serialises its own state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "mail/torm.h"
#include "unseal/partner_store.h"

namespace onionmail::server {

using KctlForwarder =
    std::function<void(std::vector<uint8_t> certificate, std::vector<unseal::ForwardPeer> peers)>;

class TormHandler : public mail::TormService {
 public:
  // `partners` must outlive the handler; `forward` may be empty (no forwarding).
  TormHandler(unseal::PartnerStore& partners, KctlForwarder forward)
      : partners_(partners), forward_(std::move(forward)) {}

  Result<mail::TormAnswer> Handle(mail::TormVerb verb, const mail::ChannelBinding& binding,
                                  std::span<const uint8_t> request) override;

 private:
  Result<mail::TormAnswer> HandleSigned(mail::TormVerb verb, const mail::ChannelBinding& binding,
                                        std::span<const uint8_t> request);
  Result<mail::TormAnswer> HandleKctl(std::span<const uint8_t> request);

  unseal::PartnerStore& partners_;
  KctlForwarder forward_;
};

// The outcome a partner-store error stands for (exposed for tests).
mail::TormOutcome OutcomeOfPartnerError(const Error& error);

using unseal::kKctlReplySize;

// The KCTL reply body of an applied certificate (unseal::EncodeKctlReply).
std::vector<uint8_t> EncodeKctlReply(const unseal::PartnerControlOutcome& outcome);

}  // namespace onionmail::server
