// RemoteRelayBackend: the SMTP front end's mail::RelayBackend (mail/relay.h)
// over IPC to the relay role (onionmail-relay; docs/federation.md). The front
// end holds no socket to the outside: for each relayed transaction it makes
// a session channel and hands one end to the relay role, whose side is
// server/relay_session.h. Messages in ipc/messages.h, "SMTP front end <->
// relay role".
//
// Contract:
//  - Begin() checks the request against the IPC bounds (domain, path:
//    kInvalidArgument, nothing sent), makes a socketpair, queues
//    RelayBeginRequest on it, sends the other end with NewSession on the
//    relay control channel and reads the RelayReply. Safe to call from any
//    number of threads at once (the control channel is used under a lock).
//  - OpenAll() runs mail::OpenOne() for every server at once, each on a
//    thread (the relay role serves each session channel on its own thread,
//    up to its max_concurrent), so the post waits for the slowest server,
//    not for the sum of them.
//  - A RelayReply with status kOk is the remote's reply; a 2xx to MAIL comes
//    with a RemoteTransaction that owns the session channel, any other reply
//    without one (the relay role has closed that connection). Any other
//    status is an Error with that code (kInvalidArgument: not an onion;
//    kPermissionDenied: 8-bit body and the remote offers no 8BITMIME;
//    kFailedPrecondition: no proxy, or no STARTTLS; kUnavailable /
//    kDeadlineExceeded: unreachable; kResourceExhausted: too many relayed
//    transactions at once; kUnauthenticated: the smarthost's key is not the
//    pinned one).
//  - A closed, silent (past the wait for that step) or misbehaving relay
//    role, or a malformed or unexpected reply, is kUnavailable.
//  - RemoteTransaction: one session channel, used by one thread. After any
//    Error, a DATA answered other than 354, or End(), every later call is
//    kFailedPrecondition with nothing sent. Append() sends the bytes in
//    chunks of at most ipc::kMaxChunkBytes, wiping each chunk after sending;
//    its failures are also reported by End(). Finish() queues the final dot
//    (RelayEndRequest) and End() then only reads its answer; without it,
//    End() does both. Destroying the transaction
//    closes the channel: the relay role drops the remote connection without
//    a final dot, so the remote keeps nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "ipc/channel.h"
#include "ipc/messages.h"
#include "mail/relay.h"
#include "mail/vmat.h"

namespace onionmail::server {

// How long the front end waits for the relay role's answer to each step:
// a little longer than the relay role's own bounds on the remote
// (RelayOptions' defaults), so the remote's timeout arrives as a reply.
struct RelayWaits {
  std::chrono::milliseconds begin{std::chrono::minutes(8)};    // connect + MAIL
  std::chrono::milliseconds command{std::chrono::minutes(6)};  // RCPT, DATA
  std::chrono::milliseconds end{std::chrono::minutes(11)};     // the final dot
};

class RemoteRelayBackend : public mail::RelayBackend, public mail::GatewayVmatService {
 public:
  // `control`: this front end's control channel to the relay role.
  explicit RemoteRelayBackend(ipc::Channel control, RelayWaits waits = {})
      : control_(std::move(control)), waits_(waits) {}

  Result<mail::RelayBegin> Begin(std::string_view domain, std::string_view reverse_path,
                                 const mail::MailParameters& params) override;
  // Every server at once: a thread per server but the first (which runs on
  // the caller's), each with its own session channel; returns when all are
  // done.
  std::vector<mail::RelayOpened> OpenAll(std::span<const mail::RelayOpening> servers,
                                         std::string_view reverse_path,
                                         const mail::MailParameters& params) override;

  // TKIM (docs/PROTOCOL.md): asks the relay role to check a client's proof
  // for the channel binding of the client's TLS connection, on a session
  // channel of its own (TkimCheckRequest). Returns the proven sender domain
  // and the key role's vouch for it (empty if the relay role got none), or
  // an Error with the reply's status (mail/tkim.h lists them); a missing,
  // late or malformed answer is kUnavailable.
  struct TkimProven {
    std::string sender_domain;
    std::vector<uint8_t> vouch;
  };
  Result<TkimProven> CheckTkim(const mail::ChannelBinding& cb, std::span<const uint8_t> proof);

  // VMAT (mail/vmat.h): asks the relay role to ask [relay] exit_gateway, on
  // a session channel of its own (RelayVmatRequest). The address, or an
  // Error with the reply's status; a user or alias outside the IPC bounds is
  // kInvalidArgument, nothing sent; a missing, late or malformed answer (an
  // address that is not "<alias>@<domain>") is kUnavailable.
  Result<std::string> AskGateway(mail::VmatOwnOp op, std::string_view user,
                                 std::string_view alias) override;

 private:
  // The one answer on a one-shot session (CheckTkim, AskGateway): the
  // message, or kResourceExhausted for the relay role's busy RelayReply,
  // kUnavailable when none came in time or the channel broke.
  Result<ipc::Message> OneAnswer(ipc::Channel& session, const char* busy);

  // A new session channel with `first` queued on it, its other end handed to
  // the relay role (NewSession). A message out of the IPC bounds is
  // kInvalidArgument `out_of_bounds` with nothing sent.
  Result<ipc::Channel> OpenSession(const ipc::Message& first, const char* out_of_bounds);

  std::mutex mu_;  // guards control_
  ipc::Channel control_;
  const RelayWaits waits_;
};

}  // namespace onionmail::server
