// Every SMTP reply the server sends, in one place (house rule 6).
//
// Contract:
//  - Each Reply names one fixed reply: basic code (RFC 5321), enhanced status
//    code (RFC 3463 / RFC 2034; omitted only where RFC 2034 forbids it: the
//    greeting, the EHLO/HELO lines and 334 challenges) and text.
//  - FormatReply() returns the complete line including CRLF. Replies marked
//    as naming the host get `hostname` inserted; no reply text ever contains
//    a user address, an AUTH argument or message content.
//  - EhloReply() builds the multi-line EHLO answer; the extension list depends
//    only on whether TLS is active (STARTTLS before it, AUTH after it unless
//    `auth_offered` is false: an Internet client of a gateway) and, inside
//    TLS, whether this server serves TORM, TKIM and VMAT (docs/PROTOCOL.md).
//  - FormatTormReply() is the answer to a TORM command: `250 2.0.0 <base64>`
//    on success, otherwise `<code> <enhanced> TORM refused: <keyword>` with
//    the fixed keyword of mail::TormOutcomeKeyword(): 450 4.7.1 rate limited,
//    451 4.3.0 temporary, 501 5.5.4 bad request, 502 5.5.1 not offered,
//    554 5.7.1 every other refusal.
//  - FormatTkimKeyReply() and FormatTkimAuthenticated() are the two TKIM
//    successes (docs/PROTOCOL.md, "TKIM"): `250 2.0.0 <base64 key>` and
//    `250 2.7.0 Authenticated as <domain>`; the domain is the one the TKIM
//    service proved (a v3 onion name checked by the session), never client
//    text. Every TKIM refusal is a fixed Reply (kTkim*).
//  - FormatVmatAddress() is the success of a VMAT command (docs/PROTOCOL.md,
//    "VMAT"): `250 2.0.0 <alias>@<exit domain>`, an address the key role gave
//    (checked by the session), never client text; every refusal is a fixed
//    Reply (kVmat*, kInsufficientStorage, kSealed, kLocalError).
//  - FormatRemoteReply() answers the client of a relayed transaction from the
//    remote server's reply to the same step (docs/federation.md, "Replies
//    passed back"): the remote's basic code where RFC 5321 (section 4.3.2)
//    allows it for the command the client sent, else the class default; the
//    remote's enhanced code when it is well-formed and of the same class,
//    else X.0.0; always this server's fixed text, never the remote's. A code
//    the step cannot have (3xx to RCPT, 2xx to DATA, anything outside
//    200..599) is a transport failure: kRemoteFailed, 451 4.4.2.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mail/relay.h"
#include "mail/torm.h"

namespace onionmail::smtp {

enum class Reply {
  kGreeting,               // 220 <host> ESMTP onionmaild
  kReadyForTls,            // 220 2.0.0
  kBye,                    // 221 2.0.0 <host>
  kHelp,                   // 214 2.0.0
  kAuthSuccess,            // 235 2.7.0
  kOk,                     // 250 2.0.0
  kSenderOk,               // 250 2.1.0
  kRecipientOk,            // 250 2.1.5
  kQueued,                 // 250 2.0.0 Ok: queued
  kBotAnswered,            // 250 2.0.0 (server@: the reply is in the sender's mailbox)
  kBotIgnored,             // 250 2.0.0 (server@: an automatic message, not answered)
  kListAccepted,           // 250 2.1.5 (a list: its members who can take the message)
  kListHeld,               // 250 2.1.5 (a moderated list: the post goes to its owner, held)
  kRelayedToAll,           // 250 2.0.0 (every remote server of the message took it)
  kRelayedPartly,          // 250 2.0.0 (some took it; a report on the others is in the mailbox)
  kRelayedPartlyNoReport,  // 250 2.0.0 (the same, but the report could not be stored)
  kListRelayedPartly,      // 250 2.0.0 (a remote member's post: some took it; no report)
  kBotListLeft,            // 250 2.0.0 (a member elsewhere asked server@ to leave a list)
  kHelo,                   // 250 <host>
  kCannotVrfy,             // 252 2.5.0
  kAuthChallengeEmpty,     // 334 (empty challenge, AUTH PLAIN)
  kAuthChallengeUser,      // 334 VXNlcm5hbWU6 ("Username:", AUTH LOGIN)
  kAuthChallengePassword,  // 334 UGFzc3dvcmQ6 ("Password:", AUTH LOGIN)
  kStartData,              // 354
  kTimeout,                // 421 4.4.2 <host>
  kTooManyAuthFailures,    // 421 4.7.0 <host>
  kTooManyUnknownRcpts,    // 421 4.7.0 <host> (smtp.max_unknown_recipients)
  kLocalError,             // 451 4.3.0
  kRelayBusy,              // 451 4.3.2 (too many relayed transactions at once)
  kTkimBusy,               // 451 4.3.2 (TKIM: too many connections out at once)
  kTkimSenderUnreachable,  // 451 4.4.1 (TKIM: the sender's onion did not give its key)
  kTkimRequiredLater,      // 451 4.7.1 (require_tkim: the proof could not be checked now)
  kRemoteUnreachable,      // 451 4.4.1 (Tor cannot reach the remote onion)
  kRemoteFailed,           // 451 4.4.2 (remote closed, malformed reply, timeout)
  kRemoteNoTls,            // 451 4.7.5 (remote offers no STARTTLS with TLS 1.3)
  kSealed,                 // 451 4.3.0 server sealed (master key not unsealed yet)
  kTooManyRecipients,      // 452 4.5.3
  kOtherDestination,       // 452 4.5.3 (server@ or a list: the one recipient of its transaction)
  kTooManyServers,         // 452 4.5.3 (more remote servers than SessionConfig allows)
  kInsufficientStorage,    // 452 4.3.1 (below store.min_free_mib)
  kMailboxFull,            // 452 4.2.2 (the recipient's store.mailbox_quota_mib)
  kListNoMemberCanTake,    // 452 4.2.2 (no member of the list can take the message now)
  kAuthTemporaryFailure,   // 454 4.7.0
  kUnknownCommand,         // 500 5.5.1
  kLineTooLong,            // 500 5.5.2
  kNulInCommand,           // 500 5.5.2
  kSyntaxError,            // 501 5.5.4
  kBadAddressSyntax,       // 501 5.1.3
  kBadSenderSyntax,        // 501 5.1.7
  kBadBase64,              // 501 5.5.2
  kAuthCancelled,          // 501 5.7.0
  kNotImplemented,         // 502 5.5.1
  kNoAuthFromInternet,     // 502 5.7.0 (an Internet client of a gateway: docs/gateways.md)
  kBadSequence,            // 503 5.5.1
  kNeedHelo,               // 503 5.5.1
  kNeedMail,               // 503 5.5.1
  kNeedRcpt,               // 503 5.5.1
  kNestedMail,             // 503 5.5.1
  kAlreadyTls,             // 503 5.5.1
  kAlreadyAuthenticated,   // 503 5.5.1
  kAuthInTransaction,      // 503 5.5.1
  kTkimInTransaction,      // 503 5.5.1
  kTkimAlreadyProven,      // 503 5.5.1 (one TKIM proof per session)
  kTkimNotOffered,         // 502 5.5.1 (TLS without a channel binding: not TLS 1.3)
  kTkimMalformed,          // 501 5.5.4 (bad base64, empty, too long, malformed proof)
  kVmatSyntax,             // 501 5.5.4 (VMAT ON <user> <alias> | SHOW <user> | OFF <user>)
  kVmatInTransaction,      // 503 5.5.1
  kVmatNeedsTkim,          // 530 5.7.0 (VMAT: prove the asking server by TKIM first)
  kVmatNotListed,          // 550 5.7.1 (VMAT: the proven server is not in [exit] vmat_servers)
  kVmatNoAlias,            // 550 5.1.1 (VMAT: the user has no alias here)
  kVmatHasAnother,         // 550 5.7.0 (VMAT ON: the user has another alias here)
  kVmatTaken,              // 553 5.1.0 (VMAT ON: the alias leads to another mailbox)
  kVmatBadName,            // 553 5.1.3 (VMAT ON: not a valid alias, or a reserved name)
  kUnknownMechanism,       // 504 5.5.4
  kBareLineEnding,         // 521 5.5.2
  kTlsRequired,            // 530 5.7.0
  kAuthRequired,           // 530 5.7.0
  kAuthFailed,             // 535 5.7.8
  kTkimRefused,            // 535 5.7.8 (signature, receiver, time or key refused)
  kNoExitAddress,          // 550 5.7.1 (the sender has no alias at this exit gateway)
  kExitRefused,            // 550 5.7.1 (the header names an onion, or another sender)
  kRelayDenied,            // 550 5.7.1
  kTkimOtherOnion,         // 550 5.7.1 (MAIL FROM another onion than the proven one)
  kTkimRequired,           // 550 5.7.1 (require_tkim: an onion sender without a proof)
  kBotUsersOnly,           // 550 5.7.1 (server@ answers only this server's logged-in users)
  kSenderBlocked,          // 550 5.7.1 (the recipient's block list holds the sender)
  kListMembersOnly,        // 550 5.7.1 (a list takes posts only from its logged-in members)
  kListOwnerPostsOnly,     // 550 5.7.1 (an announce list takes posts only from its owner)
  kBotRemoteLeaveOnly,     // 550 5.7.1 (server@ takes only LIST <name> LEAVE from elsewhere)
  kUserUnknown,            // 550 5.1.1
  kRemoteNo8Bit,           // 550 5.6.3 (BODY=8BITMIME, the remote offers no 8BITMIME)
  kMessageTooBig,          // 552 5.3.4
  kSenderNotOwned,         // 553 5.7.1
  kNulInData,              // 554 5.6.0
  kTooManyHops,            // 554 5.4.6 (more Received headers than the limit: a mail loop)
  kUnknownParameter,       // 555 5.5.4
};

// The three-digit basic code of `reply` (e.g. 250).
int ReplyCode(Reply reply);

// The complete reply line, CRLF-terminated.
std::string FormatReply(Reply reply, std::string_view hostname);

// The multi-line 250 answer to EHLO.
std::string EhloReply(std::string_view hostname, uint64_t max_message_bytes, bool tls_active,
                      bool torm_offered = false, bool tkim_offered = false,
                      bool auth_offered = true, bool vmat_offered = false);

// The step of a relayed transaction a remote server answered.
enum class RemoteStep {
  kMail,  // MAIL FROM, answered to the client's first remote RCPT (never 2xx here)
  kRcpt,  // RCPT TO
  kData,  // DATA (never 354 here: the session answers that itself)
  kEnd,   // the final dot
};

// True when `code` is an answer the remote may give to `step` and the client
// may be given (RFC 5321 section 4.3.2): 4xx or 5xx, and 2xx to kRcpt and
// kEnd. False means a transport failure.
bool IsUsableRemoteCode(RemoteStep step, int code);

// The client's answer to its command from the remote's reply to `step`.
std::string FormatRemoteReply(RemoteStep step, const mail::RelayReply& remote);

// The answer to a TORM command (payload_base64 only with TormOutcome::kOk).
std::string FormatTormReply(mail::TormOutcome outcome, std::string_view payload_base64);

// The answer to `TKIM KEY`: 250 2.0.0 and this server's key in base64.
std::string FormatTkimKeyReply(std::string_view key_base64);

// The answer to a TKIM proof that the service accepted for `domain`.
std::string FormatTkimAuthenticated(std::string_view domain);

// The answer to a VMAT command that succeeded: the user's alias address.
std::string FormatVmatAddress(std::string_view address);

}  // namespace onionmail::smtp
