// PeerRole: the loop of onionmail-peer (peer_main.cc), the only process of
// the server that connects out to other servers. It asks the server's unseal
// peers for their part of the master key at boot (TORM DERK) and passes KCTL
// certificates on to other peers (TORM KCTL). docs/PROTOCOL.md, "Boot".
//
// Contract:
//  - It holds no secret: every request it sends to a peer is built by the key
//    role on the control channel `key` (ipc/messages.h, "Peer role <-> key
//    role"), which also checks every answer. The role only moves bytes and
//    decides when to call whom.
//  - Handshake(): sends Hello{kPeer} and waits for Hello{kKey}, skipping up to
//    kMaxStaleReplies other messages first (replies to requests of a previous
//    incarnation of this role that died mid-call: the control channel outlives
//    the role). Run() starts with it.
//  - Run(): every kForwardPollInterval it sends UnsealPlanRequest. When the
//    plan says enrolled and sealed and no back-off is pending, it runs one
//    round: for each target, TormCall(kDerk) whose builder sends
//    DerkPrepareRequest{index, the connection's channel binding} and returns
//    the DerkPrepareReply blob. A DerkPrepareReply with status != kOk is a
//    builder error: nothing is sent to that peer and no DerkResultRequest
//    follows (the key role refused it). Otherwise DerkResultRequest{index,
//    reached = true, outcome, reply, detail = the outcome's keyword} or, for a
//    call that failed on the way, {reached = false, detail = "<step>:
//    <error>"} is sent and UnsealProgress read. One log line per peer (index,
//    address, outcome) and one when the master key is unsealed. The round
//    ends early once UnsealProgress says unsealed. Still sealed after a round:
//    the next round waits kUnsealBackoffInitial, doubling up to
//    kUnsealBackoffMax; the back-off restarts when the key is unsealed or the
//    plan stops being "enrolled and sealed" (e.g. the key role restarted).
//  - Every tick, sealed or not, it also sends ForwardPollRequest and, for each
//    ForwardItem, calls TormCall(kKctl) with the certificate bytes. A call that
//    failed on the way (kUnavailable, kDeadlineExceeded) or was refused as
//    temporary or rate-limited is retried later (back-off as above, at most
//    kMaxForwardAttempts calls, at most kMaxPendingForwards waiting, in memory
//    only); any other outcome is final. Each outcome is logged.
//  - Time is what the role sleeps through (the injected `sleep`), in slices
//    of at most kForwardPollInterval.
//  - Run() returns Ok() when `stop` is set (checked between steps) and an
//    error when the control channel fails: closed, no reply within
//    key_timeout, a malformed or unexpected message, or a Hello that is not
//    the key role's. The caller exits; the supervisor restarts the role.
//  - Logs carry peer indexes, addresses and outcomes, never request or reply
//    bytes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "base/result.h"
#include "ipc/channel.h"
#include "ipc/messages.h"
#include "peer/torm_client.h"

namespace onionmail::server {

// Unseal rounds: wait this long after a round that left the key sealed,
// doubling each time up to kUnsealBackoffMax.
inline constexpr std::chrono::milliseconds kUnsealBackoffInitial{5000};
inline constexpr std::chrono::milliseconds kUnsealBackoffMax{300000};
// How often the plan and the KCTL forwarding queue are polled.
inline constexpr std::chrono::milliseconds kForwardPollInterval{5000};
// Longest wait for one reply of the key role (it may be starting: PIN, TPM).
inline constexpr std::chrono::milliseconds kKeyReplyTimeout{120000};
// Messages skipped while waiting for the key role's Hello.
inline constexpr size_t kMaxStaleReplies = 16;
// KCTL forwarding retries (per certificate and peer) and queue bound.
inline constexpr int kMaxForwardAttempts = 10;
inline constexpr size_t kMaxPendingForwards = 256;

// peer::TormCall, injectable for tests.
using TormCallFn = std::function<Result<peer::TormResponse>(
    const peer::PeerEndpoint&, mail::TormVerb, const peer::RequestBuilder&,
    const peer::ClientOptions&)>;
using SleepFn = std::function<void(std::chrono::milliseconds)>;

// std::this_thread::sleep_for.
void RealSleep(std::chrono::milliseconds duration);

// Start-up before the sandbox: peer::WarmUpTlsClient() (peer/tls_client.h).
using peer::WarmUpTlsClient;

class PeerRole {
 public:
  PeerRole(ipc::Channel& key, peer::ClientOptions options, TormCallFn call = peer::TormCall,
           SleepFn sleep = RealSleep, std::chrono::milliseconds key_timeout = kKeyReplyTimeout);
  PeerRole(const PeerRole&) = delete;
  PeerRole& operator=(const PeerRole&) = delete;

  [[nodiscard]] Result<void> Handshake();
  [[nodiscard]] Result<void> Run(const std::atomic<bool>& stop);

 private:
  enum class KeyState { kUnknown, kNotEnrolled, kSealed, kUnsealed };
  struct PendingForward {
    ipc::ForwardItem item;
    int attempts = 0;                   // calls made so far
    std::chrono::milliseconds due{0};   // role time of the next call
    std::chrono::milliseconds wait{0};  // back-off after the next failure
  };

  template <typename Reply>
  Result<Reply> Call(const ipc::Message& request);

  // One round over plan.targets: true when the key is unsealed after it.
  Result<bool> UnsealRound(const ipc::UnsealPlan& plan, const std::atomic<bool>& stop);
  Result<void> PollForwards();
  void SendDueForwards(const std::atomic<bool>& stop);
  void NoteState(KeyState state, size_t targets);

  ipc::Channel& key_;
  peer::ClientOptions options_;
  TormCallFn call_;
  SleepFn sleep_;
  std::chrono::milliseconds key_timeout_;
  KeyState state_ = KeyState::kUnknown;
  std::chrono::milliseconds now_{0};  // role time: the sum of the sleeps so far
  std::deque<PendingForward> forwards_;
};

}  // namespace onionmail::server
