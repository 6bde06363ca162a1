// onionmailctl's TORM calls to unseal peers (see peer_calls.h).
#include "ctl/peer_calls.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>

#include "net/remote_key.h"

namespace onionmail::ctl {
namespace {

peer::PeerEndpoint Endpoint(const std::string& address, const std::array<uint8_t, 32>& pin) {
  peer::PeerEndpoint e;
  e.address = address;
  e.tls_pin = pin;
  return e;
}

// A builder that signs `body` for the connection's binding.
peer::RequestBuilder SignedBody(const TormSigner& signer, unseal::Verb verb,
                                std::vector<uint8_t> body) {
  return [&signer, verb, body = std::move(body)](const mail::ChannelBinding& binding) {
    return signer.Sign(verb, binding, body);
  };
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

peer::ClientOptions PeerOptions(const config::Config& config, const std::string& socks5) {
  peer::ClientOptions o;
  o.socks5_proxy = socks5.empty() ? config.peer_socks5_proxy : socks5;
  o.timeout = std::chrono::seconds(config.peer_timeout_seconds);
  return o;
}

Result<std::unique_ptr<TormSigner>> TormSigner::Create(server::State& state) {
  auto spki = state.ServerPublicKey();
  if (!spki.ok()) return MakeError(spki.error().code, "server key: " + spki.error().message);
  server::State* st = &state;
  auto key = net::MakeRemoteRsaKey(
      *spki, [st](std::span<const uint8_t> block) { return st->ServerPrivateRaw(block); });
  if (!key.ok()) return MakeError(key.error().code, "server key: " + key.error().message);
  std::unique_ptr<TormSigner> signer(new TormSigner());
  signer->key_ = *key;
  signer->server_id_ = unseal::PartnerIdOf(*spki);
  return signer;
}

TormSigner::~TormSigner() { EVP_PKEY_free(key_); }

Result<std::vector<uint8_t>> TormSigner::Sign(unseal::Verb verb,
                                              const mail::ChannelBinding& binding,
                                              std::span<const uint8_t> body) const {
  auto request = unseal::SignRequestWithKey(key_, verb, binding, body);
  if (!request.ok()) {
    return MakeError(request.error().code, "cannot sign the request: " + request.error().message);
  }
  return unseal::EncodeSignedRequest(*request);
}

std::string DescribeFailure(const Result<peer::TormResponse>& call) {
  if (!call.ok()) return "failed: " + call.error().message;
  return "refused: " + std::string(mail::TormOutcomeKeyword(call->outcome));
}

Result<void> CheckPeersForEnrolment(const std::vector<PeerSpec>& peers, const TormSigner& signer,
                                    const peer::ClientOptions& options) {
  std::vector<std::string> problems;
  for (const PeerSpec& p : peers) {
    auto call =
        peer::TormCall(Endpoint(p.address, p.pin), mail::TormVerb::kStat,
                       SignedBody(signer, unseal::Verb::kStat, unseal::EncodeStatBody()), options);
    if (call.ok() && call->outcome == mail::TormOutcome::kUnknownPartner) continue;
    std::string why;
    if (call.ok() && call->outcome == mail::TormOutcome::kOk) {
      why =
          "already holds a record for this server (it would refuse the PUSH: "
          "already-enrolled)";
    } else if (call.ok() && call->outcome == mail::TormOutcome::kDestroyed) {
      why =
          "holds a destroyed record for this server (KCTL destroy); it will never enrol "
          "this server key again";
    } else {
      why = DescribeFailure(call);
    }
    problems.push_back("peer " + p.address + ": " + why);
  }
  if (problems.empty()) return Ok();
  return MakeError(ErrorCode::kFailedPrecondition,
                   "not enrolling; nothing was sent to any peer and nothing was written: " +
                       JoinNames(problems));
}

Result<std::vector<PushedPeer>> PushToPeers(const std::vector<PeerSpec>& peers,
                                            const PushRequest& request, const TormSigner& signer,
                                            const peer::ClientOptions& options) {
  std::vector<PushedPeer> out;
  std::vector<std::string> accepted;
  for (size_t i = 0; i < peers.size(); ++i) {
    unseal::PushBody body;
    body.t = static_cast<uint8_t>(request.t);
    body.n = static_cast<uint8_t>(peers.size() + 1);
    body.peer_id = peers[i].address;
    body.kctl_pub = request.kctl_pub;
    body.credits_requested = request.credits;
    for (size_t j = 0; j < peers.size(); ++j) {
      if (j != i) body.forward_peers.push_back({peers[j].address, peers[j].pin});
    }
    auto encoded = unseal::EncodePushBody(body);
    if (!encoded.ok()) return encoded.error();
    auto call =
        peer::TormCall(Endpoint(peers[i].address, peers[i].pin), mail::TormVerb::kPush,
                       SignedBody(signer, unseal::Verb::kPush, std::move(*encoded)), options);
    Result<unseal::PushReply> reply =
        call.ok() && call->outcome == mail::TormOutcome::kOk
            ? unseal::ParsePushReply(call->reply)
            : Result<unseal::PushReply>(
                  MakeError(ErrorCode::kFailedPrecondition, DescribeFailure(call)));
    if (!reply.ok()) {
      std::string message = "PUSH to peer " + peers[i].address + " " +
                            (call.ok() && call->outcome == mail::TormOutcome::kOk
                                 ? "gave a malformed reply: " + reply.error().message
                                 : reply.error().message) +
                            "; enrolment aborted, nothing was written";
      if (!accepted.empty()) {
        message += ". Peers " + JoinNames(accepted) +
                   " accepted the PUSH: they now hold a record for this server and will refuse "
                   "another PUSH from it (already-enrolled); enrol with other peers, or ask "
                   "their operators to remove that record";
      }
      return MakeError(ErrorCode::kFailedPrecondition, message);
    }
    PushedPeer pushed;
    pushed.enrol.peer_id = peers[i].address;
    pushed.enrol.tls_pin = peers[i].pin;
    pushed.enrol.S = reply->S;
    pushed.credits_granted = reply->credits_granted;
    out.push_back(std::move(pushed));
    accepted.push_back(peers[i].address);
  }
  return out;
}

Result<SecretBytes> RecoverMasterFromPeers(server::State& state, const TormSigner& signer,
                                           const peer::ClientOptions& options) {
  auto unsealer = unseal::Unsealer::Load(state.config().state_dir, state.device_keys());
  if (!unsealer.ok()) {
    return MakeError(unsealer.error().code, "unseal enrolment record: " + unsealer.error().message);
  }
  unseal::Unsealer& u = **unsealer;
  std::vector<std::string> failures;
  for (const unseal::UnsealPeer& p : u.peers()) {
    if (!u.sealed()) break;  // enough shares: ask no more peers (each answer costs a credit)
    auto call = peer::TormCall(
        Endpoint(p.peer_id, p.tls_pin), mail::TormVerb::kDerk,
        [&u, &signer,
         index = p.index](const mail::ChannelBinding& binding) -> Result<std::vector<uint8_t>> {
          auto X = u.BeginPeer(index);
          if (!X.ok()) return X.error();
          auto body = unseal::EncodeDerkBody(unseal::DerkBody{*X});
          if (!body.ok()) return body.error();
          return signer.Sign(unseal::Verb::kDerk, binding, *body);
        },
        options);
    std::string outcome;
    if (call.ok() && call->outcome == mail::TormOutcome::kOk) {
      auto derk = unseal::ParseDerkReply(call->reply);
      if (!derk.ok()) {
        outcome = "gave a malformed reply (" + derk.error().message + ")";
        (void)u.MarkUnreachable(p.index, outcome);
      } else if (auto accepted = u.AcceptAnswer(p.index, derk->Y); accepted.ok()) {
        std::printf("unseal: peer %s answered (credits left %u, answers so far %llu)\n",
                    p.peer_id.c_str(), derk->credits_left,
                    static_cast<unsigned long long>(derk->answered_total));
        continue;
      } else {
        outcome = "gave a wrong answer (" + accepted.error().message + ")";
      }
    } else {
      outcome = DescribeFailure(call);
      (void)u.MarkUnreachable(p.index, outcome);
    }
    std::printf("unseal: peer %s %s\n", p.peer_id.c_str(), outcome.c_str());
    failures.push_back("peer " + p.peer_id + ": " + outcome);
  }
  std::fflush(stdout);
  if (u.sealed()) {
    unseal::UnsealStatus s = u.Status();
    std::string message = "cannot unseal the master key: " + std::to_string(s.shares_held) +
                          " of the " + std::to_string(s.t) +
                          " shares needed (the local share counts)";
    if (!s.last_error.empty()) message += "; " + s.last_error;
    if (!failures.empty()) message += "; " + JoinNames(failures);
    return MakeError(ErrorCode::kSealed, message);
  }
  return u.TakeMasterKey();
}

Result<void> UnsealForAdmin(server::State& state, const config::Config& config,
                            const std::string& socks5) {
  if (!state.sealed()) return Ok();
  auto signer = TormSigner::Create(state);
  if (!signer.ok()) return signer.error();
  auto master = RecoverMasterFromPeers(state, **signer, PeerOptions(config, socks5));
  if (!master.ok()) return master.error();
  return state.Unseal(*master);
}

}  // namespace onionmail::ctl
