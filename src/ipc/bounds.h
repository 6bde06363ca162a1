// ipc/bounds.h: the IPC protocol version, the frame limit, the wire number of
// every message type (MsgType) and the bound of every variable-length field
// of the messages in ipc/messages.h (in bytes unless said otherwise). The
// codec (ipc/codec.h) refuses to encode or decode anything outside them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace onionmail::ipc {

// Bumped on any change of a message's wire layout; both ends must agree.
inline constexpr uint16_t kProtocolVersion =
    12;  // 5: lists; 6: registration; 7: TKIM vouches, moderated lists,
         // sysop vouchers; 8: VMAT; 9: own VMAT; 10: VMAT senders; 11: VMAT for servers;
         // 12: VMAT asked of a gateway
// A whole frame (header included) is at most this long.
inline constexpr size_t kMaxFrameBytes = size_t{1} << 20;

// Field bounds.
inline constexpr size_t kMaxUserBytes = 320;           // local part + domain, as typed
inline constexpr size_t kMaxPasswordBytes = 1024;      // SMTP / POP3 password
inline constexpr size_t kMaxMailboxIdBytes = 128;      // hex keyed hash
inline constexpr size_t kMaxPublicKeyBytes = 4096;     // DER SubjectPublicKeyInfo
inline constexpr size_t kKeyIdBytes = 32;              // SHA-256 of the public key (fixed)
inline constexpr size_t kMaxWrappedKeyBytes = 4096;    // RSA-OAEP wrapped data key
inline constexpr size_t kMaxDataKeyBytes = 64;         // unwrapped data key
inline constexpr size_t kMaxPurposeBytes = 64;         // HashedName purpose label
inline constexpr size_t kMaxHashDataBytes = 1024;      // HashedName input
inline constexpr size_t kMaxHashedNameBytes = 128;     // hex keyed hash
inline constexpr size_t kMaxLocalPartBytes = 64;       // validated local part
inline constexpr size_t kMaxPathBytes = 512;           // SMTP reverse-path (RFC 5321: 256)
inline constexpr size_t kMaxRecipients = 1000;         // local parts per message
inline constexpr size_t kMaxChunkBytes = 32768;        // message bytes per frame
inline constexpr size_t kMaxUidBytes = 70;             // POP3 UIDL (RFC 1939)
inline constexpr size_t kMaxListingEntries = 1024;     // MessageEntry per MailboxListing
inline constexpr size_t kMaxExpungeIndices = 8192;     // indices per ExpungeRequest
inline constexpr size_t kMinRsaBlockBytes = 128;       // RSA-1024 (refused by the key role)
inline constexpr size_t kMaxRsaBlockBytes = 1024;      // RSA-8192
inline constexpr size_t kEcdsaDigestBytes = 32;        // P-256: digest truncated to 256 bits
inline constexpr size_t kMaxCertificateBytes = 32768;  // PEM certificate chain
inline constexpr size_t kMaxPeerAddressBytes = 255;    // "host:port" of an unseal peer
inline constexpr size_t kPinBytes = 32;                // SHA-256 of a peer's TLS SPKI (fixed)
inline constexpr size_t kMaxUnsealTargets = 32;        // peers per UnsealPlan
inline constexpr size_t kMaxDetailBytes = 200;         // human-readable failure detail
inline constexpr size_t kMaxKctlCertBytes = 256;       // a KCTL certificate (126 bytes today)
inline constexpr size_t kMaxForwardItems = 64;         // per ForwardList
inline constexpr size_t kMaxRelayDomainBytes = 62;     // v3 onion: 56 base32 + ".onion"
inline constexpr size_t kMaxEnhancedCodeBytes = 9;     // RFC 3463 "5.123.123"
inline constexpr size_t kMaxBlockEntryBytes = 200;     // mail::kMaxBlockEntryBytes
inline constexpr size_t kMaxBlockEntries = 500;        // mail::kMaxBlockEntries
inline constexpr size_t kMaxListNameBytes = 64;        // a local part (mail::kMaxListNameBytes)
inline constexpr size_t kMaxListMembers = 100;         // mail::kMaxListMembers
inline constexpr size_t kMaxListMemberBytes = 127;     // mail::kMaxListMemberBytes
inline constexpr size_t kVoucherBytes = 20;            // exactly (mail::kVoucherChars)
inline constexpr size_t kGeneratedPasswordBytes = 24;  // exactly (mail::kGeneratedPasswordChars)
inline constexpr size_t kTkimVouchBytes = 40;          // exactly: u64 expiry + HMAC-SHA256
inline constexpr size_t kMaxIssuedVouchers = 10;       // mail::kMaxIssuedVouchers

// The wire number of each message of ipc/messages.h (u16); never reused.
enum class MsgType : uint16_t {
  kHello = 1,
  kShutdown = 2,
  kAcceptedConnection = 3,
  kNewSession = 4,
  kVerifySmtpPasswordRequest = 10,
  kVerifyResult = 11,
  kLookupUserRequest = 12,
  kLookupUserReply = 13,
  kOpenInboxRequest = 14,
  kOpenInboxReply = 15,
  kUnwrapDataKeyRequest = 16,
  kUnwrapDataKeyReply = 17,
  kCloseInboxRequest = 18,
  kHashedNameRequest = 19,
  kHashedNameReply = 20,
  kStatusReply = 21,
  kCheckRecipientRequest = 22,
  kBeginMessageRequest = 23,
  kAppendRequest = 24,
  kCommitRequest = 25,
  kAbortMessageRequest = 26,
  kOpenMailboxRequest = 27,
  kOpenMailboxReply = 28,
  kMailboxListing = 29,
  kReadMessageRequest = 30,
  kMessageChunk = 31,
  kExpungeRequest = 32,
  kTlsSignRequest = 33,
  kTlsSignReply = 34,
  kTlsIdentityRequest = 35,
  kTlsIdentityReply = 36,
  kTormRequest = 37,
  kTormReply = 38,
  kUnsealPlanRequest = 39,
  kUnsealPlan = 40,
  kDerkPrepareRequest = 41,
  kDerkPrepareReply = 42,
  kDerkResultRequest = 43,
  kUnsealProgress = 44,
  kForwardPollRequest = 45,
  kForwardList = 46,
  kCloseMailboxRequest = 47,
  kTlsEcdsaSignRequest = 48,
  kRelayBeginRequest = 49,
  kRelayRcptRequest = 50,
  kRelayDataRequest = 51,
  kRelayAppendRequest = 52,
  kRelayEndRequest = 53,
  kRelayReply = 54,
  kServerKeyRequest = 55,
  kServerKeyReply = 56,
  kTkimProofRequest = 57,
  kTkimProofReply = 58,
  kTkimCheckRequest = 59,
  kTkimCheckReply = 60,
  kBlockListRequest = 61,
  kBlockListReply = 62,
  kListRequest = 63,
  kListReply = 64,
  kRegisterRequest = 65,
  kRegisterReply = 66,
  kTkimVouchRequest = 67,
  kTkimVouchReply = 68,
  kTkimProvenRequest = 69,
  kIssueVouchersRequest = 70,
  kIssueVouchersReply = 71,
  kVmatLookupRequest = 72,
  kVmatLookupReply = 73,
  kVmatOwnRequest = 74,
  kVmatSenderRequest = 75,
  kVmatServerRequest = 76,
  kRelayVmatRequest = 77,
};

}  // namespace onionmail::ipc
