// Wire fields of the relay messages; see ipc/codec_relay.h.
#include "ipc/codec_relay.h"

#include <algorithm>

#include "mail/mailing_list.h"

namespace onionmail::ipc::internal {

static_assert(kMaxListNameBytes >= mail::kMaxListNameBytes);
static_assert(kMaxListMembers == mail::kMaxListMembers);
static_assert(kMaxListMemberBytes == mail::kMaxListMemberBytes);

namespace {

bool IsDigits(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool ValidEnhanced(std::string_view e, uint16_t code) {
  if (e.empty()) return true;
  if (e.size() < 5 || e.size() > kMaxEnhancedCodeBytes) return false;
  if (e[0] != static_cast<char>('0' + code / 100) || e[1] != '.') return false;
  std::string_view rest = e.substr(2);
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return false;
  return IsDigits(rest.substr(0, dot), 1, 3) && IsDigits(rest.substr(dot + 1), 1, 3);
}

}  // namespace

bool ValidRelayReply(Status status, uint16_t code, std::string_view enhanced) {
  if (status != Status::kOk) return code == 0 && enhanced.empty();
  return code >= 200 && code <= 599 && ValidEnhanced(enhanced, code);
}

void Put(Writer& w, const RelayBeginRequest& m) {
  w.Name(m.domain, 1, kMaxRelayDomainBytes, "domain");
  w.Name(m.reverse_path, 0, kMaxPathBytes, "reverse_path");
  w.U64(m.declared_size);
  PutBool(w, m.body_8bitmime);
}
void Put(Writer& w, const RelayRcptRequest& m) {
  w.Name(m.forward_path, 1, kMaxPathBytes, "forward_path");
}
void Put(Writer&, const RelayDataRequest&) {}
void Put(Writer& w, const RelayAppendRequest& m) { w.Bytes(m.data, 1, kMaxChunkBytes, "data"); }
void Put(Writer&, const RelayEndRequest&) {}
void Put(Writer& w, const RelayReply& m) {
  if (!ValidRelayReply(m.status, m.code, m.enhanced)) w.Fail("relay reply");
  PutStatus(w, m.status);
  w.U16(m.code);
  w.Name(m.enhanced, 0, kMaxEnhancedCodeBytes, "enhanced");
}

bool Get(Reader& r, RelayBeginRequest& m) {
  return r.Name(m.domain, 1, kMaxRelayDomainBytes) && r.Name(m.reverse_path, 0, kMaxPathBytes) &&
         r.U64(m.declared_size) && GetBool(r, m.body_8bitmime);
}
bool Get(Reader& r, RelayRcptRequest& m) { return r.Name(m.forward_path, 1, kMaxPathBytes); }
bool Get(Reader&, RelayDataRequest&) { return true; }
bool Get(Reader& r, RelayAppendRequest& m) { return r.Bytes(m.data, 1, kMaxChunkBytes); }
bool Get(Reader&, RelayEndRequest&) { return true; }
bool Get(Reader& r, RelayReply& m) {
  return ReadStatus(r, m.status) && r.U16(m.code) && r.Name(m.enhanced, 0, kMaxEnhancedCodeBytes) &&
         ValidRelayReply(m.status, m.code, m.enhanced);
}

// ----------------------------------------------------------------- TKIM

void Put(Writer&, const ServerKeyRequest&) {}
void Put(Writer& w, const ServerKeyReply& m) {
  if (m.status != Status::kOk && !m.spki_der.empty()) w.Fail("server key reply");
  PutStatus(w, m.status);
  w.Bytes(m.spki_der, 0, kMaxPublicKeyBytes, "spki_der");
}
void Put(Writer& w, const TkimProofRequest& m) {
  w.Name(m.receiver_domain, 1, kMaxRelayDomainBytes, "receiver_domain");
  w.Raw(m.channel_binding.data(), m.channel_binding.size());
}
void Put(Writer& w, const TkimProofReply& m) {
  if (m.status != Status::kOk && !m.proof.empty()) w.Fail("tkim proof reply");
  PutStatus(w, m.status);
  w.Bytes(m.proof, 0, mail::kMaxTormBlobBytes, "proof");
}
void Put(Writer& w, const TkimCheckRequest& m) {
  w.Raw(m.channel_binding.data(), m.channel_binding.size());
  w.Bytes(m.proof, 1, mail::kMaxTormBlobBytes, "proof");
}
void Put(Writer& w, const TkimCheckReply& m) {
  if (m.status != Status::kOk && (!m.sender_domain.empty() || !m.vouch.empty())) {
    w.Fail("tkim check reply");
  }
  if (!m.vouch.empty() && m.vouch.size() != kTkimVouchBytes) w.Fail("vouch");
  PutStatus(w, m.status);
  w.Name(m.sender_domain, 0, kMaxRelayDomainBytes, "sender_domain");
  w.Bytes(m.vouch, 0, kTkimVouchBytes, "vouch");
}
void Put(Writer& w, const TkimVouchRequest& m) {
  w.Name(m.sender_domain, 1, kMaxRelayDomainBytes, "sender_domain");
}
void Put(Writer& w, const TkimVouchReply& m) {
  if (m.vouch.size() != (m.status == Status::kOk ? kTkimVouchBytes : 0)) w.Fail("vouch");
  PutStatus(w, m.status);
  w.Name(m.sender_domain, 1, kMaxRelayDomainBytes, "sender_domain");
  w.Bytes(m.vouch, 0, kTkimVouchBytes, "vouch");
}
void Put(Writer& w, const TkimProvenRequest& m) {
  w.Name(m.sender_domain, 1, kMaxRelayDomainBytes, "sender_domain");
  w.Bytes(m.vouch, kTkimVouchBytes, kTkimVouchBytes, "vouch");
}

bool Get(Reader&, ServerKeyRequest&) { return true; }
bool Get(Reader& r, ServerKeyReply& m) {
  return ReadStatus(r, m.status) && r.Bytes(m.spki_der, 0, kMaxPublicKeyBytes) &&
         (m.status == Status::kOk || m.spki_der.empty());
}
bool Get(Reader& r, TkimProofRequest& m) {
  return r.Name(m.receiver_domain, 1, kMaxRelayDomainBytes) && r.Fixed(m.channel_binding);
}
bool Get(Reader& r, TkimProofReply& m) {
  return ReadStatus(r, m.status) && r.Bytes(m.proof, 0, mail::kMaxTormBlobBytes) &&
         (m.status == Status::kOk || m.proof.empty());
}
bool Get(Reader& r, TkimCheckRequest& m) {
  return r.Fixed(m.channel_binding) && r.Bytes(m.proof, 1, mail::kMaxTormBlobBytes);
}
bool Get(Reader& r, TkimCheckReply& m) {
  return ReadStatus(r, m.status) && r.Name(m.sender_domain, 0, kMaxRelayDomainBytes) &&
         r.Bytes(m.vouch, 0, kTkimVouchBytes) &&
         (m.vouch.empty() || m.vouch.size() == kTkimVouchBytes) &&
         (m.status == Status::kOk || (m.sender_domain.empty() && m.vouch.empty()));
}
bool Get(Reader& r, TkimVouchRequest& m) {
  return r.Name(m.sender_domain, 1, kMaxRelayDomainBytes);
}
bool Get(Reader& r, TkimVouchReply& m) {
  return ReadStatus(r, m.status) && r.Name(m.sender_domain, 1, kMaxRelayDomainBytes) &&
         r.Bytes(m.vouch, 0, kTkimVouchBytes) &&
         m.vouch.size() == (m.status == Status::kOk ? kTkimVouchBytes : 0);
}
bool Get(Reader& r, TkimProvenRequest& m) {
  return r.Name(m.sender_domain, 1, kMaxRelayDomainBytes) &&
         r.Bytes(m.vouch, kTkimVouchBytes, kTkimVouchBytes);
}

// ----------------------------------------------------------- block lists

void Put(Writer& w, const BlockListRequest& m) {
  if (m.op > 3) w.Fail("op");
  w.U16(m.op);
  w.Name(m.entry, 0, kMaxBlockEntryBytes, "entry");
}
void Put(Writer& w, const BlockListReply& m) {
  if (m.status != Status::kOk && !m.entries.empty()) w.Fail("block list reply");
  PutStatus(w, m.status);
  w.Count(m.entries.size(), 0, kMaxBlockEntries, "entries");
  for (const auto& e : m.entries) w.Name(e, 1, kMaxBlockEntryBytes, "entries");
}

bool Get(Reader& r, BlockListRequest& m) {
  return r.U16(m.op) && m.op <= 3 && r.Name(m.entry, 0, kMaxBlockEntryBytes);
}
bool Get(Reader& r, BlockListReply& m) {
  size_t n = 0;
  if (!ReadStatus(r, m.status) || !r.Count(n, 0, kMaxBlockEntries)) return false;
  if (m.status != Status::kOk && n != 0) return false;
  m.entries.resize(n);
  for (auto& e : m.entries) {
    if (!r.Name(e, 1, kMaxBlockEntryBytes)) return false;
  }
  return true;
}

// --------------------------------------------------------- mailing lists

bool ValidListReply(const ListReply& m) {
  if (m.owner.empty()) return m.members.empty() && !m.announce && !m.moderated;
  if (m.announce && m.moderated) return false;
  return m.status == Status::kOk &&
         std::find(m.members.begin(), m.members.end(), m.owner) != m.members.end();
}

void Put(Writer& w, const ListRequest& m) {
  if (m.op > mail::kMaxListOp) w.Fail("op");
  w.U16(m.op);
  w.Name(m.name, 1, kMaxListNameBytes, "name");
  w.Name(m.user, 0, kMaxListMemberBytes, "user");
}
void Put(Writer& w, const ListReply& m) {
  if (!ValidListReply(m)) w.Fail("list reply");
  PutStatus(w, m.status);
  w.Name(m.owner, 0, kMaxLocalPartBytes, "owner");
  w.Count(m.members.size(), 0, kMaxListMembers, "members");
  for (const auto& u : m.members) w.Name(u, 1, kMaxListMemberBytes, "members");
  PutBool(w, m.announce);
  PutBool(w, m.moderated);
}

bool Get(Reader& r, ListRequest& m) {
  return r.U16(m.op) && m.op <= mail::kMaxListOp && r.Name(m.name, 1, kMaxListNameBytes) &&
         r.Name(m.user, 0, kMaxListMemberBytes);
}
bool Get(Reader& r, ListReply& m) {
  size_t n = 0;
  if (!ReadStatus(r, m.status) || !r.Name(m.owner, 0, kMaxLocalPartBytes) ||
      !r.Count(n, 0, kMaxListMembers)) {
    return false;
  }
  m.members.resize(n);
  for (auto& u : m.members) {
    if (!r.Name(u, 1, kMaxListMemberBytes)) return false;
  }
  return GetBool(r, m.announce) && GetBool(r, m.moderated) && ValidListReply(m);
}

}  // namespace onionmail::ipc::internal
