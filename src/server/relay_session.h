// The relay role's side of relayed transactions (docs/federation.md, step 2):
// it serves the SMTP front end's session channels (ipc/messages.h, "SMTP
// front end <-> relay role") and carries each transaction to the remote
// onion server with peer::MailClient, synchronously: every request is
// forwarded as it arrives and the remote's reply goes back as the answer.
// The front end's side is server/relay_backend.h.
//
// Contract:
//  - ServeRelaySession() serves one session channel until it closes or
//    misbehaves. RelayBeginRequest: a domain that is not a v3 onion name
//    (mail::IsV3OnionDomain) is refused with kInvalidArgument, and an
//    empty options.socks5_proxy with kFailedPrecondition (relaying goes over
//    Tor only), both without connecting. The domain mail::kSmarthostDomain
//    is the exception (docs/gateways.md, "The exit direction"): with
//    options.smarthost set, it opens a MailClient directly (no proxy) to
//    that address, unpinned, EHLO with options.exit_domain, and sends no
//    TKIM proof; without one it is refused with kInvalidArgument. Otherwise it opens a MailClient
//    to
//    "<domain>:<remote_port>" through the proxy, unpinned (StartTlsAnyKey:
//    the onion address authenticates the remote), EHLO with
//    options.helo_name, sends the TKIM proof when the remote offers TKIM
//    (server/relay_tkim.h), and sends MAIL. RelayRcptRequest, RelayDataRequest,
//    RelayAppendRequest and RelayEndRequest drive that client. Each request
//    but RelayAppendRequest gets one RelayReply: the remote's code and
//    enhanced code (its text never crosses), or for a failure the remote
//    did not answer the error's code as status (code 0). A failed append is
//    kept and reported by the RelayEndRequest's reply.
//  - A TkimCheckRequest as the first request is answered with one
//    TkimCheckReply (server/relay_tkim.h, CheckTkim) and ends the session;
//    a RelayVmatRequest likewise with one VmatLookupReply
//    (server/relay_vmat.h, AskGatewayVmat).
//  - The connection ends (QUIT, closed) after the answer to the final dot,
//    after a refused MAIL, after a DATA answered other than 354 and after
//    any failure; the session may then carry another RelayBeginRequest. A
//    session channel that closes mid-transaction drops the connection
//    without the final dot, so the remote keeps nothing.
//  - A malformed message, one out of order (RCPT with no transaction, DATA
//    before MAIL was accepted, message data without a 354, BEGIN while a
//    transaction is open, ...), any message that is not a relay request,
//    or a front end silent for options.session_idle_timeout ends the session
//    (logged, never with content).
//  - Message bytes are wiped once handed to the client.
//  - One log line per transaction: its outcome class (relayed, refused /
//    temporary with the remote's code and the step, unreachable, failed,
//    abandoned, denied) and the byte count; never an address or a domain.
//  - ServeRelayControl() receives NewSession messages (each with a session
//    channel fd) on the front end's control channel and serves each session
//    on a thread of its own (base/thread_reuser.h), as the key role does. At
//    most options.max_concurrent sessions at once: a session beyond that gets
//    RelayReply{kResourceExhausted} to its first request, unread, and is
//    closed at once (the front end reads that reply even after the close).
//    It returns Ok() when `*stop` is set (checked at least every
//    kControlPollInterval), kUnavailable when the control channel closed and
//    kInvalidArgument when it carried anything but NewSession with an fd
//    (fatal: the caller exits and the supervisor restarts the role).
//    Sessions still running when it returns go on, on detached threads with
//    their own copy of the options (the role exits to stop them).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ipc/channel.h"
#include "mail/torm.h"
#include "peer/mail_client.h"

namespace onionmail::server {

inline constexpr std::chrono::milliseconds kControlPollInterval{200};

struct RelayOptions {
  std::string socks5_proxy;  // Tor's SOCKS port, "127.0.0.1:9050"; required
  std::string helo_name;     // this server's onion, sent in EHLO
  std::string own_domain;    // this server's mail domain: TKIM proofs must name it
  // An exit gateway's smarthost ([exit] smarthost, numeric "ip:port"; empty:
  // none) and the name it is greeted with ([exit] domain: never the onion).
  std::string smarthost;
  std::string exit_domain;
  std::optional<peer::SpkiPin> smarthost_pin;  // set: the smarthost's key is pinned
  // [relay] exit_gateway: the v3 onion asked for its users' VMAT aliases
  // (server/relay_vmat.h); empty: none.
  std::string exit_gateway;
  uint16_t remote_port = 25;
  // MailClient timeouts (RFC 5321 section 4.5.3.2; peer/mail_client.h).
  std::chrono::milliseconds connect_timeout{120000};     // onion circuits are slow
  std::chrono::milliseconds command_timeout{300000};     // per command
  std::chrono::milliseconds data_block_timeout{180000};  // per chunk of message data
  std::chrono::milliseconds final_timeout{600000};       // the reply to the final dot
  // How long a session waits for the front end's next request.
  std::chrono::milliseconds session_idle_timeout{600000};
  uint32_t max_concurrent = 16;  // sessions at once (each may hold one Tor stream)
  // TKIM (docs/PROTOCOL.md): a proof that this server relays, for a remote
  // that offers TKIM, signed by the key role for the connection's channel
  // binding. Unset: no proof is sent. Called from several session threads.
  std::function<Result<std::vector<uint8_t>>(std::string_view receiver_domain,
                                             const mail::ChannelBinding& channel_binding)>
      tkim_proof;
  // TKIM: the key role's vouch (server/tkim_vouch.h) for a sender domain
  // whose proof CheckTkim() found good. Unset: no vouch is given. Called
  // from several session threads.
  std::function<Result<std::vector<uint8_t>>(std::string_view sender_domain)> tkim_vouch;
};

// The client options of a connection to another onion server: through
// options.socks5_proxy, unpinned (the onion address authenticates the
// remote), EHLO with helo_name, the options' timeouts.
peer::MailClientOptions OnionClientOptions(const RelayOptions& options);
// ... and of a connection to the smarthost: direct, pinned to
// options.smarthost_pin when set (else any key), EHLO with
// options.exit_domain, the same timeouts.
peer::MailClientOptions SmarthostClientOptions(const RelayOptions& options);

void ServeRelaySession(ipc::Channel& session, const RelayOptions& options);

[[nodiscard]] Result<void> ServeRelayControl(ipc::Channel& control, const RelayOptions& options,
                                             std::atomic<bool>* stop);

}  // namespace onionmail::server
