// Wire encoding of ipc::Message; layout and contract in ipc/codec.h.
#include "ipc/codec.h"

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "base/secret_bytes.h"

namespace onionmail::ipc {

namespace {

bool IsName(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Two passes over the same code: with out == nullptr it only measures and
// validates; then it writes into a buffer of exactly the measured size.
class Writer {
 public:
  explicit Writer(uint8_t* out) : out_(out) {}

  void U16(uint16_t v) {
    uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    Raw(b, 2);
  }
  void U32(uint32_t v) {
    uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                    static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    Raw(b, 4);
  }
  // u16 element count, checked against [min, max].
  void Count(size_t n, size_t min, size_t max, const char* field) {
    if (n < min || n > max) return Fail(field);
    U16(static_cast<uint16_t>(n));
  }
  void U64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
    Raw(b, 8);
  }
  void Raw(const void* p, size_t n) {
    if (out_ != nullptr && n != 0) std::memcpy(out_ + size_, p, n);
    size_ += n;
  }
  void Bytes(std::span<const uint8_t> b, size_t min, size_t max, const char* field) {
    if (b.size() < min || b.size() > max) return Fail(field);
    U16(static_cast<uint16_t>(b.size()));
    Raw(b.data(), b.size());
  }
  void Text(std::string_view s, size_t min, size_t max, const char* field) {
    Bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, min, max, field);
  }
  void Name(std::string_view s, size_t min, size_t max, const char* field) {
    if (!IsName(s)) return Fail(field);
    Text(s, min, max, field);
  }
  void Secret(const SecretBytes& s, size_t max, const char* field) {
    Bytes(s.Reveal(SecretAccess::Grant()), 0, max, field);
  }
  void Fail(const char* field) {
    if (error_.empty()) error_ = std::string("ipc encode: field out of bounds: ") + field;
  }

  size_t size() const { return size_; }
  const std::string& error() const { return error_; }

 private:
  uint8_t* out_;
  size_t size_ = 0;
  std::string error_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  bool U16(uint16_t& v) {
    if (!Need(2)) return false;
    v = static_cast<uint16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t& v) {
    if (!Need(4)) return false;
    v = (uint32_t{in_[pos_]} << 24) | (uint32_t{in_[pos_ + 1]} << 16) |
        (uint32_t{in_[pos_ + 2]} << 8) | uint32_t{in_[pos_ + 3]};
    pos_ += 4;
    return true;
  }
  bool Count(size_t& n, size_t min, size_t max) {
    uint16_t v = 0;
    if (!U16(v) || v < min || v > max) return false;
    n = v;
    return true;
  }
  bool U64(uint64_t& v) {
    if (!Need(8)) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | in_[pos_ + i];
    pos_ += 8;
    return true;
  }
  // A u16-length-prefixed field with min <= length <= max.
  bool Field(std::span<const uint8_t>& out, size_t min, size_t max) {
    uint16_t n = 0;
    if (!U16(n) || n < min || n > max || !Need(n)) return false;
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool Bytes(std::vector<uint8_t>& out, size_t min, size_t max) {
    std::span<const uint8_t> f;
    if (!Field(f, min, max)) return false;
    out.assign(f.begin(), f.end());
    return true;
  }
  bool Text(std::string& out, size_t min, size_t max) {
    std::span<const uint8_t> f;
    if (!Field(f, min, max)) return false;
    out.assign(reinterpret_cast<const char*>(f.data()), f.size());
    return true;
  }
  bool Name(std::string& out, size_t min, size_t max) { return Text(out, min, max) && IsName(out); }
  bool Secret(SecretBytes& out, size_t max) {
    std::span<const uint8_t> f;
    if (!Field(f, 0, max)) return false;
    out = SecretBytes(SecretAccess::Grant(), f);
    return true;
  }
  template <size_t N>
  bool Fixed(std::array<uint8_t, N>& out) {
    if (!Need(N)) return false;
    std::memcpy(out.data(), in_.data() + pos_, N);
    pos_ += N;
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  bool Need(size_t n) const { return in_.size() - pos_ >= n; }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

bool ReadStatus(Reader& r, Status& s) {
  uint16_t v = 0;
  if (!r.U16(v) || v > static_cast<uint16_t>(Status::kSealed)) return false;
  s = static_cast<Status>(v);
  return true;
}

bool ValidRole(uint16_t v) {
  return v >= static_cast<uint16_t>(Role::kSupervisor) && v <= static_cast<uint16_t>(Role::kPeer);
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
void PutStatus(Writer& w, Status s) {
  if (static_cast<uint16_t>(s) > static_cast<uint16_t>(Status::kSealed)) w.Fail("status");
  w.U16(static_cast<uint16_t>(s));
}
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
void PutBool(Writer& w, bool b) { w.U16(b ? 1 : 0); }
void Put(Writer&, const UnsealPlanRequest&) {}
void Put(Writer& w, const UnsealPlan& m) {
  PutBool(w, m.enrolled);
  PutBool(w, m.sealed);
  w.Count(m.targets.size(), 0, kMaxUnsealTargets, "targets");
  for (const auto& t : m.targets) {
    w.U16(t.index);
    w.Name(t.address, 1, kMaxPeerAddressBytes, "address");
    w.Raw(t.pin.data(), t.pin.size());
  }
}
void Put(Writer& w, const DerkPrepareRequest& m) {
  w.U16(m.index);
  w.Raw(m.channel_binding.data(), m.channel_binding.size());
}
void Put(Writer& w, const DerkPrepareReply& m) {
  PutStatus(w, m.status);
  w.Bytes(m.blob, 0, mail::kMaxTormBlobBytes, "blob");
}
void Put(Writer& w, const DerkResultRequest& m) {
  w.U16(m.index);
  PutBool(w, m.reached);
  uint8_t outcome = static_cast<uint8_t>(m.outcome);
  if (outcome > mail::kMaxTormOutcome) w.Fail("outcome");
  w.U16(outcome);
  w.Bytes(m.reply, 0, mail::kMaxTormBlobBytes, "reply");
  w.Name(m.detail, 0, kMaxDetailBytes, "detail");
}
void Put(Writer& w, const UnsealProgress& m) {
  PutStatus(w, m.status);
  PutBool(w, m.sealed);
  w.U16(m.shares_held);
  w.U16(m.threshold);
}
void Put(Writer&, const ForwardPollRequest&) {}
void Put(Writer& w, const ForwardList& m) {
  w.Count(m.items.size(), 0, kMaxForwardItems, "items");
  for (const auto& i : m.items) {
    w.Bytes(i.certificate, 1, kMaxKctlCertBytes, "certificate");
    w.Name(i.address, 1, kMaxPeerAddressBytes, "address");
    w.Raw(i.pin.data(), i.pin.size());
  }
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
}
void Put(Writer& w, const BeginMessageRequest& m) {
  w.Name(m.reverse_path, 0, kMaxPathBytes, "reverse_path");
  w.Count(m.local_parts.size(), 1, kMaxRecipients, "local_parts");
  for (const auto& lp : m.local_parts) w.Name(lp, 1, kMaxLocalPartBytes, "local_parts");
}
void Put(Writer& w, const AppendRequest& m) { w.Bytes(m.data, 1, kMaxChunkBytes, "data"); }
void Put(Writer&, const CommitRequest&) {}
void Put(Writer&, const AbortMessageRequest&) {}
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
void Put(Writer& w, const TlsSignReply& m) {
  PutStatus(w, m.status);
  w.Bytes(m.signature, 0, kMaxRsaBlockBytes, "signature");
}
void Put(Writer&, const TlsIdentityRequest&) {}
void Put(Writer& w, const TlsIdentityReply& m) {
  PutStatus(w, m.status);
  w.Bytes(m.certificate_pem, 0, kMaxCertificateBytes, "certificate_pem");
  w.Bytes(m.public_key, 0, kMaxPublicKeyBytes, "public_key");
}

bool Get(Reader&, NewSession&) { return true; }
bool Get(Reader& r, StatusReply& m) { return ReadStatus(r, m.status); }
bool Get(Reader& r, CheckRecipientRequest& m) {
  return r.Name(m.local_part, 1, kMaxLocalPartBytes);
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
bool Get(Reader& r, TlsSignReply& m) {
  return ReadStatus(r, m.status) && r.Bytes(m.signature, 0, kMaxRsaBlockBytes);
}
bool Get(Reader&, TlsIdentityRequest&) { return true; }
bool Get(Reader& r, TlsIdentityReply& m) {
  return ReadStatus(r, m.status) && r.Bytes(m.certificate_pem, 0, kMaxCertificateBytes) &&
         r.Bytes(m.public_key, 0, kMaxPublicKeyBytes);
}
bool Get(Reader& r, TormRequest& m) {
  uint16_t verb = 0;
  if (!r.U16(verb) || verb < 1 || verb > mail::kMaxTormVerb) return false;
  m.verb = static_cast<mail::TormVerb>(verb);
  return r.Fixed(m.channel_binding) && r.Bytes(m.blob, 1, mail::kMaxTormBlobBytes);
}
bool GetBool(Reader& r, bool& b) {
  uint16_t v = 0;
  if (!r.U16(v) || v > 1) return false;
  b = v == 1;
  return true;
}
bool Get(Reader&, UnsealPlanRequest&) { return true; }
bool Get(Reader& r, UnsealPlan& m) {
  size_t n = 0;
  if (!GetBool(r, m.enrolled) || !GetBool(r, m.sealed) || !r.Count(n, 0, kMaxUnsealTargets)) {
    return false;
  }
  m.targets.resize(n);
  for (auto& t : m.targets) {
    if (!r.U16(t.index) || !r.Name(t.address, 1, kMaxPeerAddressBytes) || !r.Fixed(t.pin)) {
      return false;
    }
  }
  return true;
}
bool Get(Reader& r, DerkPrepareRequest& m) { return r.U16(m.index) && r.Fixed(m.channel_binding); }
bool Get(Reader& r, DerkPrepareReply& m) {
  return ReadStatus(r, m.status) && r.Bytes(m.blob, 0, mail::kMaxTormBlobBytes);
}
bool Get(Reader& r, DerkResultRequest& m) {
  uint16_t outcome = 0;
  if (!r.U16(m.index) || !GetBool(r, m.reached) || !r.U16(outcome) ||
      outcome > mail::kMaxTormOutcome) {
    return false;
  }
  m.outcome = static_cast<mail::TormOutcome>(outcome);
  return r.Bytes(m.reply, 0, mail::kMaxTormBlobBytes) && r.Name(m.detail, 0, kMaxDetailBytes);
}
bool Get(Reader& r, UnsealProgress& m) {
  return ReadStatus(r, m.status) && GetBool(r, m.sealed) && r.U16(m.shares_held) &&
         r.U16(m.threshold);
}
bool Get(Reader&, ForwardPollRequest&) { return true; }
bool Get(Reader& r, ForwardList& m) {
  size_t n = 0;
  if (!r.Count(n, 0, kMaxForwardItems)) return false;
  m.items.resize(n);
  for (auto& i : m.items) {
    if (!r.Bytes(i.certificate, 1, kMaxKctlCertBytes) ||
        !r.Name(i.address, 1, kMaxPeerAddressBytes) || !r.Fixed(i.pin)) {
      return false;
    }
  }
  return true;
}
bool Get(Reader& r, TormReply& m) {
  uint16_t outcome = 0;
  if (!r.U16(outcome) || outcome > mail::kMaxTormOutcome) return false;
  m.outcome = static_cast<mail::TormOutcome>(outcome);
  return r.Bytes(m.blob, 0, mail::kMaxTormBlobBytes);
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
  }
  return Malformed("unknown message type");
}

}  // namespace onionmail::ipc
