// UnsealService: the key role's side of the master-key unseal at boot, of
// KCTL forwarding (docs/PROTOCOL.md, "Boot") and of the TKIM proofs of the
// relay role (docs/PROTOCOL.md, "TKIM"). The peer role (onionmail-peer,
// src/server/peer_role.h) makes the connections; everything secret stays
// here: the enrolment (unseal::Unsealer), the blinding scalars, the server
// key that signs each DERK for the connection's channel binding, and the
// master key, which goes straight into State::Unseal().
//
// Contract:
//  - Plan(): enrolled/sealed flags and the peers still worth asking (not yet
//    answered, not known to answer wrongly). Empty when unsealed.
//  - Prepare(): a fresh X = C_i + e*G for that peer (Unsealer::BeginPeer),
//    signed together with the channel binding; kFailedPrecondition when not
//    sealed, kInvalidArgument for an unknown index.
//  - Report(): a DERK reply is unblinded and its share checked (a wrong one
//    is kDataLoss, reported, that peer is not asked again this boot); a
//    refusal or a transport failure is recorded with its keyword / detail.
//    With t shares the master key is combined, checked against the
//    commitment and handed to State::Unseal(); it never leaves the process.
//  - Every change rewrites <state>/unseal/status (text, 0600, no secret and
//    no peer address: sealed or not, t, n, shares held, each peer's index,
//    state and last error), which `onionmailctl status` prints.
//  - Forwards: EnqueueForward() (from TormHandler) queues a KCTL certificate
//    for each of a partner's other peers (at most kMaxQueuedForwards; the
//    oldest are dropped with a warning); PollForwards() hands each out once.
//  - ServePeer() answers the peer role's requests on its control channel
//    until it closes (kUnavailable) or sends anything unexpected
//    (kInvalidArgument: the caller exits, the supervisor restarts both).
//  - TkimProof(): refuses (kInvalidArgument, empty proof) a receiver that is
//    not a v3 onion or is this server ([server] domain, compared without
//    case), and (kFailedPrecondition) when this server's own domain is not a
//    v3 onion (no receiver would accept the proof). Otherwise signs
//    TkimBody{own domain, receiver, now} (both lower case) with the server
//    key for the channel binding, verb TKIM, and answers kOk with the
//    encoded signed request; a signing failure is logged and its status
//    returned. Works sealed or not (the server key is the device's, as for
//    DERK). Logs one line per proof, without the domains.
//  - TkimVouch(): the relay role checked a client's proof: a vouch
//    (server/tkim_vouch.h) for the lower-cased sender domain, which must be
//    a v3 onion and not this server (else kInvalidArgument);
//    kFailedPrecondition without set_vouches(). The reply names the domain.
//  - ServeRelay() answers the relay role's TkimProofRequests and
//    TkimVouchRequests on its channel, in order, until the channel closes
//    (kUnavailable) or sends anything else (kInvalidArgument; the caller
//    logs it and stops serving that channel).
//  - Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "ipc/channel.h"
#include "ipc/messages.h"
#include "server/state.h"
#include "server/tkim_vouch.h"
#include "unseal/master_key.h"
#include "unseal/torm_wire.h"

namespace onionmail::server {

// Signs a TORM request body with the server key for a channel binding and
// returns the encoded signed request (unseal/torm_wire.h).
using RequestSigner = std::function<Result<std::vector<uint8_t>>(
    unseal::Verb verb, const mail::ChannelBinding& binding, std::span<const uint8_t> body)>;

inline constexpr size_t kMaxQueuedForwards = 256;

class UnsealService {
 public:
  // `unsealer` is null when the state has no enrolment. `state` must outlive.
  UnsealService(State& state, std::unique_ptr<unseal::Unsealer> unsealer, RequestSigner signer);

  ipc::UnsealPlan Plan();
  ipc::DerkPrepareReply Prepare(const ipc::DerkPrepareRequest& request);
  ipc::UnsealProgress Report(const ipc::DerkResultRequest& request);

  void EnqueueForward(const std::vector<uint8_t>& certificate,
                      const std::vector<unseal::ForwardPeer>& peers);
  ipc::ForwardList PollForwards();

  Result<void> ServePeer(ipc::Channel channel);

  ipc::TkimProofReply TkimProof(const ipc::TkimProofRequest& request, uint64_t now_unix_seconds);
  // Vouches for TkimVouch() (must outlive the service). Call before serving.
  void set_vouches(const TkimVouches* vouches) { vouches_ = vouches; }
  ipc::TkimVouchReply TkimVouch(const ipc::TkimVouchRequest& request, uint64_t now_unix_seconds);
  Result<void> ServeRelay(ipc::Channel channel);

  // The text of <state>/unseal/status (also used by tests).
  std::string StatusText();

 private:
  void WriteStatus();  // mu_ not held

  State& state_;
  std::unique_ptr<unseal::Unsealer> unsealer_;
  RequestSigner signer_;
  const TkimVouches* vouches_ = nullptr;
  std::mutex mu_;  // forwards_, counters_ and the status file
  std::deque<ipc::ForwardItem> forwards_;
  // What each peer said of this server in its last DERK answer.
  struct PeerCounters {
    uint32_t credits_left = 0;
    uint64_t answered_total = 0;
  };
  std::map<size_t, PeerCounters> counters_;
};

}  // namespace onionmail::server
