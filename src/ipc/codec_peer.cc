// Wire fields of the peer role's messages; see ipc/codec_peer.h.
#include "ipc/codec_peer.h"

namespace onionmail::ipc::internal {

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

}  // namespace onionmail::ipc::internal
