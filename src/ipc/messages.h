// ipc/messages.h: THE one file listing every message that crosses a process
// boundary (supervisor, key role, SMTP and POP3 front ends, peer and relay
// roles; see docs/architecture.md). Nothing else defines an IPC message.
//
// Contract:
//  - Every message is a struct with `static constexpr MsgType kType`; Message
//    is the std::variant of all of them. A new message needs a MsgType
//    (ipc/bounds.h), a struct, a variant alternative and a codec case.
//  - Every variable-length field has a maximum (ipc/bounds.h) the codec enforces.
//  - "Name" fields: no byte < 0x20, no 0x7f; only requests' `user`, `purpose` must be non-empty.
//  - Secrets (passwords, data keys) are SecretBytes, never std::string.
//  - Wire layout (ipc/codec.h): u32 BE length || u16 BE type || u16 BE
//    version || payload, fields in declared order. Shared enums: ipc/status.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "ipc/bounds.h"
#include "ipc/status.h"
#include "mail/torm.h"

namespace onionmail::ipc {

// First message on every channel, both directions.
struct Hello {
  static constexpr MsgType kType = MsgType::kHello;
  Role role = Role::kSupervisor;
  uint16_t version = kProtocolVersion;  // must equal kProtocolVersion
};

// Supervisor -> role: finish in-flight work and exit. No fields.
struct Shutdown {
  static constexpr MsgType kType = MsgType::kShutdown;
};

// Supervisor -> front end: the attached fd (SCM_RIGHTS) is an accepted client
// connection from listener `listener_id`. Only valid with an fd attached.
struct AcceptedConnection {
  static constexpr MsgType kType = MsgType::kAcceptedConnection;
  uint16_t listener_id = 0;
};

// SMTP -> key role: check AUTH credentials. Answered by VerifyResult.
struct VerifySmtpPasswordRequest {
  static constexpr MsgType kType = MsgType::kVerifySmtpPasswordRequest;
  std::string user;      // name, 1..kMaxUserBytes
  SecretBytes password;  // 0..kMaxPasswordBytes
};

struct VerifyResult {
  static constexpr MsgType kType = MsgType::kVerifyResult;
  Status status = Status::kOk;  // kUnauthenticated for unknown user or wrong password
};

// SMTP -> key role: public data to deliver to a local user.
struct LookupUserRequest {
  static constexpr MsgType kType = MsgType::kLookupUserRequest;
  std::string user;  // name, 1..kMaxUserBytes
};

struct LookupUserReply {
  static constexpr MsgType kType = MsgType::kLookupUserReply;
  Status status = Status::kOk;                // kNotFound for unknown users
  std::string mailbox_id;                     // name, 0..kMaxMailboxIdBytes
  std::vector<uint8_t> public_key;            // 0..kMaxPublicKeyBytes
  std::array<uint8_t, kKeyIdBytes> key_id{};  // fixed size
};

// POP3 -> key role: unlock the inbox key; the key stays in the key role.
struct OpenInboxRequest {
  static constexpr MsgType kType = MsgType::kOpenInboxRequest;
  std::string user;      // name, 1..kMaxUserBytes
  SecretBytes password;  // 0..kMaxPasswordBytes
};

struct OpenInboxReply {
  static constexpr MsgType kType = MsgType::kOpenInboxReply;
  Status status = Status::kOk;
  uint64_t session_id = 0;  // handle for UnwrapDataKey/CloseInbox; 0 on error
};

// POP3 -> key role: unwrap one message's data key under an open session.
struct UnwrapDataKeyRequest {
  static constexpr MsgType kType = MsgType::kUnwrapDataKeyRequest;
  uint64_t session_id = 0;
  std::vector<uint8_t> wrapped;  // 1..kMaxWrappedKeyBytes
};

struct UnwrapDataKeyReply {
  static constexpr MsgType kType = MsgType::kUnwrapDataKeyReply;
  Status status = Status::kOk;
  SecretBytes data_key;  // 0..kMaxDataKeyBytes (empty on error)
};

// POP3 -> key role: forget the session's unlocked key. No reply.
struct CloseInboxRequest {
  static constexpr MsgType kType = MsgType::kCloseInboxRequest;
  uint64_t session_id = 0;
};

// Store/front end -> key role: keyed hash name of `data` for `purpose`.
struct HashedNameRequest {
  static constexpr MsgType kType = MsgType::kHashedNameRequest;
  std::string purpose;  // name, 1..kMaxPurposeBytes
  std::string data;     // arbitrary bytes, 0..kMaxHashDataBytes
};

struct HashedNameReply {
  static constexpr MsgType kType = MsgType::kHashedNameReply;
  Status status = Status::kOk;
  std::string name;  // name (hex), 0..kMaxHashedNameBytes
};

// ---------------------------------------------------------------------------
// Front end <-> key role: docs/architecture.md, "IPC channels".

// Front end -> key role, control channel: the attached fd (SCM_RIGHTS) is a
// new session channel. Only valid with an fd attached. No reply.
struct NewSession {
  static constexpr MsgType kType = MsgType::kNewSession;
};

// Generic outcome of a request that returns nothing else.
struct StatusReply {
  static constexpr MsgType kType = MsgType::kStatusReply;
  Status status = Status::kOk;
};

// SMTP: is `local_part` a user here, with room for the message, taking mail
// from `sender`? StatusReply: kOk, kNotFound, kRefused (the user's block
// list); kResourceExhausted (the disk's reserve), kMailboxFull (the quota)
// and any other code are temporary failures.
struct CheckRecipientRequest {
  static constexpr MsgType kType = MsgType::kCheckRecipientRequest;
  std::string local_part;      // name, 1..kMaxLocalPartBytes
  uint64_t declared_size = 0;  // MAIL FROM SIZE= (RFC 1870); 0: none declared
  std::string sender;          // MAIL FROM reverse path, 0..kMaxPathBytes (recipient's block list)
};

// SMTP: start one message for these recipients (discarding one not committed); StatusReply.
struct BeginMessageRequest {
  static constexpr MsgType kType = MsgType::kBeginMessageRequest;
  std::string reverse_path;              // name, 0..kMaxPathBytes
  std::vector<std::string> local_parts;  // 1..kMaxRecipients names of 1..kMaxLocalPartBytes
};

// SMTP: message bytes (dot-unstuffed, CRLF). No reply (CommitRequest's tells).
struct AppendRequest {
  static constexpr MsgType kType = MsgType::kAppendRequest;
  std::vector<uint8_t> data;  // 1..kMaxChunkBytes
};

// SMTP: make the message durable for all. StatusReply kOk only after fsync.
struct CommitRequest {
  static constexpr MsgType kType = MsgType::kCommitRequest;
};

// SMTP: discard the message in progress (RSET, client gone). No reply.
struct AbortMessageRequest {
  static constexpr MsgType kType = MsgType::kAbortMessageRequest;
};

// POP3: release the mailbox and its lock (QUIT: RFC 1939 UPDATE ends before
// +OK, so the client may log in again at once). StatusReply (kOk if none open).
struct CloseMailboxRequest {
  static constexpr MsgType kType = MsgType::kCloseMailboxRequest;
};

// POP3: authenticate with the POP3 password and lock the mailbox. Answered
// by OpenMailboxReply, then (on kOk) MailboxListing frames carrying exactly
// `count` entries in total.
struct OpenMailboxRequest {
  static constexpr MsgType kType = MsgType::kOpenMailboxRequest;
  std::string user;      // name, 1..kMaxUserBytes
  SecretBytes password;  // 0..kMaxPasswordBytes
};

struct OpenMailboxReply {
  static constexpr MsgType kType = MsgType::kOpenMailboxReply;
  Status status = Status::kOk;  // kUnauthenticated, kFailedPrecondition (locked), ...
  uint32_t count = 0;           // messages in the mailbox (0 on error)
};

struct MessageEntry {
  std::string uid;    // name, 1..kMaxUidBytes
  uint64_t size = 0;  // octets before dot-stuffing
};

struct MailboxListing {
  static constexpr MsgType kType = MsgType::kMailboxListing;
  std::vector<MessageEntry> entries;  // 1..kMaxListingEntries
};

// POP3: stream message `index` (0-based): MessageChunk frames, then one
// StatusReply ending the stream (kOk or the error).
struct ReadMessageRequest {
  static constexpr MsgType kType = MsgType::kReadMessageRequest;
  uint32_t index = 0;
};

struct MessageChunk {
  static constexpr MsgType kType = MsgType::kMessageChunk;
  std::vector<uint8_t> data;  // 1..kMaxChunkBytes (decrypted mail: wiped after use)
};

// POP3 UPDATE state: delete these messages durably. StatusReply.
struct ExpungeRequest {
  static constexpr MsgType kType = MsgType::kExpungeRequest;
  std::vector<uint32_t> indices;  // 1..kMaxExpungeIndices, each < count
};

// Both front ends: the RSA private operation of a TLS handshake signature
// with the server key over the padded block; the key role refuses anything
// but a PKCS#1 v1.5 signature block or a PSS encoding (no decryption oracle).
struct TlsSignRequest {
  static constexpr MsgType kType = MsgType::kTlsSignRequest;
  std::vector<uint8_t> block;  // kMinRsaBlockBytes..kMaxRsaBlockBytes
};

// Both front ends: an ECDSA P-256 handshake signature with the TLS key
// (server/tls_identity.h): `digest` the handshake hash cut or left-padded to
// 32 bytes, reply r || s; kPermissionDenied for an RSA certificate.
// `generation` 0: the token's TLS key (refused with session keys,
// server/session_tls.h); else that session key (kNotFound once retired).
struct TlsEcdsaSignRequest {
  static constexpr MsgType kType = MsgType::kTlsEcdsaSignRequest;
  std::vector<uint8_t> digest;  // exactly kEcdsaDigestBytes
  uint32_t generation = 0;
};

// The answer to TlsSignRequest and TlsEcdsaSignRequest.
struct TlsSignReply {
  static constexpr MsgType kType = MsgType::kTlsSignReply;
  Status status = Status::kOk;
  std::vector<uint8_t> signature;  // 0..kMaxRsaBlockBytes
};

// Both front ends, at start-up: the certificate chain and public key to
// build the TLS context without opening a file.
struct TlsIdentityRequest {
  static constexpr MsgType kType = MsgType::kTlsIdentityRequest;
};

// `generation`: 0 for the token's own certificate and key; otherwise the
// session TLS key the chain is for (to name in TlsEcdsaSignRequest).
struct TlsIdentityReply {
  static constexpr MsgType kType = MsgType::kTlsIdentityReply;
  Status status = Status::kOk;
  std::vector<uint8_t> certificate_pem;  // 0..kMaxCertificateBytes
  std::vector<uint8_t> public_key;       // DER SubjectPublicKeyInfo, 0..kMaxPublicKeyBytes
  uint32_t generation = 0;
};

// SMTP -> key role: a TORM command a peer server sent inside TLS 1.3
// (mail/torm.h, docs/PROTOCOL.md). `channel_binding` is the RFC 9266
// tls-exporter value of that TLS connection; signed requests must cover it. TormReply.
struct TormRequest {
  static constexpr MsgType kType = MsgType::kTormRequest;
  mail::TormVerb verb = mail::TormVerb::kStat;  // u16 on the wire, 1..kMaxTormVerb
  mail::ChannelBinding channel_binding{};       // fixed size
  std::vector<uint8_t> blob;                    // 1..mail::kMaxTormBlobBytes
};

struct TormReply {
  static constexpr MsgType kType = MsgType::kTormReply;
  mail::TormOutcome outcome = mail::TormOutcome::kOk;  // u16 on the wire, 0..kMaxTormOutcome
  std::vector<uint8_t> blob;                           // 0..mail::kMaxTormBlobBytes
};

// ---------------------------------------------------------------------------
// Peer role <-> key role: docs/architecture.md, "IPC channels".

// Peer role -> key role: which peers should be asked now. UnsealPlan.
struct UnsealPlanRequest {
  static constexpr MsgType kType = MsgType::kUnsealPlanRequest;
};

struct UnsealTarget {
  uint16_t index = 0;                    // the peer's index in the enrolment
  std::string address;                   // name, 1..kMaxPeerAddressBytes ("host:port")
  std::array<uint8_t, kPinBytes> pin{};  // fixed size
};

struct UnsealPlan {
  static constexpr MsgType kType = MsgType::kUnsealPlan;
  bool enrolled = false;              // u16 0/1 on the wire
  bool sealed = false;                // u16 0/1
  std::vector<UnsealTarget> targets;  // 0..kMaxUnsealTargets: peers not yet answered
};

// Peer role -> key role, once TLS to peer `index` is up: build the signed
// DERK request (fresh blinding) for this connection's channel binding.
struct DerkPrepareRequest {
  static constexpr MsgType kType = MsgType::kDerkPrepareRequest;
  uint16_t index = 0;
  mail::ChannelBinding channel_binding{};  // fixed size
};

struct DerkPrepareReply {
  static constexpr MsgType kType = MsgType::kDerkPrepareReply;
  Status status = Status::kOk;  // kFailedPrecondition: not sealed / peer already answered
  std::vector<uint8_t> blob;    // 0..mail::kMaxTormBlobBytes (signed request)
};

// Peer role -> key role: what peer `index` answered, or that it could not be
// reached. Answered by UnsealProgress.
struct DerkResultRequest {
  static constexpr MsgType kType = MsgType::kDerkResultRequest;
  uint16_t index = 0;
  bool reached = false;  // u16 0/1; false: transport failure, see detail
  mail::TormOutcome outcome = mail::TormOutcome::kTemporary;  // u16; meaningful when reached
  std::vector<uint8_t> reply;  // 0..mail::kMaxTormBlobBytes: the DERK reply when kOk
  std::string detail;          // name, 0..kMaxDetailBytes ("connect: refused", ...)
};

struct UnsealProgress {
  static constexpr MsgType kType = MsgType::kUnsealProgress;
  Status status = Status::kOk;  // kDataLoss: the peer answered wrongly
  bool sealed = true;           // u16 0/1
  uint16_t shares_held = 0;
  uint16_t threshold = 0;
};

// Peer role -> key role: KCTL certificates to pass on to other peers (this
// server acting as a peer applied them). ForwardList; each item given once.
struct ForwardPollRequest {
  static constexpr MsgType kType = MsgType::kForwardPollRequest;
};

struct ForwardItem {
  std::vector<uint8_t> certificate;      // 1..kMaxKctlCertBytes
  std::string address;                   // name, 1..kMaxPeerAddressBytes
  std::array<uint8_t, kPinBytes> pin{};  // fixed size
};

struct ForwardList {
  static constexpr MsgType kType = MsgType::kForwardList;
  std::vector<ForwardItem> items;  // 0..kMaxForwardItems
};

// ---------------------------------------------------------------------------
// SMTP front end <-> relay role: docs/architecture.md, "IPC channels".

// Front end -> relay role: connect to `domain` (a v3 onion name; anything
// else is refused with kInvalidArgument without connecting) and send MAIL.
// `declared_size` > 0 is declared as SIZE= when the remote offers SIZE;
// `body_8bitmime` as BODY=8BITMIME, and a remote without 8BITMIME gets no
// MAIL (RelayReply kPermissionDenied).
struct RelayBeginRequest {
  static constexpr MsgType kType = MsgType::kRelayBeginRequest;
  std::string domain;          // name, 1..kMaxRelayDomainBytes
  std::string reverse_path;    // name, 0..kMaxPathBytes (empty: the null sender "<>")
  uint64_t declared_size = 0;  // 0: none declared
  bool body_8bitmime = false;  // u16 0/1 on the wire
};

// Front end -> relay role: RCPT TO, after a 2xx to MAIL. RelayReply.
struct RelayRcptRequest {
  static constexpr MsgType kType = MsgType::kRelayRcptRequest;
  std::string forward_path;  // name, 1..kMaxPathBytes ("local@domain")
};

// Front end -> relay role: DATA, after a 2xx to some RCPT. RelayReply (354:
// send the message; anything else closes the connection).
struct RelayDataRequest {
  static constexpr MsgType kType = MsgType::kRelayDataRequest;
};

// Front end -> relay role: message bytes after a 354 (dot-unstuffed, CRLF;
// the relay role dot-stuffs them again). No reply: a failure is kept and
// reported by the RelayEndRequest's RelayReply. Mail in clear: both ends
// wipe it after use.
struct RelayAppendRequest {
  static constexpr MsgType kType = MsgType::kRelayAppendRequest;
  std::vector<uint8_t> data;  // 1..kMaxChunkBytes
};

// Front end -> relay role: send the final dot. RelayReply: the remote's
// answer (250: the remote has the message).
struct RelayEndRequest {
  static constexpr MsgType kType = MsgType::kRelayEndRequest;
};

// Relay role -> front end: the remote's reply (kOk, code and enhanced code;
// never its text), or a failure it did not answer, code 0: kUnavailable
// (unreachable, closed, malformed), kDeadlineExceeded, kFailedPrecondition
// (no STARTTLS/TLS 1.3, no proxy), kInvalidArgument (not an onion),
// kPermissionDenied (8-bit body, no 8BITMIME), kResourceExhausted (busy).
struct RelayReply {
  static constexpr MsgType kType = MsgType::kRelayReply;
  Status status = Status::kOk;
  uint16_t code = 0;  // 200..599 when status is kOk, else 0
  // name, 0..kMaxEnhancedCodeBytes: empty, or "c.s.d" with c the code's
  // first digit and s, d of 1..3 digits (RFC 3463); empty unless kOk.
  std::string enhanced;
};

// ---------------------------------------------------------------------------
// TKIM: which onion server relays a message (docs/PROTOCOL.md, "TKIM").

// SMTP front end -> key role, on a session link: this server's RSA key (the
// one that signs TORM requests and TKIM proofs), for `TKIM KEY`.
struct ServerKeyRequest {
  static constexpr MsgType kType = MsgType::kServerKeyRequest;
};

struct ServerKeyReply {
  static constexpr MsgType kType = MsgType::kServerKeyReply;
  Status status = Status::kOk;
  std::vector<uint8_t>
      spki_der;  // DER SubjectPublicKeyInfo, 0..kMaxPublicKeyBytes (empty unless kOk)
};

// SMTP: the server@ bot edits the block list (mail/block_list.h) of the user
// authenticated on this session (the last successful VerifySmtpPassword on
// it; kPermissionDenied without one). BlockListReply.
struct BlockListRequest {
  static constexpr MsgType kType = MsgType::kBlockListRequest;
  uint16_t op = 0;    // mail::BlockListOp, 0..3
  std::string entry;  // canonical for add/delete, else empty; 0..kMaxBlockEntryBytes
};

struct BlockListReply {
  static constexpr MsgType kType = MsgType::kBlockListReply;
  Status status = Status::kOk;
  std::vector<std::string>
      entries;  // the list after the op, 0..kMaxBlockEntries (empty unless kOk)
};

// SMTP: `op` on the mailing list `name` (mail/mailing_list.h) by the session's
// user (last successful VerifySmtpPassword; else kPermissionDenied): server@
// LIST commands, and kPost at RCPT; without a login, kPost and kLeave by the
// remote member `user`, whose server proved itself on this session
// (TkimProvenRequest; else kUnauthenticated). ListReply.
struct ListRequest {
  static constexpr MsgType kType = MsgType::kListRequest;
  uint16_t op = 0;   // mail::ListOp, 0..mail::kMaxListOp
  std::string name;  // the list's name (no ".list"), 1..kMaxListNameBytes
  std::string user;  // add/remove: a member; remote post/leave: the actor; 0..kMaxListMemberBytes
};

// The list after the op (none for kDestroy and any status but kOk).
struct ListReply {
  static constexpr MsgType kType = MsgType::kListReply;
  Status status = Status::kOk;
  std::string owner;                 // name, 0..kMaxLocalPartBytes
  std::vector<std::string> members;  // 0..kMaxListMembers, each 1..kMaxListMemberBytes
  bool announce = false;             // u16 0/1: only the owner posts
  bool moderated = false;            // u16 0/1: members' posts held (never both)
};

// POP3 RQUS (mail/registration.h): open the account `user` with `voucher`. At
// most 1 success and 3 failures a session; past them kPermissionDenied.
struct RegisterRequest {
  static constexpr MsgType kType = MsgType::kRegisterRequest;
  SecretBytes voucher;  // canonical: exactly kVoucherBytes of "a".."z", "2".."7"
  std::string user;     // name, 1..kMaxLocalPartBytes
};

// mail::RegistrationService::Register()'s outcome. kOk: the account exists
// and these passwords (generated, of the voucher alphabet) are nowhere else.
struct RegisterReply {
  static constexpr MsgType kType = MsgType::kRegisterReply;
  Status status = Status::kOk;
  SecretBytes smtp_password;  // exactly kGeneratedPasswordBytes when kOk, else empty
  SecretBytes pop3_password;  // the same
};

// SMTP: server@ VOUCHER: `count` new vouchers for the session's user, who must
// be [bot] sysop (else, or past kMaxIssuedVouchers a session, kPermissionDenied).
struct IssueVouchersRequest {
  static constexpr MsgType kType = MsgType::kIssueVouchersRequest;
  uint16_t count = 0;  // 1..kMaxIssuedVouchers
};

// kOk: the vouchers (kVoucherBytes of the voucher alphabet each), durable.
struct IssueVouchersReply {
  static constexpr MsgType kType = MsgType::kIssueVouchersReply;
  Status status = Status::kOk;
  std::vector<SecretBytes> vouchers;  // 0..kMaxIssuedVouchers (1.. when kOk)
};

// Relay role -> key role, on the relay role's key channel (made by the
// supervisor), once TLS to `receiver_domain` is up and it offers TKIM: a
// proof (unseal/tkim_wire.h) that this server is relaying, signed for this
// connection's channel binding. The key role fills in its own domain and its
// clock; it refuses (kInvalidArgument) a receiver that is not a v3 onion or
// is this server.
struct TkimProofRequest {
  static constexpr MsgType kType = MsgType::kTkimProofRequest;
  std::string receiver_domain;             // name, 1..kMaxRelayDomainBytes
  mail::ChannelBinding channel_binding{};  // fixed size
};

struct TkimProofReply {
  static constexpr MsgType kType = MsgType::kTkimProofReply;
  Status status = Status::kOk;
  std::vector<uint8_t> proof;  // 0..mail::kMaxTormBlobBytes (signed request; empty unless kOk)
};

// SMTP front end -> relay role, as the first request on a new session
// channel (NewSession on the relay control channel): check a client's
// `TKIM <proof>` for the channel binding of the client's TLS connection,
// including the call-back that fetches the sender's key from its onion. The
// session channel is closed after the reply.
struct TkimCheckRequest {
  static constexpr MsgType kType = MsgType::kTkimCheckRequest;
  mail::ChannelBinding channel_binding{};  // fixed size
  std::vector<uint8_t> proof;              // 1..mail::kMaxTormBlobBytes
};

// kOk: `sender_domain` (a v3 onion) is proven; `vouch`: the key role's for it
// (empty if none came). Else both empty; kInvalidArgument malformed, or not a
// v3 onion; kUnauthenticated signature, receiver, time or key refused;
// kUnavailable / kDeadlineExceeded no key from the onion; kResourceExhausted busy.
struct TkimCheckReply {
  static constexpr MsgType kType = MsgType::kTkimCheckReply;
  Status status = Status::kOk;
  std::string sender_domain;   // name, 0..kMaxRelayDomainBytes
  std::vector<uint8_t> vouch;  // 0 or exactly kTkimVouchBytes
};

// Relay role -> key role, after a TkimCheckRequest's proof held: vouch
// (server/tkim_vouch.h) that `sender_domain`, another v3 onion, proved itself.
// The reply names the domain again, so that a late reply is known as such.
struct TkimVouchRequest {
  static constexpr MsgType kType = MsgType::kTkimVouchRequest;
  std::string sender_domain;  // name, 1..kMaxRelayDomainBytes
};

struct TkimVouchReply {
  static constexpr MsgType kType = MsgType::kTkimVouchReply;
  Status status = Status::kOk;
  std::string sender_domain;   // the request's; name, 1..kMaxRelayDomainBytes
  std::vector<uint8_t> vouch;  // exactly kTkimVouchBytes when kOk, else empty
};

// SMTP front end -> key role, after `TKIM <proof>` held: the relay role's
// vouch. StatusReply kOk: the session may name members at `sender_domain` in
// ListRequest; kUnauthenticated: the vouch does not hold (or has expired).
struct TkimProvenRequest {
  static constexpr MsgType kType = MsgType::kTkimProvenRequest;
  std::string sender_domain;   // name, 1..kMaxRelayDomainBytes
  std::vector<uint8_t> vouch;  // exactly kTkimVouchBytes
};

// SMTP -> key role (mail/vmat.h). VmatLookupRequest, at a RCPT to the exit
// domain: the alias's target in VmatLookupReply (kNotFound: none).
// VmatSenderRequest, at a RCPT to the Internet: the sending alias of
// `sender`, "alias@<exit domain>" in VmatLookupReply.target, for the
// session's own user or a sender at its TKIM-proven onion only (else
// kPermissionDenied). VmatOwnRequest (server@ VMAT): Own(); StatusReply.
// VmatServerRequest (SMTP VMAT): ForServer(), "alias@<exit domain>" in
// VmatLookupReply.target. RelayVmatRequest, front end -> relay role, first on
// a session of its own: AskGateway() of [relay] exit_gateway, answered alike.
struct VmatLookupRequest {
  static constexpr MsgType kType = MsgType::kVmatLookupRequest;
  std::string alias;  // name, 1..kMaxLocalPartBytes
};

struct VmatLookupReply {
  static constexpr MsgType kType = MsgType::kVmatLookupReply;
  Status status = Status::kOk;
  std::string target;  // "user@<v3 onion>" when kOk, else empty; 0..kMaxPathBytes
};

struct VmatOwnRequest {
  static constexpr MsgType kType = MsgType::kVmatOwnRequest;
  uint16_t op = 0;  // mail::VmatOwnOp, 0..2
};
struct VmatSenderRequest {
  static constexpr MsgType kType = MsgType::kVmatSenderRequest;
  std::string sender;  // "local@<v3 onion>" as sent; path, 1..kMaxPathBytes
};
struct VmatServerRequest {
  static constexpr MsgType kType = MsgType::kVmatServerRequest;
  uint16_t op = 0;    // mail::VmatOwnOp, 0..2
  std::string user;   // name, 1..kMaxLocalPartBytes
  std::string alias;  // name, 0..kMaxLocalPartBytes (empty but for kOn)
};
struct RelayVmatRequest {  // the fields of VmatServerRequest
  static constexpr MsgType kType = MsgType::kRelayVmatRequest;
  uint16_t op = 0;
  std::string user;
  std::string alias;
};

using Message = std::variant<
    Hello, Shutdown, AcceptedConnection, VerifySmtpPasswordRequest, VerifyResult, LookupUserRequest,
    LookupUserReply, OpenInboxRequest, OpenInboxReply, UnwrapDataKeyRequest, UnwrapDataKeyReply,
    CloseInboxRequest, HashedNameRequest, HashedNameReply, NewSession, StatusReply,
    CheckRecipientRequest, BeginMessageRequest, AppendRequest, CommitRequest, AbortMessageRequest,
    OpenMailboxRequest, OpenMailboxReply, MailboxListing, ReadMessageRequest, MessageChunk,
    ExpungeRequest, TlsSignRequest, TlsSignReply, TlsIdentityRequest, TlsIdentityReply, TormRequest,
    TormReply, UnsealPlanRequest, UnsealPlan, DerkPrepareRequest, DerkPrepareReply,
    DerkResultRequest, UnsealProgress, ForwardPollRequest, ForwardList, CloseMailboxRequest,
    TlsEcdsaSignRequest, RelayBeginRequest, RelayRcptRequest, RelayDataRequest, RelayAppendRequest,
    RelayEndRequest, RelayReply, ServerKeyRequest, ServerKeyReply, TkimProofRequest, TkimProofReply,
    TkimCheckRequest, TkimCheckReply, BlockListRequest, BlockListReply, ListRequest, ListReply,
    RegisterRequest, RegisterReply, TkimVouchRequest, TkimVouchReply, TkimProvenRequest,
    IssueVouchersRequest, IssueVouchersReply, VmatLookupRequest, VmatLookupReply, VmatOwnRequest,
    VmatSenderRequest, VmatServerRequest, RelayVmatRequest>;

inline MsgType TypeOf(const Message& m) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::kType; }, m);
}

}  // namespace onionmail::ipc
