// Wire encoding of ipc::Message; layout and contract in ipc/codec.h.
#include "ipc/codec.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "base/secret_bytes.h"
#include "ipc/codec_peer.h"
#include "ipc/codec_relay.h"
#include "ipc/wire_io.h"
#include "mail/registration.h"

namespace onionmail::ipc {

static_assert(kVoucherBytes == mail::kVoucherChars);
static_assert(kGeneratedPasswordBytes == mail::kGeneratedPasswordChars);

namespace {

using internal::IsName;
using internal::PutStatus;
using internal::Reader;
using internal::ReadStatus;
using internal::Writer;

bool ValidRole(uint16_t v) {
  return v >= static_cast<uint16_t>(Role::kSupervisor) && v <= static_cast<uint16_t>(Role::kRelay);
}

// ---- per-message fields (encode) ----

void Put(Writer& w, const Hello& m) {
  if (!ValidRole(static_cast<uint16_t>(m.role))) w.Fail("role");
  if (m.version != kProtocolVersion) w.Fail("version");
  w.U16(static_cast<uint16_t>(m.role));
  w.U16(m.version);
}
void Put(Writer&, const Shutdown&) {}
void Put(Writer& w, const AcceptedConnection& m) { w.U16(m.listener_id); }
void Put(Writer& w, const VerifySmtpPasswordRequest& m) {
  w.Name(m.user, 1, kMaxUserBytes, "user");
  w.Secret(m.password, kMaxPasswordBytes, "password");
}
void Put(Writer& w, const VerifyResult& m) { PutStatus(w, m.status); }
void Put(Writer& w, const LookupUserRequest& m) { w.Name(m.user, 1, kMaxUserBytes, "user"); }
void Put(Writer& w, const LookupUserReply& m) {
  PutStatus(w, m.status);
  w.Name(m.mailbox_id, 0, kMaxMailboxIdBytes, "mailbox_id");
  w.Bytes(m.public_key, 0, kMaxPublicKeyBytes, "public_key");
  w.Raw(m.key_id.data(), m.key_id.size());
}
void Put(Writer& w, const OpenInboxRequest& m) {
  w.Name(m.user, 1, kMaxUserBytes, "user");
  w.Secret(m.password, kMaxPasswordBytes, "password");
}
void Put(Writer& w, const OpenInboxReply& m) {
  PutStatus(w, m.status);
  w.U64(m.session_id);
}
void Put(Writer& w, const UnwrapDataKeyRequest& m) {
  w.U64(m.session_id);
  w.Bytes(m.wrapped, 1, kMaxWrappedKeyBytes, "wrapped");
}
void Put(Writer& w, const UnwrapDataKeyReply& m) {
  PutStatus(w, m.status);
  w.Secret(m.data_key, kMaxDataKeyBytes, "data_key");
}
void Put(Writer& w, const CloseInboxRequest& m) { w.U64(m.session_id); }
void Put(Writer& w, const HashedNameRequest& m) {
  w.Name(m.purpose, 1, kMaxPurposeBytes, "purpose");
  w.Text(m.data, 0, kMaxHashDataBytes, "data");
}
void Put(Writer& w, const HashedNameReply& m) {
  PutStatus(w, m.status);
  w.Name(m.name, 0, kMaxHashedNameBytes, "name");
}
void Put(Writer& w, const TormRequest& m) {
  uint8_t verb = static_cast<uint8_t>(m.verb);
  if (verb < 1 || verb > mail::kMaxTormVerb) w.Fail("verb");
  w.U16(verb);
  w.Raw(m.channel_binding.data(), m.channel_binding.size());
  w.Bytes(m.blob, 1, mail::kMaxTormBlobBytes, "blob");
}
void Put(Writer& w, const TormReply& m) {
  uint8_t outcome = static_cast<uint8_t>(m.outcome);
  if (outcome > mail::kMaxTormOutcome) w.Fail("outcome");
  w.U16(outcome);
  w.Bytes(m.blob, 0, mail::kMaxTormBlobBytes, "blob");
}

// ---- per-message fields (decode) ----

bool Get(Reader& r, Hello& m) {
  uint16_t role = 0;
  if (!r.U16(role) || !ValidRole(role)) return false;
  m.role = static_cast<Role>(role);
  return r.U16(m.version) && m.version == kProtocolVersion;
}
bool Get(Reader&, Shutdown&) { return true; }
bool Get(Reader& r, AcceptedConnection& m) { return r.U16(m.listener_id); }
bool Get(Reader& r, VerifySmtpPasswordRequest& m) {
  return r.Name(m.user, 1, kMaxUserBytes) && r.Secret(m.password, kMaxPasswordBytes);
}
bool Get(Reader& r, VerifyResult& m) { return ReadStatus(r, m.status); }
bool Get(Reader& r, LookupUserRequest& m) { return r.Name(m.user, 1, kMaxUserBytes); }
bool Get(Reader& r, LookupUserReply& m) {
  return ReadStatus(r, m.status) && r.Name(m.mailbox_id, 0, kMaxMailboxIdBytes) &&
         r.Bytes(m.public_key, 0, kMaxPublicKeyBytes) && r.Fixed(m.key_id);
}
bool Get(Reader& r, OpenInboxRequest& m) {
  return r.Name(m.user, 1, kMaxUserBytes) && r.Secret(m.password, kMaxPasswordBytes);
}
bool Get(Reader& r, OpenInboxReply& m) { return ReadStatus(r, m.status) && r.U64(m.session_id); }
bool Get(Reader& r, UnwrapDataKeyRequest& m) {
  return r.U64(m.session_id) && r.Bytes(m.wrapped, 1, kMaxWrappedKeyBytes);
}
bool Get(Reader& r, UnwrapDataKeyReply& m) {
  return ReadStatus(r, m.status) && r.Secret(m.data_key, kMaxDataKeyBytes);
}
bool Get(Reader& r, CloseInboxRequest& m) { return r.U64(m.session_id); }
bool Get(Reader& r, HashedNameRequest& m) {
  return r.Name(m.purpose, 1, kMaxPurposeBytes) && r.Text(m.data, 0, kMaxHashDataBytes);
}
bool Get(Reader& r, HashedNameReply& m) {
  return ReadStatus(r, m.status) && r.Name(m.name, 0, kMaxHashedNameBytes);
}

void Put(Writer&, const NewSession&) {}
void Put(Writer& w, const StatusReply& m) { PutStatus(w, m.status); }
void Put(Writer& w, const CheckRecipientRequest& m) {
  w.Name(m.local_part, 1, kMaxLocalPartBytes, "local_part");
  w.U64(m.declared_size);
  w.Name(m.sender, 0, kMaxPathBytes, "sender");
}
void Put(Writer& w, const BeginMessageRequest& m) {
  w.Name(m.reverse_path, 0, kMaxPathBytes, "reverse_path");
  w.Count(m.local_parts.size(), 1, kMaxRecipients, "local_parts");
  for (const auto& lp : m.local_parts) w.Name(lp, 1, kMaxLocalPartBytes, "local_parts");
}
void Put(Writer& w, const AppendRequest& m) { w.Bytes(m.data, 1, kMaxChunkBytes, "data"); }
void Put(Writer&, const CommitRequest&) {}
void Put(Writer&, const AbortMessageRequest&) {}
void Put(Writer&, const CloseMailboxRequest&) {}
void Put(Writer& w, const OpenMailboxRequest& m) {
  w.Name(m.user, 1, kMaxUserBytes, "user");
  w.Secret(m.password, kMaxPasswordBytes, "password");
}
void Put(Writer& w, const OpenMailboxReply& m) {
  PutStatus(w, m.status);
  w.U32(m.count);
}
void Put(Writer& w, const MailboxListing& m) {
  w.Count(m.entries.size(), 1, kMaxListingEntries, "entries");
  for (const auto& e : m.entries) {
    w.Name(e.uid, 1, kMaxUidBytes, "uid");
    w.U64(e.size);
  }
}
void Put(Writer& w, const ReadMessageRequest& m) { w.U32(m.index); }
void Put(Writer& w, const MessageChunk& m) { w.Bytes(m.data, 1, kMaxChunkBytes, "data"); }
void Put(Writer& w, const ExpungeRequest& m) {
  w.Count(m.indices.size(), 1, kMaxExpungeIndices, "indices");
  for (uint32_t i : m.indices) w.U32(i);
}
void Put(Writer& w, const TlsSignRequest& m) {
  w.Bytes(m.block, kMinRsaBlockBytes, kMaxRsaBlockBytes, "block");
}
void Put(Writer& w, const TlsEcdsaSignRequest& m) {
  w.Bytes(m.digest, kEcdsaDigestBytes, kEcdsaDigestBytes, "digest");
  w.U32(m.generation);
}
void Put(Writer& w, const TlsSignReply& m) {
  PutStatus(w, m.status);
  w.Bytes(m.signature, 0, kMaxRsaBlockBytes, "signature");
}
void Put(Writer&, const TlsIdentityRequest&) {}
void Put(Writer& w, const TlsIdentityReply& m) {
  PutStatus(w, m.status);
  w.Bytes(m.certificate_pem, 0, kMaxCertificateBytes, "certificate_pem");
  w.Bytes(m.public_key, 0, kMaxPublicKeyBytes, "public_key");
  w.U32(m.generation);
}

bool Get(Reader&, NewSession&) { return true; }
bool Get(Reader& r, StatusReply& m) { return ReadStatus(r, m.status); }
bool Get(Reader& r, CheckRecipientRequest& m) {
  return r.Name(m.local_part, 1, kMaxLocalPartBytes) && r.U64(m.declared_size) &&
         r.Name(m.sender, 0, kMaxPathBytes);
}
bool Get(Reader& r, BeginMessageRequest& m) {
  size_t n = 0;
  if (!r.Name(m.reverse_path, 0, kMaxPathBytes) || !r.Count(n, 1, kMaxRecipients)) return false;
  m.local_parts.resize(n);
  for (auto& lp : m.local_parts) {
    if (!r.Name(lp, 1, kMaxLocalPartBytes)) return false;
  }
  return true;
}
bool Get(Reader& r, AppendRequest& m) { return r.Bytes(m.data, 1, kMaxChunkBytes); }
bool Get(Reader&, CommitRequest&) { return true; }
bool Get(Reader&, AbortMessageRequest&) { return true; }
bool Get(Reader&, CloseMailboxRequest&) { return true; }
bool Get(Reader& r, OpenMailboxRequest& m) {
  return r.Name(m.user, 1, kMaxUserBytes) && r.Secret(m.password, kMaxPasswordBytes);
}
bool Get(Reader& r, OpenMailboxReply& m) { return ReadStatus(r, m.status) && r.U32(m.count); }
bool Get(Reader& r, MailboxListing& m) {
  size_t n = 0;
  if (!r.Count(n, 1, kMaxListingEntries)) return false;
  m.entries.resize(n);
  for (auto& e : m.entries) {
    if (!r.Name(e.uid, 1, kMaxUidBytes) || !r.U64(e.size)) return false;
  }
  return true;
}
bool Get(Reader& r, ReadMessageRequest& m) { return r.U32(m.index); }
bool Get(Reader& r, MessageChunk& m) { return r.Bytes(m.data, 1, kMaxChunkBytes); }
bool Get(Reader& r, ExpungeRequest& m) {
  size_t n = 0;
  if (!r.Count(n, 1, kMaxExpungeIndices)) return false;
  m.indices.resize(n);
  for (auto& i : m.indices) {
    if (!r.U32(i)) return false;
  }
  return true;
}
bool Get(Reader& r, TlsSignRequest& m) {
  return r.Bytes(m.block, kMinRsaBlockBytes, kMaxRsaBlockBytes);
}
bool Get(Reader& r, TlsEcdsaSignRequest& m) {
  return r.Bytes(m.digest, kEcdsaDigestBytes, kEcdsaDigestBytes) && r.U32(m.generation);
}
bool Get(Reader& r, TlsSignReply& m) {
  return ReadStatus(r, m.status) && r.Bytes(m.signature, 0, kMaxRsaBlockBytes);
}
bool Get(Reader&, TlsIdentityRequest&) { return true; }
bool Get(Reader& r, TlsIdentityReply& m) {
  return ReadStatus(r, m.status) && r.Bytes(m.certificate_pem, 0, kMaxCertificateBytes) &&
         r.Bytes(m.public_key, 0, kMaxPublicKeyBytes) && r.U32(m.generation);
}
bool Get(Reader& r, TormRequest& m) {
  uint16_t verb = 0;
  if (!r.U16(verb) || verb < 1 || verb > mail::kMaxTormVerb) return false;
  m.verb = static_cast<mail::TormVerb>(verb);
  return r.Fixed(m.channel_binding) && r.Bytes(m.blob, 1, mail::kMaxTormBlobBytes);
}
bool Get(Reader& r, TormReply& m) {
  uint16_t outcome = 0;
  if (!r.U16(outcome) || outcome > mail::kMaxTormOutcome) return false;
  m.outcome = static_cast<mail::TormOutcome>(outcome);
  return r.Bytes(m.blob, 0, mail::kMaxTormBlobBytes);
}

// ---- registration (POP3 RQUS) ----

// Exactly `n` characters of the voucher alphabet (lower-case RFC 4648 base32).
bool OfVoucherAlphabet(const SecretBytes& s, size_t n) {
  if (s.size() != n) return false;
  for (uint8_t c : s.Reveal(SecretAccess::Grant())) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}
// Both passwords when kOk, neither otherwise.
bool ValidRegisterReply(const RegisterReply& m) {
  if (m.status != Status::kOk) return m.smtp_password.empty() && m.pop3_password.empty();
  return OfVoucherAlphabet(m.smtp_password, kGeneratedPasswordBytes) &&
         OfVoucherAlphabet(m.pop3_password, kGeneratedPasswordBytes);
}

void Put(Writer& w, const RegisterRequest& m) {
  if (!OfVoucherAlphabet(m.voucher, kVoucherBytes)) w.Fail("voucher");
  w.Secret(m.voucher, kVoucherBytes, "voucher");
  w.Name(m.user, 1, kMaxLocalPartBytes, "user");
}
void Put(Writer& w, const RegisterReply& m) {
  if (!ValidRegisterReply(m)) w.Fail("register reply");
  PutStatus(w, m.status);
  w.Secret(m.smtp_password, kGeneratedPasswordBytes, "smtp_password");
  w.Secret(m.pop3_password, kGeneratedPasswordBytes, "pop3_password");
}
bool Get(Reader& r, RegisterRequest& m) {
  return r.Secret(m.voucher, kVoucherBytes) && OfVoucherAlphabet(m.voucher, kVoucherBytes) &&
         r.Name(m.user, 1, kMaxLocalPartBytes);
}
bool Get(Reader& r, RegisterReply& m) {
  return ReadStatus(r, m.status) && r.Secret(m.smtp_password, kGeneratedPasswordBytes) &&
         r.Secret(m.pop3_password, kGeneratedPasswordBytes) && ValidRegisterReply(m);
}

// The server@ bot's VOUCHER command: 1..kMaxIssuedVouchers vouchers when
// kOk, none otherwise.
bool ValidIssueVouchersReply(const IssueVouchersReply& m) {
  if (m.status != Status::kOk) return m.vouchers.empty();
  if (m.vouchers.empty() || m.vouchers.size() > kMaxIssuedVouchers) return false;
  return std::all_of(m.vouchers.begin(), m.vouchers.end(),
                     [](const SecretBytes& v) { return OfVoucherAlphabet(v, kVoucherBytes); });
}

void Put(Writer& w, const IssueVouchersRequest& m) {
  if (m.count < 1 || m.count > kMaxIssuedVouchers) w.Fail("count");
  w.U16(m.count);
}
void Put(Writer& w, const IssueVouchersReply& m) {
  if (!ValidIssueVouchersReply(m)) w.Fail("issue vouchers reply");
  PutStatus(w, m.status);
  w.Count(m.vouchers.size(), 0, kMaxIssuedVouchers, "vouchers");
  for (const SecretBytes& v : m.vouchers) w.Secret(v, kVoucherBytes, "vouchers");
}
bool Get(Reader& r, IssueVouchersRequest& m) {
  return r.U16(m.count) && m.count >= 1 && m.count <= kMaxIssuedVouchers;
}
bool Get(Reader& r, IssueVouchersReply& m) {
  size_t n = 0;
  if (!ReadStatus(r, m.status) || !r.Count(n, 0, kMaxIssuedVouchers)) return false;
  m.vouchers.resize(n);
  for (SecretBytes& v : m.vouchers) {
    if (!r.Secret(v, kVoucherBytes)) return false;
  }
  return ValidIssueVouchersReply(m);
}

// An enter gateway's VMAT alias (mail/vmat.h): a target when kOk, and only then.
bool ValidVmatLookupReply(const VmatLookupReply& m) {
  return (m.status == Status::kOk) == (m.target.find('@') != std::string::npos);
}

void Put(Writer& w, const VmatLookupRequest& m) { w.Name(m.alias, 1, kMaxLocalPartBytes, "alias"); }
void Put(Writer& w, const VmatLookupReply& m) {
  if (!ValidVmatLookupReply(m)) w.Fail("vmat lookup reply");
  PutStatus(w, m.status);
  w.Name(m.target, 0, kMaxPathBytes, "target");
}
void Put(Writer& w, const VmatOwnRequest& m) {
  if (m.op > 2) w.Fail("op");
  w.U16(m.op);
}
bool Get(Reader& r, VmatOwnRequest& m) { return r.U16(m.op) && m.op <= 2; }
void Put(Writer& w, const VmatSenderRequest& m) { w.Name(m.sender, 1, kMaxPathBytes, "sender"); }
bool Get(Reader& r, VmatSenderRequest& m) { return r.Name(m.sender, 1, kMaxPathBytes); }
// VmatServerRequest and RelayVmatRequest: u16 op (0..2), user, alias.
template <typename M>
void PutVmatOp(Writer& w, const M& m) {
  if (m.op > 2) w.Fail("op");
  w.U16(m.op);
  w.Name(m.user, 1, kMaxLocalPartBytes, "user");
  w.Name(m.alias, 0, kMaxLocalPartBytes, "alias");
}
template <typename M>
bool GetVmatOp(Reader& r, M& m) {
  return r.U16(m.op) && m.op <= 2 && r.Name(m.user, 1, kMaxLocalPartBytes) &&
         r.Name(m.alias, 0, kMaxLocalPartBytes);
}
void Put(Writer& w, const VmatServerRequest& m) { PutVmatOp(w, m); }
bool Get(Reader& r, VmatServerRequest& m) { return GetVmatOp(r, m); }
void Put(Writer& w, const RelayVmatRequest& m) { PutVmatOp(w, m); }
bool Get(Reader& r, RelayVmatRequest& m) { return GetVmatOp(r, m); }
bool Get(Reader& r, VmatLookupRequest& m) { return r.Name(m.alias, 1, kMaxLocalPartBytes); }
bool Get(Reader& r, VmatLookupReply& m) {
  return ReadStatus(r, m.status) && r.Name(m.target, 0, kMaxPathBytes) && ValidVmatLookupReply(m);
}

void PutFrame(Writer& w, const Message& msg, uint32_t body_len) {
  uint8_t len[4] = {static_cast<uint8_t>(body_len >> 24), static_cast<uint8_t>(body_len >> 16),
                    static_cast<uint8_t>(body_len >> 8), static_cast<uint8_t>(body_len)};
  w.Raw(len, 4);
  w.U16(static_cast<uint16_t>(TypeOf(msg)));
  w.U16(kProtocolVersion);
  std::visit([&w](const auto& m) { Put(w, m); }, msg);
}

template <typename T>
Result<Message> DecodeAs(Reader& r, const char* name) {
  T m;
  if (!Get(r, m))
    return MakeError(ErrorCode::kInvalidArgument, std::string("ipc: malformed ") + name);
  if (!r.AtEnd()) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("ipc: trailing bytes in ") + name);
  }
  return Message(std::move(m));
}

Error Malformed(const char* what) {
  return MakeError(ErrorCode::kInvalidArgument, std::string("ipc: ") + what);
}

}  // namespace

Result<void> EncodeInto(const Message& msg, std::vector<uint8_t>& out) {
  WipeMemory(out.data(), out.size());
  out.clear();
  Writer measure(nullptr);
  PutFrame(measure, msg, 0);
  if (!measure.error().empty()) return MakeError(ErrorCode::kInvalidArgument, measure.error());
  if (measure.size() > kMaxFrameBytes) return Malformed("encode: frame too large");
  // Exact size before writing: no reallocation leaves a stray copy behind.
  if (out.capacity() < measure.size()) {
    std::vector<uint8_t> fresh;
    fresh.reserve(measure.size());
    out.swap(fresh);  // `fresh` (the old storage) was wiped above
  }
  out.resize(measure.size());
  Writer write(out.data());
  PutFrame(write, msg, static_cast<uint32_t>(measure.size() - 4));
  ONIONMAIL_CHECK(write.size() == out.size() && write.error().empty());
  return Ok();
}

Result<std::vector<uint8_t>> Encode(const Message& msg) {
  std::vector<uint8_t> out;
  ONIONMAIL_RETURN_IF_ERROR(EncodeInto(msg, out));
  return out;
}

Result<Message> Decode(std::span<const uint8_t> frame) {
  if (frame.size() > kMaxFrameBytes) return Malformed("frame too large");
  if (frame.size() < kFrameHeaderBytes) return Malformed("short frame");
  uint32_t len = (uint32_t{frame[0]} << 24) | (uint32_t{frame[1]} << 16) |
                 (uint32_t{frame[2]} << 8) | uint32_t{frame[3]};
  if (len != frame.size() - 4) return Malformed("frame length mismatch");
  Reader r(frame.subspan(4));
  uint16_t type = 0, version = 0;
  (void)r.U16(type);
  (void)r.U16(version);
  if (version != kProtocolVersion) return Malformed("wrong protocol version");
  switch (static_cast<MsgType>(type)) {
    case MsgType::kHello:
      return DecodeAs<Hello>(r, "Hello");
    case MsgType::kShutdown:
      return DecodeAs<Shutdown>(r, "Shutdown");
    case MsgType::kAcceptedConnection:
      return DecodeAs<AcceptedConnection>(r, "AcceptedConnection");
    case MsgType::kVerifySmtpPasswordRequest:
      return DecodeAs<VerifySmtpPasswordRequest>(r, "VerifySmtpPasswordRequest");
    case MsgType::kVerifyResult:
      return DecodeAs<VerifyResult>(r, "VerifyResult");
    case MsgType::kLookupUserRequest:
      return DecodeAs<LookupUserRequest>(r, "LookupUserRequest");
    case MsgType::kLookupUserReply:
      return DecodeAs<LookupUserReply>(r, "LookupUserReply");
    case MsgType::kOpenInboxRequest:
      return DecodeAs<OpenInboxRequest>(r, "OpenInboxRequest");
    case MsgType::kOpenInboxReply:
      return DecodeAs<OpenInboxReply>(r, "OpenInboxReply");
    case MsgType::kUnwrapDataKeyRequest:
      return DecodeAs<UnwrapDataKeyRequest>(r, "UnwrapDataKeyRequest");
    case MsgType::kUnwrapDataKeyReply:
      return DecodeAs<UnwrapDataKeyReply>(r, "UnwrapDataKeyReply");
    case MsgType::kCloseInboxRequest:
      return DecodeAs<CloseInboxRequest>(r, "CloseInboxRequest");
    case MsgType::kHashedNameRequest:
      return DecodeAs<HashedNameRequest>(r, "HashedNameRequest");
    case MsgType::kHashedNameReply:
      return DecodeAs<HashedNameReply>(r, "HashedNameReply");
    case MsgType::kNewSession:
      return DecodeAs<NewSession>(r, "NewSession");
    case MsgType::kStatusReply:
      return DecodeAs<StatusReply>(r, "StatusReply");
    case MsgType::kCheckRecipientRequest:
      return DecodeAs<CheckRecipientRequest>(r, "CheckRecipientRequest");
    case MsgType::kBeginMessageRequest:
      return DecodeAs<BeginMessageRequest>(r, "BeginMessageRequest");
    case MsgType::kAppendRequest:
      return DecodeAs<AppendRequest>(r, "AppendRequest");
    case MsgType::kCommitRequest:
      return DecodeAs<CommitRequest>(r, "CommitRequest");
    case MsgType::kAbortMessageRequest:
      return DecodeAs<AbortMessageRequest>(r, "AbortMessageRequest");
    case MsgType::kCloseMailboxRequest:
      return DecodeAs<CloseMailboxRequest>(r, "CloseMailboxRequest");
    case MsgType::kTlsEcdsaSignRequest:
      return DecodeAs<TlsEcdsaSignRequest>(r, "TlsEcdsaSignRequest");
    case MsgType::kOpenMailboxRequest:
      return DecodeAs<OpenMailboxRequest>(r, "OpenMailboxRequest");
    case MsgType::kOpenMailboxReply:
      return DecodeAs<OpenMailboxReply>(r, "OpenMailboxReply");
    case MsgType::kMailboxListing:
      return DecodeAs<MailboxListing>(r, "MailboxListing");
    case MsgType::kReadMessageRequest:
      return DecodeAs<ReadMessageRequest>(r, "ReadMessageRequest");
    case MsgType::kMessageChunk:
      return DecodeAs<MessageChunk>(r, "MessageChunk");
    case MsgType::kExpungeRequest:
      return DecodeAs<ExpungeRequest>(r, "ExpungeRequest");
    case MsgType::kTlsSignRequest:
      return DecodeAs<TlsSignRequest>(r, "TlsSignRequest");
    case MsgType::kTlsSignReply:
      return DecodeAs<TlsSignReply>(r, "TlsSignReply");
    case MsgType::kTlsIdentityRequest:
      return DecodeAs<TlsIdentityRequest>(r, "TlsIdentityRequest");
    case MsgType::kTlsIdentityReply:
      return DecodeAs<TlsIdentityReply>(r, "TlsIdentityReply");
    case MsgType::kTormRequest:
      return DecodeAs<TormRequest>(r, "TormRequest");
    case MsgType::kTormReply:
      return DecodeAs<TormReply>(r, "TormReply");
    case MsgType::kUnsealPlanRequest:
      return DecodeAs<UnsealPlanRequest>(r, "UnsealPlanRequest");
    case MsgType::kUnsealPlan:
      return DecodeAs<UnsealPlan>(r, "UnsealPlan");
    case MsgType::kDerkPrepareRequest:
      return DecodeAs<DerkPrepareRequest>(r, "DerkPrepareRequest");
    case MsgType::kDerkPrepareReply:
      return DecodeAs<DerkPrepareReply>(r, "DerkPrepareReply");
    case MsgType::kDerkResultRequest:
      return DecodeAs<DerkResultRequest>(r, "DerkResultRequest");
    case MsgType::kUnsealProgress:
      return DecodeAs<UnsealProgress>(r, "UnsealProgress");
    case MsgType::kForwardPollRequest:
      return DecodeAs<ForwardPollRequest>(r, "ForwardPollRequest");
    case MsgType::kForwardList:
      return DecodeAs<ForwardList>(r, "ForwardList");
    case MsgType::kRelayBeginRequest:
      return DecodeAs<RelayBeginRequest>(r, "RelayBeginRequest");
    case MsgType::kRelayRcptRequest:
      return DecodeAs<RelayRcptRequest>(r, "RelayRcptRequest");
    case MsgType::kRelayDataRequest:
      return DecodeAs<RelayDataRequest>(r, "RelayDataRequest");
    case MsgType::kRelayAppendRequest:
      return DecodeAs<RelayAppendRequest>(r, "RelayAppendRequest");
    case MsgType::kRelayEndRequest:
      return DecodeAs<RelayEndRequest>(r, "RelayEndRequest");
    case MsgType::kRelayReply:
      return DecodeAs<RelayReply>(r, "RelayReply");
    case MsgType::kServerKeyRequest:
      return DecodeAs<ServerKeyRequest>(r, "ServerKeyRequest");
    case MsgType::kServerKeyReply:
      return DecodeAs<ServerKeyReply>(r, "ServerKeyReply");
    case MsgType::kTkimProofRequest:
      return DecodeAs<TkimProofRequest>(r, "TkimProofRequest");
    case MsgType::kTkimProofReply:
      return DecodeAs<TkimProofReply>(r, "TkimProofReply");
    case MsgType::kTkimCheckRequest:
      return DecodeAs<TkimCheckRequest>(r, "TkimCheckRequest");
    case MsgType::kTkimCheckReply:
      return DecodeAs<TkimCheckReply>(r, "TkimCheckReply");
    case MsgType::kBlockListRequest:
      return DecodeAs<BlockListRequest>(r, "BlockListRequest");
    case MsgType::kBlockListReply:
      return DecodeAs<BlockListReply>(r, "BlockListReply");
    case MsgType::kListRequest:
      return DecodeAs<ListRequest>(r, "ListRequest");
    case MsgType::kListReply:
      return DecodeAs<ListReply>(r, "ListReply");
    case MsgType::kRegisterRequest:
      return DecodeAs<RegisterRequest>(r, "RegisterRequest");
    case MsgType::kRegisterReply:
      return DecodeAs<RegisterReply>(r, "RegisterReply");
    case MsgType::kTkimVouchRequest:
      return DecodeAs<TkimVouchRequest>(r, "TkimVouchRequest");
    case MsgType::kTkimVouchReply:
      return DecodeAs<TkimVouchReply>(r, "TkimVouchReply");
    case MsgType::kTkimProvenRequest:
      return DecodeAs<TkimProvenRequest>(r, "TkimProvenRequest");
    case MsgType::kIssueVouchersRequest:
      return DecodeAs<IssueVouchersRequest>(r, "IssueVouchersRequest");
    case MsgType::kIssueVouchersReply:
      return DecodeAs<IssueVouchersReply>(r, "IssueVouchersReply");
    case MsgType::kVmatLookupRequest:
      return DecodeAs<VmatLookupRequest>(r, "VmatLookupRequest");
    case MsgType::kVmatLookupReply:
      return DecodeAs<VmatLookupReply>(r, "VmatLookupReply");
    case MsgType::kVmatOwnRequest:
      return DecodeAs<VmatOwnRequest>(r, "VmatOwnRequest");
    case MsgType::kVmatSenderRequest:
      return DecodeAs<VmatSenderRequest>(r, "VmatSenderRequest");
    case MsgType::kVmatServerRequest:
      return DecodeAs<VmatServerRequest>(r, "VmatServerRequest");
    case MsgType::kRelayVmatRequest:
      return DecodeAs<RelayVmatRequest>(r, "RelayVmatRequest");
  }
  return Malformed("unknown message type");
}

}  // namespace onionmail::ipc
