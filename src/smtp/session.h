// One SMTP server session (RFC 5321, ESMTP with PIPELINING, SIZE, 8BITMIME,
// ENHANCEDSTATUSCODES, STARTTLS per RFC 3207 and AUTH per RFC 4954) over a
// net::Connection. IO-agnostic: the real socket and the test fake look alike.
//
// Contract:
//  - TLS is mandatory: before STARTTLS only EHLO, HELO, STARTTLS, NOOP, RSET
//    and QUIT work; everything else gets 530 5.7.0. After STARTTLS the session
//    forgets everything (EHLO must be sent again); pipelined plaintext is
//    discarded by the connection.
//  - A sender in this server's domain must be authenticated as that very
//    local part.
//  - RCPT TO another domain is relayed (docs/federation.md) only when a
//    mail::RelayBackend is given, the client is authenticated, the sender is
//    in this server's domain and the domain, lower-cased, is a v3 onion name
//    (mail::IsV3OnionDomain); anything else gets 550 5.7.1 Relaying denied.
//    Without a relay backend only this server's domain is accepted.
//  - Several remote servers per transaction, at most max_remote_servers (a
//    recipient at one more gets 452 4.5.3 and the transaction goes on), with
//    or without local recipients; recipients count together against
//    max_recipients. Each remote domain (lower case) has its own remote
//    transaction, opened by its first remote RCPT.
//  - Local and remote recipients together, at DATA: the local copy is begun
//    first (if it cannot be, 451 4.3.0 and no remote gets DATA); every remote
//    server that took a recipient gets DATA; the message is streamed to the
//    local copy and to every remote that answered 354, then each of those
//    gets the final dot (Finish(), all of them first) and their answers are
//    read (End()) in the order of their first RCPT. The remotes whose
//    answer to the final dot is 2xx took the message; the others failed (a
//    refusal of DATA or of the message, or a failed relay call):
//     * none took it: the local copy is dropped and the client gets the first
//       failed remote's reply (FormatRemoteReply, or the relay failure's
//       reply); nothing was delivered, a retry duplicates nothing;
//     * all took it: the local copy is committed and the client gets the
//       remote's reply (one remote) or 250 2.0.0 (several);
//     * some took it: the local copy is committed, a delivery status report
//       (mail::ComposeFailureReport) naming the recipients of the failed
//       remotes is delivered with a null reverse path into the sender's own
//       mailbox, and the client gets 250 2.0.0 saying so (a retry would
//       duplicate the message for those who have it); a report that cannot
//       be stored is logged and the 250 says that too.
//    A local commit failure after a remote's 2xx gets 451 4.3.0 (the
//    client's retry may then reach a remote twice; nothing is lost). A remote
//    transaction that took no recipient is dropped at DATA.
//  - Relayed transaction: the first remote RCPT calls Begin() (MAIL FROM the
//    authenticated user's own address and the declared SIZE); a refused MAIL
//    or a failed Begin() leaves no remote transaction and the next remote RCPT
//    of the same transaction calls Begin() again. Each remote RCPT (once per
//    distinct forward path) is forwarded as it arrives; the client gets the
//    remote's code and enhanced code with this server's text
//    (FormatRemoteReply). The relayed bytes are the Received
//    header (no Return-Path: the remote adds its own) and the message as a
//    local delivery would store it. A client-side failure in DATA (bare
//    LF/CR, too big, NUL, connection lost) destroys the remote transaction
//    without End(), so the remote keeps nothing.
//  - A failed Rcpt() (an Error, or a reply code RCPT cannot have) ends the
//    whole transaction, every remote one with it: the client gets 451 4.4.2
//    (see mail/relay.h for the other failures) and must send MAIL again. From
//    DATA on, a failed call (Data, Append, Finish, End) fails that remote
//    only, as above. RSET, EHLO/HELO, STARTTLS, QUIT and the end of Run()
//    drop every open remote transaction.
//  - Every line must end in CRLF: a bare LF or CR in a command or in DATA is
//    answered with 521 and the connection is closed with nothing delivered
//    (anti-smuggling). Overlong lines get 500 and the connection is closed.
//  - A message reaches storage only through MessageWriter::Commit(); any
//    failure or abort destroys the writer uncommitted. The stored bytes are a
//    Return-Path and a Received header (no client IP, no identity) followed by
//    the message exactly as sent, dot-unstuffed, with CRLF line endings.
//  - Run() returns after QUIT, a fatal protocol error, a connection error or
//    a timeout (on which 421 4.4.2 is attempted). It never throws.
//  - TORM (docs/PROTOCOL.md, "TORM over SMTP") is served only when a
//    mail::TormService is given: after EHLO inside TLS 1.3, outside a mail
//    transaction, `TORM <PUSH|DERK|STAT|KCTL> <base64>`; the blob and the
//    connection's RFC 9266 channel binding go to the service, whose answer is
//    sent with FormatTormReply(). Without a service TORM is an unknown command.
//  - TKIM (docs/PROTOCOL.md, "TKIM") is served only when a mail::TkimService
//    is given, offered as the EHLO keyword TKIM inside TLS 1.3: after EHLO,
//    outside a mail transaction, `TKIM KEY` answers with ServerKey() in
//    base64 and `TKIM <base64 proof>` hands the proof and the connection's
//    channel binding to Check(). A proven domain holds until the next
//    EHLO/HELO or STARTTLS; one proof per session (a second gets 503). With a
//    proven domain, MAIL FROM another v3 onion (neither the proven one nor
//    this server's) gets 550 5.7.1 and the Received header names the proven
//    onion in a comment. A malformed or refused proof counts as a failed AUTH
//    (max_auth_failures). Without a service TKIM is an unknown command.
//  - server@ (docs/PROTOCOL.md, "server@: the server's command bot") is
//    served only when a mail::BotService is given: RCPT TO server@<this
//    domain> is accepted only from a user authenticated on this server whose
//    MAIL FROM is that user's own address, or from a list member at another
//    server (RemoteMemberSender, below) (else 550 5.7.1), and only as the
//    one recipient of its transaction (a recipient with it, before or after,
//    gets 452 4.5.3). Its DATA (at most mail::kMaxBotRequestBytes, else
//    552 5.3.4) goes to BotService::Answer(); the answer is delivered like
//    a local message with a null reverse path into the user's own mailbox,
//    and 250 after DATA means that reply is durable. A request the bot does
//    not answer (an automatic message) gets 250 and stores nothing; a failed
//    Answer() or delivery gets 451 4.3.0 and stores nothing. A member at
//    another server gets BotService::AnswerRemote() instead, and no message:
//    kLeft is 250 2.0.0 (left the list), kIgnored 250 2.0.0 as above,
//    kRefused 550 5.7.1, an error 451 4.3.0. Without a
//    service, server@ is an ordinary local part.
//  - Mailing lists (docs/PROTOCOL.md, "Mailing lists") are served only when
//    a mail::ListService is given: RCPT TO <name>.list@<this domain>
//    (mail::ListNameOf) is accepted only from a user authenticated on this
//    server whose MAIL FROM is that user's own address, or, on a session
//    without AUTH, from a remote member (RemoteMemberSender: MAIL FROM at the
//    TKIM-proven onion, not a list, named to Apply(kPost) as the poster)
//    (else 550 5.7.1), and
//    only as the one recipient of its transaction (452 4.5.3 otherwise,
//    before or after; the same list again is 250). ListService::Apply(kPost)
//    gives the members (kNotFound: 550 5.1.1; kPermissionDenied, the poster
//    is not a member: 550 5.7.1). Each member is checked as a recipient
//    (CheckRecipient with the poster as sender): a member whose block list
//    holds the poster, whose mailbox is full or who no longer exists is
//    skipped; low disk space (452 4.3.1) or a sealed server refuses the RCPT;
//    no member left is 452 4.2.2. Members at other onion servers
//    (mail::IsRemoteMember) get the post through the relay: at the list's
//    RCPT a remote transaction is opened per server (the first
//    max_remote_servers in the order of their first member, all at once
//    through RelayBackend::OpenAll; MAIL FROM the poster, or
//    the list's address for a remote poster) with the RCPT of each
//    of its members; members whose server refuses them, cannot be reached,
//    or is past the limit, and all of them without a relay backend, are
//    skipped. The message is then delivered like local mail to the members
//    kept, each copy beginning with the trace fields and mail::ListHeaders();
//    a list post's own mail::kListHeldField fields are dropped (DataReader).
//    A moderated list (Apply's record flags it) holds the post of a member
//    but its owner: it goes to the owner alone (the record Apply returns
//    has no other member), with the trace fields and mail::ListHeldHeader()
//    instead of the list's fields, and the RCPT reply says so (250 2.1.5,
//    kListHeld); the owner approves a post by posting it to the list.
//    all or nothing without remote members (250 after DATA means every kept
//    member's copy is durable), and as "Local and remote recipients
//    together" above with them (a remote poster has no mailbox here: no
//    report, 250 2.0.0 saying some servers did not take it). Without a
//    service, a local part ending in
//    ".list" is an ordinary one.
//  - VMAT (docs/gateways.md): with a mail::VmatService and
//    config.exit_domain set, RCPT TO <x>@<exit domain> from any client (no
//    login needed): a reserved name (mail::ReservedUserName: postmaster,
//    abuse, server, *.list...) is the local part x here; otherwise the alias
//    x's target (VmatService::Lookup; none or not an alias: 550 5.1.1;
//    sealed: 451 4.3.0 as for local mail) is a recipient at its onion server
//    (this server's own domain: a local recipient), relayed as above with
//    MAIL FROM the client's reverse path (the null one too). A client
//    without a login reaches one server per transaction: this one or one
//    onion server (452 4.5.3 for the others), so the answer to the final
//    dot is the one outcome and nothing needs a report.
//  - VMAT command (docs/PROTOCOL.md, "VMAT: aliases for users of other
//    servers"): served only with a mail::VmatService, config.exit_domain and
//    config.vmat_for_servers, to a client that is not an Internet client
//    (else an unknown command); offered as the EHLO keyword VMAT next to
//    TKIM. After EHLO, outside a mail transaction (503 5.5.1), with a TKIM
//    proof on the session (530 5.7.0): `VMAT ON <user> <alias>`, `VMAT SHOW
//    <user>`, `VMAT OFF <user>` (anything else 501 5.5.4; user and alias
//    lower-cased) go to VmatService::ForServer(); success is
//    FormatVmatAddress() of the address it gives (checked: a valid alias at
//    the exit domain, else 451 4.3.0), a refusal a fixed reply (reply.h).
//  - An Internet client (config.internet_client, docs/gateways.md): EHLO
//    offers neither AUTH, TORM nor TKIM; AUTH is 502 5.7.0 (no login from
//    the Internet), TORM, TKIM and VMAT unknown commands (500 5.5.1); a recipient
//    not at the exit domain (but the bare postmaster) is 550 5.7.1.
//  - Logs one line per accepted message, per failed AUTH, per TORM command
//    (verb and outcome keyword), per TKIM command (outcome keyword) and per
//    relayed message outcome (code or failure keyword and size), per server@
//    request (the command keyword the bot gives), tagged with
//    log_tag, never with addresses, domains, user names, credentials, content
//    or peer identities.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "mail/backend.h"
#include "mail/bot.h"
#include "mail/exit_header.h"
#include "mail/mailing_list.h"
#include "mail/relay.h"
#include "mail/tkim.h"
#include "mail/torm.h"
#include "mail/vmat.h"
#include "net/connection.h"
#include "smtp/address.h"
#include "smtp/command.h"
#include "smtp/reply.h"

namespace onionmail::smtp {

struct SessionConfig {
  std::string domain;    // this server's own mail domain (its .onion), lower case
  std::string hostname;  // name in the greeting/EHLO (usually == domain)
  uint64_t max_message_bytes = 25 * 1024 * 1024;
  size_t max_recipients = 100;
  size_t max_received_headers = 100;     // more in a message's header: 554 5.4.6 (a loop)
  size_t max_command_line = 24576;       // bytes, without CRLF (TORM PUSH: 22 KiB of base64)
  size_t max_text_line = 65536;          // bytes per DATA line
  std::string log_tag;                   // connection id for log lines
  unsigned auth_failure_delay_ms = 300;  // sleep after a failed AUTH
  size_t max_auth_failures = 3;          // then 421 and close
  size_t max_unknown_recipients = 10;    // 550 5.1.1 answers; the next one is 421 and close
  // [relay] require_tkim: MAIL FROM a v3 onion domain other than ours needs
  // a TKIM proof of that onion in the session (docs/PROTOCOL.md, "TKIM").
  bool require_tkim = false;
  // Remote servers (domains) one relayed transaction may reach: each holds a
  // connection of the relay role ([relay] max_concurrent) until the end.
  size_t max_remote_servers = 8;
  // [exit] domain: an enter gateway's Internet domain (docs/gateways.md),
  // lower case; empty: none.
  std::string exit_domain;
  // A gateway's client that did not connect from loopback (Tor's onion
  // service does): no AUTH, TORM or TKIM; recipients at the exit domain only.
  bool internet_client = false;
  // [relay] exit_gateway (docs/gateways.md, "The exit direction"): the v3
  // onion that carries this server's users' mail to Internet addresses;
  // empty: such mail is 550 5.7.1.
  std::string exit_gateway;
  // [exit] smarthost is set: this gateway sends mail from onion senders
  // with an alias here on to the Internet.
  bool exit_to_internet = false;
  // [exit] vmat_servers is not empty: the VMAT command is served (with a
  // mail::VmatService and exit_domain), its keyword offered with TKIM.
  bool vmat_for_servers = false;
};

// Where a remote transaction goes: its key among the transaction's remote
// servers, the domain given to RelayBackend::Begin() (both the onion for an
// onion server), and for a leg to the Internet the sender whose header the
// exit rule rewrites (mail/exit_transaction.h).
struct RemoteRoute {
  std::string key;
  std::string begin_domain;
  std::optional<mail::ExitSender> exit;
};

// One remote server of a relayed transaction.
struct RemoteServer {
  std::string domain;                                    // RemoteRoute::key, lower case
  std::unique_ptr<mail::RemoteTransaction> transaction;  // open until its End()
  std::vector<std::string> recipients;                   // forward paths it accepted
};

class Session {
 public:
  // `torm` may be null (TORM not served), as may `relay` (no relaying),
  // `tkim` (TKIM not served), `bot` (no server@ bot) and `lists` (no
  // mailing lists); all must outlive the session.
  Session(net::Connection& conn, mail::DeliveryBackend& backend, const SessionConfig& config,
          mail::TormService* torm = nullptr, mail::RelayBackend* relay = nullptr,
          mail::TkimService* tkim = nullptr, mail::BotService* bot = nullptr,
          mail::ListService* lists = nullptr, mail::VmatService* vmat = nullptr);

  // Serves the connection until QUIT, a fatal error or a timeout.
  void Run();

 private:
  enum class Next { kContinue, kClose };

  void Serve();

  Result<Next> Dispatch(const Command& cmd);
  Result<Next> DoHello(const Command& cmd, bool extended);
  Result<Next> DoStartTls(const Command& cmd);
  Result<Next> DoAuth(const Command& cmd);
  // Counts a failed AUTH or TKIM proof: logs `what` with the count, waits
  // auth_failure_delay_ms, sends `reply` or, at max_auth_failures, 421 and
  // closes.
  Result<Next> AuthFailed(Reply reply = Reply::kAuthFailed,
                          std::string_view what = "authentication failed");
  // Answers a recipient that is not here (550 5.1.1) or, once
  // max_unknown_recipients have been answered so in this session, 421 and
  // closes: guessing names costs a new connection and TLS handshake each time.
  Result<Next> UnknownRecipient();
  Result<Next> DoMail(const Command& cmd);
  Result<Next> DoRcpt(const Command& cmd);
  Result<Next> DoData(const Command& cmd);
  Result<Next> DoTorm(const Command& cmd);

  // TKIM (session_tkim.cc).
  bool TkimOffered() const;
  Result<Next> DoTkim(const Command& cmd);
  Result<Next> TkimReply(Reply reply, std::string_view keyword);
  // The refusal of MAIL FROM `sender` by the TKIM rules, if any.
  std::optional<Reply> TkimRefusal(const std::optional<Address>& sender) const;

  // server@ requests (session_bot.cc).
  bool IsBotRecipient(std::string_view local_part) const;
  Result<Next> DoBotRcpt();
  Result<Next> DoBotData();
  Result<Next> DoRemoteBotData(const std::string& member, std::string_view request);
  // Delivers `message` (the bot's reply, a delivery report) with a null
  // reverse path into the authenticated user's own mailbox.
  Result<void> DeliverToSender(const std::string& message);

  // Mailing lists (session_list.cc).
  std::optional<std::string> ListRecipient(std::string_view local_part) const;
  // The sender as a list member at another server (lower case): on a
  // session without a login whose TKIM-proven onion is the sender's, and not
  // a list; else nullopt. Such a member may post to a list and leave it.
  std::optional<std::string> RemoteMemberSender() const;
  Result<Next> DoListRcpt(const std::string& name);
  // Opens a remote transaction per server of `members` (addresses at other
  // onion servers), MAIL FROM `sender`, with the RCPT of each; returns how
  // many are skipped (no relay, past max_remote_servers, refused,
  // unreachable).
  size_t OpenListRemotes(const std::vector<std::string>& members, const std::string& sender);

  // Relayed transactions (session_relay.cc, session_fanout.cc).
  bool MayRelayTo(std::string_view domain) const;
  size_t RemoteRecipientCount() const;
  Result<Next> DoRemoteRcpt(const Address& recipient);
  // RCPT to the exit domain (session_vmat.cc): the alias's onion mailbox.
  Result<Next> DoVmatRcpt(const std::string& local);
  // The VMAT command of a server proven by TKIM (session_vmat.cc).
  bool VmatServed() const;
  Result<Next> DoVmatCommand(const Command& cmd);
  // RCPT to an Internet domain (session_exit.cc): to the exit gateway (a
  // user of this server) or, on a gateway, on to the smarthost.
  Result<Next> DoInternetRcpt(std::string forward_path);
  // One forward path at a remote server, in the transaction to it (opened
  // with `reverse_path` at its first RCPT).
  Result<Next> RelayRcpt(const RemoteRoute& route, std::string forward_path,
                         const std::string& reverse_path);
  // The local half of DoRcpt(): `local` a lower-case local part here.
  Result<Next> DoLocalRcpt(const std::string& local);
  Result<Next> DoRelayData();
  Result<Next> RelayBroken(const Error& error);

  Result<Next> Send(Reply reply);
  Result<Next> SendLine(const std::string& line);
  void ResetTransaction();
  // This server's Received field; `on_exit_leg`: the one a message leaving
  // for the Internet gets (names the exit domain, not this server's onion).
  std::string ReceivedHeader(bool on_exit_leg = false) const;
  std::string TraceHeader() const;  // Return-Path + ReceivedHeader()
  void EndOnError(const Error& error);
  void Log(bool warning, const std::string& message) const;

  net::Connection& conn_;
  mail::DeliveryBackend& backend_;
  mail::TormService* const torm_;
  mail::RelayBackend* const relay_;
  mail::TkimService* const tkim_;
  mail::BotService* const bot_;
  mail::ListService* const lists_;
  mail::VmatService* const vmat_;
  const SessionConfig config_;

  bool greeted_ = false;                    // EHLO/HELO seen (since TLS start)
  std::optional<std::string> auth_user_;    // authenticated local part
  size_t auth_failures_ = 0;                // failed AUTH and TKIM proofs
  size_t unknown_recipients_ = 0;           // RCPTs answered 550 5.1.1
  std::optional<std::string> tkim_domain_;  // onion proven by TKIM, lower case
  bool tkim_unchecked_ = false;             // a proof could not be checked (temporary failure)
  bool in_transaction_ = false;             // MAIL accepted
  std::string reverse_path_;
  uint64_t declared_size_ = 0;                    // MAIL FROM SIZE=, 0 if none
  bool body_8bitmime_ = false;                    // MAIL FROM BODY=8BITMIME
  std::vector<std::string> recipients_;           // lower-case local parts, unique
  bool bot_request_ = false;                      // the one recipient is server@
  std::optional<std::string> bot_remote_member_;  // ... asked by a member elsewhere
  std::optional<std::string> list_name_;          // the one recipient is this list
  bool list_held_ = false;                        // ... moderated: the post goes to its owner
  bool local_sender_ = false;                     // MAIL FROM is in this server's domain
  std::vector<RemoteServer> remotes_;             // open relayed transactions
};

}  // namespace onionmail::smtp
