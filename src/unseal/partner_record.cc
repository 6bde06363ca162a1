// Partner record encoding and sealing; see partner_record.h.
#include "unseal/partner_record.h"

#include <cstring>
#include <utility>

namespace onionmail::unseal {

namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr uint8_t kKindLive = 1;
constexpr uint8_t kKindTombstone = 2;
constexpr uint8_t kSealedByDevice = 1;    // tombstones: KeyStore::SealRecord
constexpr uint8_t kSealedByErasable = 2;  // live records: KeyStore::SealErasable
constexpr uint8_t kFlagDisabled = 0x01;

Error Invalid(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "partner record: " + what);
}

Error Corrupt(const std::string& what) {
  return MakeError(ErrorCode::kDataLoss, "partner record malformed: " + what);
}

// Appends big-endian integers and bytes to `out`, or only counts them when
// `out` is empty (first pass, to size the SecretBytes exactly).
class Writer {
 public:
  explicit Writer(std::span<uint8_t> out) : out_(out) {}
  void U8(uint8_t v) { Put(&v, 1); }
  void U16(uint16_t v) { Uint(v, 2); }
  void U32(uint32_t v) { Uint(v, 4); }
  void U64(uint64_t v) { Uint(v, 8); }
  void Bytes(std::span<const uint8_t> b) { Put(b.data(), b.size()); }
  void Str(std::string_view s) { Put(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  size_t size() const { return pos_; }

 private:
  void Uint(uint64_t v, int bytes) {
    uint8_t b[8];
    for (int i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - i)));
    Put(b, static_cast<size_t>(bytes));
  }
  void Put(const uint8_t* p, size_t n) {
    if (!out_.empty()) {
      ONIONMAIL_CHECK(pos_ + n <= out_.size());
      if (n != 0) std::memcpy(out_.data() + pos_, p, n);
    }
    pos_ += n;
  }
  std::span<uint8_t> out_;
  size_t pos_ = 0;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  bool U8(uint8_t* v) {
    uint64_t x;
    if (!Uint(1, &x)) return false;
    *v = static_cast<uint8_t>(x);
    return true;
  }
  bool U16(uint16_t* v) {
    uint64_t x;
    if (!Uint(2, &x)) return false;
    *v = static_cast<uint16_t>(x);
    return true;
  }
  bool U32(uint32_t* v) {
    uint64_t x;
    if (!Uint(4, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool U64(uint64_t* v) { return Uint(8, v); }
  bool Bytes(size_t n, std::span<const uint8_t>* out) {
    if (in_.size() - pos_ < n) return false;
    *out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  template <size_t N>
  bool Fixed(std::array<uint8_t, N>* out) {
    std::span<const uint8_t> b;
    if (!Bytes(N, &b)) return false;
    std::memcpy(out->data(), b.data(), N);
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  bool Uint(size_t bytes, uint64_t* v) {
    if (in_.size() - pos_ < bytes) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < bytes; ++i) x = (x << 8) | in_[pos_ + i];
    pos_ += bytes;
    *v = x;
    return true;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

bool IsAddressByte(uint8_t c) { return c >= 0x21 && c <= 0x7e; }

void Serialize(const PartnerRecord& r, Writer& w) {
  w.U8(kRecordVersion);
  w.U8(r.destroyed ? kKindTombstone : kKindLive);
  w.Bytes(r.partner_id);
  w.Bytes(r.kctl_pub);
  w.U64(r.enrolled_unix);
  w.U64(r.state.answered_total);
  w.U64(r.state.last_answer_unix);
  w.U64(r.state.last_kctl_serial);
  w.U8(r.state.last_kctl_action);
  w.U32(r.state.last_kctl_credits);
  if (r.destroyed) {
    w.U64(r.destroyed_unix);
    w.U64(r.erasable_epoch);
    return;
  }
  w.U16(static_cast<uint16_t>(r.spki_der.size()));
  w.Bytes(r.spki_der);
  w.Bytes(r.s.Reveal(SecretAccess::Grant()));
  w.Bytes(r.S);
  w.U8(static_cast<uint8_t>(r.peer_id.size()));
  w.Str(r.peer_id);
  w.U8(r.t);
  w.U8(r.n);
  w.U32(r.state.credits_left);
  w.U8(r.state.disabled ? kFlagDisabled : 0);
  w.U8(static_cast<uint8_t>(r.forwards.size()));
  for (const ForwardPeer& f : r.forwards) {
    w.U8(static_cast<uint8_t>(f.address.size()));
    w.Str(f.address);
    w.Bytes(f.tls_pin);
  }
}

}  // namespace

Result<void> CheckPartnerFields(const PartnerRecord& r) {
  if (r.state.last_kctl_action > static_cast<uint8_t>(KctlAction::kDestroy)) {
    return Invalid("unknown last KCTL action");
  }
  if (r.destroyed) {
    if (!r.spki_der.empty() || !r.s.empty() || !r.peer_id.empty() || !r.forwards.empty()) {
      return Invalid("a tombstone holds no key material");
    }
    return Ok();
  }
  if (r.spki_der.empty() || r.spki_der.size() > kMaxPartnerSpkiSize) {
    return Invalid("SPKI size out of range");
  }
  if (r.peer_id.empty() || r.peer_id.size() > kMaxPeerIdSize) {
    return Invalid("peer_id must be 1..255 bytes");
  }
  if (r.t < 2 || r.t > r.n || r.n > kMaxShares) {
    return Invalid("t and n must satisfy 2 <= t <= n <= 32");
  }
  if (r.forwards.size() > kMaxForwardPeers) return Invalid("more than 32 forward peers");
  for (const ForwardPeer& f : r.forwards) {
    if (f.address.empty() || f.address.size() > kMaxAddressSize) {
      return Invalid("forward address must be 1..255 bytes");
    }
    for (char c : f.address) {
      if (!IsAddressByte(static_cast<uint8_t>(c))) {
        return Invalid("forward address must be printable ASCII without spaces");
      }
    }
  }
  return Ok();
}

Result<SecretBytes> EncodePartnerRecord(const PartnerRecord& record) {
  ONIONMAIL_RETURN_IF_ERROR(CheckPartnerFields(record));
  if (!record.destroyed && record.s.size() != kScalarSize) return Invalid("scalar size");
  Writer counter({});
  Serialize(record, counter);
  SecretBytes out(counter.size());
  Writer w(out.Reveal(SecretAccess::Grant()));
  Serialize(record, w);
  ONIONMAIL_CHECK(w.size() == out.size());
  return out;
}

Result<PartnerRecord> DecodePartnerRecord(std::span<const uint8_t> encoded) {
  Reader r(encoded);
  PartnerRecord rec;
  uint8_t version = 0, kind = 0;
  if (!r.U8(&version) || !r.U8(&kind)) return Corrupt("short header");
  if (version != kRecordVersion) return Corrupt("unknown version");
  if (kind != kKindLive && kind != kKindTombstone) return Corrupt("unknown kind");
  rec.destroyed = kind == kKindTombstone;
  PartnerState& st = rec.state;
  if (!r.Fixed(&rec.partner_id) || !r.Fixed(&rec.kctl_pub) || !r.U64(&rec.enrolled_unix) ||
      !r.U64(&st.answered_total) || !r.U64(&st.last_answer_unix) || !r.U64(&st.last_kctl_serial) ||
      !r.U8(&st.last_kctl_action) || !r.U32(&st.last_kctl_credits)) {
    return Corrupt("short common fields");
  }
  if (rec.destroyed) {
    if (!r.U64(&rec.destroyed_unix) || !r.U64(&rec.erasable_epoch)) {
      return Corrupt("short tombstone");
    }
  } else {
    uint16_t spki_len = 0;
    std::span<const uint8_t> spki, s, point, peer_id;
    uint8_t peer_len = 0, flags = 0, count = 0;
    if (!r.U16(&spki_len) || !r.Bytes(spki_len, &spki) || !r.Bytes(kScalarSize, &s) ||
        !r.Bytes(kPointSize, &point) || !r.U8(&peer_len) || !r.Bytes(peer_len, &peer_id) ||
        !r.U8(&rec.t) || !r.U8(&rec.n) || !r.U32(&st.credits_left) || !r.U8(&flags) ||
        !r.U8(&count)) {
      return Corrupt("short live record");
    }
    if ((flags & ~kFlagDisabled) != 0) return Corrupt("unknown flags");
    st.disabled = (flags & kFlagDisabled) != 0;
    rec.spki_der.assign(spki.begin(), spki.end());
    rec.s = SecretBytes(SecretAccess::Grant(), s);
    auto parsed = ParsePoint(point);
    if (!parsed.ok()) return Corrupt("S is not a valid point");
    rec.S = *parsed;
    rec.peer_id.assign(peer_id.begin(), peer_id.end());
    if (count > kMaxForwardPeers) return Corrupt("too many forwards");
    for (uint8_t i = 0; i < count; ++i) {
      ForwardPeer f;
      uint8_t len = 0;
      std::span<const uint8_t> addr;
      if (!r.U8(&len) || !r.Bytes(len, &addr) || !r.Fixed(&f.tls_pin))
        return Corrupt("short forward");
      f.address.assign(addr.begin(), addr.end());
      rec.forwards.push_back(std::move(f));
    }
  }
  if (!r.done()) return Corrupt("trailing bytes");
  auto checked = CheckPartnerFields(rec);
  if (!checked.ok()) return Corrupt(checked.error().message);
  return rec;
}

Result<PartnerFileHash> PartnerFileHashOf(hsm::KeyStore& keys, const PartnerId& partner_id,
                                          bool tombstone) {
  return keys.KeyedHash(tombstone ? kPartnerTombstonePurpose : kPartnerLivePurpose, partner_id);
}

std::vector<uint8_t> PartnerRecordAad(const PartnerFileHash& file_hash) {
  // Sized up front (vector::insert here trips a GCC 12 -Warray-bounds false positive).
  std::vector<uint8_t> aad(kPartnerAadLabel.size() + file_hash.size());
  std::memcpy(aad.data(), kPartnerAadLabel.data(), kPartnerAadLabel.size());
  std::memcpy(aad.data() + kPartnerAadLabel.size(), file_hash.data(), file_hash.size());
  return aad;
}

Result<std::vector<uint8_t>> SealPartnerRecord(hsm::KeyStore& keys, const PartnerRecord& record) {
  auto hash = PartnerFileHashOf(keys, record.partner_id, record.destroyed);
  if (!hash.ok()) return hash.error();
  auto plain = EncodePartnerRecord(record);
  if (!plain.ok()) return plain.error();
  const auto aad = PartnerRecordAad(*hash);
  std::vector<uint8_t> out;
  Result<std::vector<uint8_t>> sealed = std::vector<uint8_t>();
  if (record.destroyed) {
    out.push_back(kSealedByDevice);
    sealed = keys.SealRecord(plain->Reveal(SecretAccess::Grant()), aad);
  } else {
    if (record.erasable_epoch == 0) {
      return MakeError(ErrorCode::kInvalidArgument, "live partner record without an epoch");
    }
    out.push_back(kSealedByErasable);
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<uint8_t>(record.erasable_epoch >> (8 * i)));
    sealed = keys.SealErasable(record.erasable_epoch, plain->Reveal(SecretAccess::Grant()), aad);
  }
  if (!sealed.ok()) return sealed.error();
  out.insert(out.end(), sealed->begin(), sealed->end());
  return out;
}

uint64_t PartnerFileEpoch(std::span<const uint8_t> sealed) {
  if (sealed.size() <= 9 || sealed[0] != kSealedByErasable) return 0;
  uint64_t epoch = 0;
  for (size_t i = 1; i <= 8; ++i) epoch = (epoch << 8) | sealed[i];
  return epoch;
}

Result<PartnerRecord> OpenPartnerRecord(hsm::KeyStore& keys, std::span<const uint8_t> sealed,
                                        const PartnerFileHash& file_hash) {
  if (sealed.empty()) return Corrupt("empty file");
  const auto aad = PartnerRecordAad(file_hash);
  uint64_t epoch = 0;
  Result<SecretBytes> plain = SecretBytes();
  if (sealed[0] == kSealedByDevice) {
    plain = keys.OpenRecord(sealed.subspan(1), aad);
  } else if (sealed[0] == kSealedByErasable && sealed.size() > 9) {
    epoch = PartnerFileEpoch(sealed);
    if (epoch == 0) return Corrupt("epoch 0");
    plain = keys.OpenErasable(epoch, sealed.subspan(9), aad);
  } else {
    return Corrupt("unknown sealing");
  }
  if (!plain.ok()) return plain.error();
  auto rec = DecodePartnerRecord(plain->Reveal(SecretAccess::Grant()));
  if (!rec.ok()) return rec.error();
  if (rec->destroyed != (sealed[0] == kSealedByDevice)) return Corrupt("sealing does not fit kind");
  if (!rec->destroyed) rec->erasable_epoch = epoch;
  auto expected = PartnerFileHashOf(keys, rec->partner_id, rec->destroyed);
  if (!expected.ok()) return expected.error();
  if (*expected != file_hash) return Corrupt("partner id does not match the file name");
  return rec;
}

}  // namespace onionmail::unseal
