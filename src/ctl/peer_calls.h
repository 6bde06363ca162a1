// onionmailctl's conversations with unseal peers (docs/unseal.md, docs/PROTOCOL.md "TORM
// requests"): TORM STAT / PUSH at enrolment and DERK to unseal the master key for an admin
// operation, each request signed by this server's RSA key (through State, so the private
// operation runs in the token) for the channel binding of the connection that carries it.
//
// Contract:
//  - PeerOptions(): the TORM client options from [peer] socks5_proxy / timeout_seconds;
//    a non-empty `socks5` ("host:port") overrides the proxy.
//  - Every failure message names the peer by the address the operator gave and says what
//    happened: "refused: <TORM keyword>" (mail::TormOutcomeKeyword) or "unreachable:
//    <step>: <error>" (peer/torm_client.h; a wrong pin reads "peer key does not match the
//    pin"). Messages never contain request or reply bytes.
//  - CheckPeersForEnrolment(): one STAT per peer; each must answer "unknown-partner" (it is
//    reachable, its key matches the pin, it serves TORM and holds no record for this server
//    yet). Otherwise kFailedPrecondition naming every peer that is not ready. Costs no
//    credit and changes nothing on the peers.
//  - PushToPeers(): one PUSH per peer, in order, with forward_peers = the other peers. The
//    first failure stops and returns kFailedPrecondition naming that peer and, when some
//    peers had accepted already, that they now hold a record for this server and will refuse
//    another PUSH with "already-enrolled".
//  - RecoverMasterFromPeers(): Unsealer::Load, then DERK to the enrolled peers in order until
//    t shares are held (the local share counts); each answer or failure is printed on
//    stdout as "unseal: peer ADDRESS: ...". Each answer costs the peer one credit. Fewer than
//    t shares: kSealed naming each peer asked and why it did not help.
//  - UnsealForAdmin(): RecoverMasterFromPeers then State::Unseal. No-op when the state is
//    not sealed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "config/config.h"
#include "ctl/unseal_args.h"
#include "peer/torm_client.h"
#include "server/state.h"
#include "unseal/master_key.h"
#include "unseal/torm_wire.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace onionmail::ctl {

peer::ClientOptions PeerOptions(const config::Config& config, const std::string& socks5);

// Signs TORM requests with the state's server key (private operations through
// State::ServerPrivateRaw, i.e. in the token for the hardware backends).
class TormSigner {
 public:
  [[nodiscard]] static Result<std::unique_ptr<TormSigner>> Create(server::State& state);
  ~TormSigner();
  TormSigner(const TormSigner&) = delete;
  TormSigner& operator=(const TormSigner&) = delete;

  // The encoded signed request (torm_wire.h) for `binding`.
  [[nodiscard]] Result<std::vector<uint8_t>> Sign(unseal::Verb verb,
                                                  const mail::ChannelBinding& binding,
                                                  std::span<const uint8_t> body) const;
  // SHA-256 of the server key's SubjectPublicKeyInfo.
  const unseal::PartnerId& server_id() const { return server_id_; }

 private:
  TormSigner() = default;
  EVP_PKEY* key_ = nullptr;
  unseal::PartnerId server_id_{};
};

// "refused: <keyword>" / "unreachable: <message>" for a TORM call that did not give kOk.
std::string DescribeFailure(const Result<peer::TormResponse>& call);

[[nodiscard]] Result<void> CheckPeersForEnrolment(const std::vector<PeerSpec>& peers,
                                                  const TormSigner& signer,
                                                  const peer::ClientOptions& options);

struct PushRequest {
  int t = 0;
  unseal::KctlPublicKey kctl_pub{};
  uint32_t credits = 0;
};

struct PushedPeer {
  unseal::EnrolPeer enrol;
  uint32_t credits_granted = 0;
};

[[nodiscard]] Result<std::vector<PushedPeer>> PushToPeers(const std::vector<PeerSpec>& peers,
                                                          const PushRequest& request,
                                                          const TormSigner& signer,
                                                          const peer::ClientOptions& options);

[[nodiscard]] Result<SecretBytes> RecoverMasterFromPeers(server::State& state,
                                                         const TormSigner& signer,
                                                         const peer::ClientOptions& options);

[[nodiscard]] Result<void> UnsealForAdmin(server::State& state, const config::Config& config,
                                          const std::string& socks5);

}  // namespace onionmail::ctl
