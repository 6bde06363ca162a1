// KeyRoleServer: what the key role (onionmail-key) serves to the front ends
// over IPC (messages in ipc/messages.h; architecture in docs/architecture.md).
//
// Contract:
//  - ServeControl() reads NewSession messages (each with a session-channel
//    fd) from one front end's control channel and serves each session in its
//    own thread, with the permissions of that front end: SMTP sessions may
//    verify SMTP passwords, check recipients and write messages; POP3
//    sessions may open one mailbox (POP3 password), read and expunge it. Both
//    may ask for the TLS identity and TLS signatures with the certificate's
//    key: ECDSA over a 32-byte digest (TlsEcdsaSignRequest), or, for a
//    certificate of the RSA server key, a padded block (TlsSignRequest,
//    IsSignatureBlock guard). A request for the other kind is refused.
//    With session TLS keys (set_session_tls) the identity is the current
//    session key's chain and generation, an ECDSA request is signed with the
//    generation it names (kNotFound once retired), and a request for the
//    token's own key (generation 0) is refused: the token only certifies.
//  - ServeControl() returns only on a control-channel error: kUnavailable
//    when the channel closed, kInvalidArgument when the front end sent
//    anything but NewSession+fd (fatal: the caller exits and the supervisor
//    restarts the key role).
//  - A malformed or unexpected message on a session channel ends that
//    session (logged, with the front end's name; never its content). All
//    session state (message in progress, open mailbox and its lock, data
//    keys) is destroyed when the session ends: a message without a committed
//    CommitRequest leaves nothing behind.
//  - SMTP sessions may change one block list (BlockListRequest, the server@
//    bot's SPAM commands): that of the user of the session's last successful
//    VerifySmtpPassword, never a user the front end names; without one,
//    kPermissionDenied. A failed VerifySmtpPassword forgets the user.
//  - SMTP sessions may also operate on mailing lists (ListRequest, the
//    server@ bot's LIST commands and RCPT to a list, mail/mailing_list.h) as
//    that same user, the actor of keys::KeyService::ApplyList; without one,
//    kPermissionDenied. An op out of range, a name that is not
//    mail::ValidListName, or a user argument with an op that takes none is
//    kInvalidArgument; the reply is the store's status and the record after
//    the op. List names and members are never logged. Without a login,
//    kPost and kLeave may name a remote member as the actor only at the
//    onion server that proved itself on the session: TkimProvenRequest with
//    a vouch that holds (server/tkim_vouch.h; else kUnauthenticated,
//    logged), and until the vouch expires; otherwise kUnauthenticated,
//    logged. A subverted front end cannot act for members at a server that
//    has not proved itself to this one within kTkimVouchLifetime.
//  - SMTP sessions may look up a VMAT alias (VmatLookupRequest, a RCPT to
//    the exit domain; keys::KeyService::LookupVmat): its target, or
//    kNotFound (also for a name that is no alias); aliases are not logged.
//    On a gateway ([exit] domain), the session's logged-in user may show,
//    make or remove their own alias (VmatOwnRequest, server@ VMAT; the name
//    is the user's, the target <user>@<domain>: mail/vmat.h Own()); making
//    it (or asking again) also makes it the user's sending alias; an alias
//    of another mailbox is never touched. Logged without a name.
//    On a gateway, a session may ask for a sender's sending alias
//    (VmatSenderRequest, for mail to the Internet; VmatTable::SenderAlias),
//    answered "alias@<exit domain>" only for the session's logged-in user
//    at this server or for a sender at the onion that proved itself by
//    TKIM on the session with a vouch that holds (VouchedFor); otherwise
//    kPermissionDenied, logged; kNotFound when there is none; not a
//    gateway: kFailedPrecondition.
//    On a gateway, a session whose TKIM-proven onion (a vouch that holds)
//    is in [exit] vmat_servers may show, make or remove the alias of one
//    of that server's users (VmatServerRequest, SMTP VMAT; mail/vmat.h
//    ForServer(): one alias per user, made its sending alias; an alias of
//    another mailbox is never touched); any other session is refused
//    (kPermissionDenied, logged). Logged without a name.
//  - SMTP sessions may also pass TORM requests (a peer server's PUSH, DERK,
//    STAT, KCTL) to `torm` (src/server/torm_handler.h); without one they are
//    answered kNotOffered.
//  - SMTP sessions may ask for the server's RSA key (ServerKeyRequest, for
//    `TKIM KEY`): the DER SubjectPublicKeyInfo given to set_server_key(),
//    the key that signs TORM requests and TKIM proofs; kNotFound when none
//    was given.
//  - SMTP sessions whose authenticated user is the operator's [bot] sysop may
//    have new registration vouchers made (IssueVouchersRequest, the server@
//    bot's VOUCHER command; keys::KeyService::AddVouchers): at most
//    ipc::kMaxIssuedVouchers per session; any other session, or past the
//    limit, is kPermissionDenied without touching the key store (logged).
//    The log counts vouchers, never shows one.
//  - POP3 sessions may register an account (RegisterRequest, POP3 RQUS,
//    mail/registration.h) through keys::KeyService::RegisterUser; the reply
//    is its status and, on kOk, the two generated passwords. A session gets
//    at most one successful registration and at most 3 failed ones; any
//    request past either limit is kPermissionDenied without touching the key
//    store, so a subverted front end triggers a bounded amount of KDF and
//    key-generation work per session. One log line per request names its
//    outcome's status keyword only: never the voucher, the name or a
//    password. SMTP sessions sending RegisterRequest are ended, as POP3
//    sessions sending ListRequest are.
//  - At most `max_sessions` sessions per front end; more are closed at once.
//  - Front ends never receive a private key, a password verifier or a data
//    key: only outcomes, public data, decrypted mail of an authenticated
//    mailbox, TLS signatures and the generated passwords of an account
//    registered on that session.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/thread_reuser.h"
#include "ipc/channel.h"
#include "mail/torm.h"
#include "mail/vmat.h"
#include "server/session_tls.h"
#include "server/state.h"
#include "server/tkim_vouch.h"
#include "server/tls_identity.h"

namespace onionmail::server {

enum class FrontEnd { kSmtp, kPop3 };

class KeyRoleServer {
 public:
  // `state` must outlive the server; `tls` is what LoadTlsIdentity() found.
  KeyRoleServer(State& state, TlsIdentity tls, uint32_t max_sessions);
  // TORM requests of SMTP sessions go to `torm` (may be null; must outlive
  // the server). Call before serving.
  void set_torm(mail::TormService* torm) { torm_ = torm; }
  // Handshakes signed with session TLS keys (may be null; must outlive the
  // server). Call before serving.
  void set_session_tls(SessionTlsKeys* keys) { session_tls_ = keys; }
  // The server's RSA key (DER SubjectPublicKeyInfo) for ServerKeyRequest.
  // Call before serving.
  void set_server_key(std::vector<uint8_t> spki_der) { server_key_ = std::move(spki_der); }
  // Checks the vouches of TkimProvenRequest (may be null: every vouch is
  // refused; must outlive the server). Call before serving.
  void set_tkim_vouches(const TkimVouches* vouches) { tkim_vouches_ = vouches; }

  Result<void> ServeControl(ipc::Channel control, FrontEnd front_end);

 private:
  void ServeSession(ipc::Channel channel, FrontEnd front_end);
  // Each returns false when the session must end.
  bool HandleCommon(ipc::Channel& ch, const ipc::Message& msg, const char* who);
  // A TLS handshake signature with the certificate's key; kPermissionDenied
  // (logged) for the other kind of request or an RSA block that is not a
  // signature encoding.
  Result<std::vector<uint8_t>> SignTls(const ipc::Message& msg, const char* who);
  bool HandleSmtp(ipc::Channel& ch, ipc::Message& msg, struct SmtpSessionState& s);
  // The server@ bot's SPAM commands: the block list of the session's user.
  bool HandleBlockList(ipc::Channel& ch, const ipc::BlockListRequest& m,
                       struct SmtpSessionState& s);
  // The server@ bot's LIST commands and RCPT to a list: `m.op` on the list
  // `m.name` by the session's user.
  bool HandleList(ipc::Channel& ch, const ipc::ListRequest& m, struct SmtpSessionState& s);
  // VmatOwnRequest, VmatLookupRequest, VmatSenderRequest and VmatServerRequest
  // (key_service_role_vmat.cc).
  bool HandleVmat(ipc::Channel& ch, const ipc::Message& msg, struct SmtpSessionState& s);
  Result<void> VmatOwn(mail::VmatOwnOp op, const struct SmtpSessionState& s);
  Result<std::string> VmatSender(std::string_view sender, const struct SmtpSessionState& s);
  Result<std::string> VmatForServer(mail::VmatOwnOp op, std::string_view user,
                                    std::string_view alias, const struct SmtpSessionState& s);
  // TKIM: the relay role's vouch for the onion that proved itself on the session.
  bool HandleTkimProven(ipc::Channel& ch, const ipc::TkimProvenRequest& m,
                        struct SmtpSessionState& s);
  bool HandlePop3(ipc::Channel& ch, ipc::Message& msg, struct Pop3SessionState& s);
  // POP3 RQUS: a new account with a voucher, within the session's limits.
  bool HandleRegister(ipc::Channel& ch, const ipc::RegisterRequest& m, struct Pop3SessionState& s);
  // server@ VOUCHER: new vouchers for the sysop, within the session's limit.
  bool HandleIssueVouchers(ipc::Channel& ch, const ipc::IssueVouchersRequest& m,
                           struct SmtpSessionState& s);

  State& state_;
  const TlsIdentity tls_;
  uint32_t max_sessions_;
  ThreadReuser session_threads_;  // one thread per session, reused
  mail::TormService* torm_ = nullptr;
  SessionTlsKeys* session_tls_ = nullptr;
  std::vector<uint8_t> server_key_;  // empty: ServerKeyRequest is kNotFound
  const TkimVouches* tkim_vouches_ = nullptr;
  std::atomic<uint32_t> smtp_sessions_{0};
  std::atomic<uint32_t> pop3_sessions_{0};
};

}  // namespace onionmail::server
