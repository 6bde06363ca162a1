// Encoding and durable storage of the unseal enrolment record; see enrolment_record.h.
#include "unseal/enrolment_record.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <utility>

#include "store/durable_file.h"
#include "unseal/shamir.h"

namespace onionmail::unseal {

namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void Raw(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void V8(std::span<const uint8_t> b) {
    U8(static_cast<uint8_t>(b.size()));
    Raw(b);
  }
  void V16(std::span<const uint8_t> b) {
    U16(static_cast<uint16_t>(b.size()));
    Raw(b);
  }
  std::vector<uint8_t>& out() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

// Bounds-checked reader; every accessor fails once the input is exhausted.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  std::optional<std::span<const uint8_t>> Raw(size_t n) {
    if (n > in_.size()) return std::nullopt;
    auto b = in_.first(n);
    in_ = in_.subspan(n);
    return b;
  }
  std::optional<uint32_t> UInt(size_t n) {
    auto b = Raw(n);
    if (!b) return std::nullopt;
    uint32_t v = 0;
    for (uint8_t byte : *b) v = (v << 8) | byte;
    return v;
  }
  std::optional<std::span<const uint8_t>> V8() {
    auto len = UInt(1);
    if (!len) return std::nullopt;
    return Raw(*len);
  }
  std::optional<std::span<const uint8_t>> V16() {
    auto len = UInt(2);
    if (!len) return std::nullopt;
    return Raw(*len);
  }
  bool AtEnd() const { return in_.empty(); }

 private:
  std::span<const uint8_t> in_;
};

template <size_t N>
bool CopyFixed(const std::optional<std::span<const uint8_t>>& in, std::array<uint8_t, N>& out) {
  if (!in || in->size() != N) return false;
  std::copy(in->begin(), in->end(), out.begin());
  return true;
}

Error Malformed(const std::string& what) {
  return MakeError(ErrorCode::kDataLoss, "malformed unseal enrolment record: " + what);
}

// The rules shared by the encoder and the decoder; returns what is wrong, or nothing.
std::optional<std::string> CheckRecord(const EnrolmentRecord& r) {
  if (r.t < 2 || r.n < r.t || r.n > kShamirMaxShares) return "need 2 <= t <= n <= 32";
  if (r.peers.size() != static_cast<size_t>(r.n - 1)) return "peer count is not n - 1";
  if (r.local_sealed_share.empty() || r.local_sealed_share.size() > 0xffff) {
    return "bad local share size";
  }
  std::set<std::string> ids;
  std::array<bool, 256> seen_x{};
  for (const EnrolledPeer& p : r.peers) {
    if (p.peer_id.empty() || p.peer_id.size() > kMaxPeerIdSize) return "bad peer_id length";
    if (!ids.insert(p.peer_id).second) return "duplicate peer_id";
    if (p.x < 2 || p.x > r.n || seen_x[p.x]) return "bad or repeated share x";
    seen_x[p.x] = true;
    if (p.encrypted_share.size() != kEncryptedShareSize) return "bad encrypted share size";
    if (!ParsePoint(p.S).ok() || !ParsePoint(p.C).ok()) return "invalid point";
  }
  return std::nullopt;
}

}  // namespace

std::vector<uint8_t> ShareAad(std::string_view peer_id, uint8_t x) {
  std::vector<uint8_t> aad(kShareAadLabel.begin(), kShareAadLabel.end());
  aad.push_back(static_cast<uint8_t>(peer_id.size()));
  aad.insert(aad.end(), peer_id.begin(), peer_id.end());
  aad.push_back(x);
  return aad;
}

Result<crypto::Digest> MasterKeyCommitment(const SecretBytes& master_key) {
  if (master_key.size() != kShamirSecretSize) {
    return MakeError(ErrorCode::kInvalidArgument, "master key must be 32 bytes");
  }
  return crypto::HmacSha256(master_key, Bytes(kCommitmentLabel));
}

Result<std::vector<uint8_t>> EncodeEnrolmentRecord(const EnrolmentRecord& r) {
  if (auto wrong = CheckRecord(r)) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot encode enrolment record: " + *wrong);
  }
  Writer w;
  w.U8(kEnrolmentVersion);
  w.U8(static_cast<uint8_t>(r.t));
  w.U8(static_cast<uint8_t>(r.n));
  w.Raw(r.commitment);
  w.V16(r.local_sealed_share);
  w.U8(static_cast<uint8_t>(r.peers.size()));
  for (const EnrolledPeer& p : r.peers) {
    w.V8(Bytes(p.peer_id));
    w.Raw(p.tls_pin);
    w.Raw(p.S);
    w.Raw(p.C);
    w.U8(p.x);
    w.V16(p.encrypted_share);
  }
  return std::move(w.out());
}

Result<EnrolmentRecord> DecodeEnrolmentRecord(std::span<const uint8_t> plaintext) {
  Reader in(plaintext);
  auto version = in.UInt(1);
  if (!version || *version != kEnrolmentVersion) return Malformed("unsupported version");
  auto t = in.UInt(1), n = in.UInt(1);
  if (!t || !n) return Malformed("truncated");
  EnrolmentRecord r;
  r.t = static_cast<int>(*t);
  r.n = static_cast<int>(*n);
  if (!CopyFixed(in.Raw(r.commitment.size()), r.commitment)) return Malformed("truncated");
  auto local = in.V16();
  if (!local) return Malformed("truncated");
  r.local_sealed_share.assign(local->begin(), local->end());
  auto count = in.UInt(1);
  if (!count) return Malformed("truncated");
  for (uint32_t i = 0; i < *count; ++i) {
    EnrolledPeer p;
    auto id = in.V8();
    if (!id) return Malformed("truncated");
    p.peer_id.assign(id->begin(), id->end());
    if (!CopyFixed(in.Raw(p.tls_pin.size()), p.tls_pin) || !CopyFixed(in.Raw(kPointSize), p.S) ||
        !CopyFixed(in.Raw(kPointSize), p.C)) {
      return Malformed("truncated");
    }
    auto x = in.UInt(1);
    auto share = in.V16();
    if (!x || !share) return Malformed("truncated");
    p.x = static_cast<uint8_t>(*x);
    p.encrypted_share.assign(share->begin(), share->end());
    r.peers.push_back(std::move(p));
  }
  if (!in.AtEnd()) return Malformed("trailing bytes");
  if (auto wrong = CheckRecord(r)) return Malformed(*wrong);
  return r;
}

std::string UnsealDir(const std::string& state_dir) {
  return state_dir + "/" + std::string(kUnsealDirName);
}

std::string EnrolmentPath(const std::string& state_dir) {
  return UnsealDir(state_dir) + "/" + std::string(kEnrolmentFileName);
}

Result<void> WriteEnrolmentRecord(const std::string& state_dir, hsm::KeyStore& device,
                                  const EnrolmentRecord& record, bool replace) {
  auto plaintext = EncodeEnrolmentRecord(record);
  if (!plaintext.ok()) return plaintext.error();
  auto sealed = device.SealRecord(*plaintext, Bytes(kEnrolmentAad));
  if (!sealed.ok()) return sealed.error();
  const std::string dir = UnsealDir(state_dir);
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(dir));
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return store::ErrnoError("cannot stat", dir, errno);
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return store::ErrnoError("cannot make private", dir, errno);
  }
  return store::WriteFileDurably(dir, EnrolmentPath(state_dir), *sealed, replace);
}

Result<EnrolmentRecord> ReadEnrolmentRecord(const std::string& state_dir, hsm::KeyStore& device) {
  const std::string path = EnrolmentPath(state_dir);
  auto sealed = store::ReadSmallFile(path, kMaxEnrolmentFileSize);
  if (!sealed.ok()) {
    if (sealed.error().code == ErrorCode::kNotFound) {
      return MakeError(ErrorCode::kNotFound, "no unseal enrolment at " + path);
    }
    return sealed.error();
  }
  auto opened = device.OpenRecord(*sealed, Bytes(kEnrolmentAad));
  if (!opened.ok()) {
    return MakeError(ErrorCode::kDataLoss,
                     "unseal enrolment record failed authentication with the device");
  }
  return DecodeEnrolmentRecord(opened->Reveal(SecretAccess::Grant()));
}

}  // namespace onionmail::unseal
