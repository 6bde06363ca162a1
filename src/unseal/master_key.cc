// Enrolment and unseal of the master key; see master_key.h.
#include "unseal/master_key.h"

#include <openssl/crypto.h>

#include <set>
#include <utility>

#include "crypto/aead.h"
#include "crypto/random.h"

namespace onionmail::unseal {

namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Error Invalid(std::string what) {
  return MakeError(ErrorCode::kInvalidArgument, "unseal: " + std::move(what));
}

std::string PeerName(size_t index) { return "peer " + std::to_string(index); }

Result<void> CheckEnrolInput(const SecretBytes& master_key, int t,
                             std::span<const EnrolPeer> peers) {
  if (master_key.size() != kMasterKeySize) return Invalid("master key must be 32 bytes");
  const size_t n = peers.size() + 1;
  if (t < 2 || n < static_cast<size_t>(t) || n > static_cast<size_t>(kShamirMaxShares)) {
    return Invalid("need 2 <= t <= n <= 32 (n = peers + 1)");
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < peers.size(); ++i) {
    const EnrolPeer& p = peers[i];
    if (p.peer_id.empty() || p.peer_id.size() > kMaxPeerIdSize) {
      return Invalid(PeerName(i) + ": peer_id must be 1..255 bytes");
    }
    if (!ids.insert(p.peer_id).second) return Invalid(PeerName(i) + ": duplicate peer_id");
    if (!ParsePoint(p.S).ok()) return Invalid(PeerName(i) + ": S is not a valid point");
  }
  return Ok();
}

// Applies the enrolment mode; returns whether an existing record is replaced.
Result<bool> CheckExisting(const std::string& state_dir, hsm::KeyStore& device,
                           const crypto::Digest& commitment, EnrolMode mode) {
  auto existing = ReadEnrolmentRecord(state_dir, device);
  if (!existing.ok() && existing.error().code == ErrorCode::kNotFound) return false;
  switch (mode) {
    case EnrolMode::kNew:
      return MakeError(ErrorCode::kAlreadyExists,
                       "an unseal enrolment exists at " + EnrolmentPath(state_dir));
    case EnrolMode::kReplace:
      return true;
    case EnrolMode::kReEnrolSameKey:
      if (!existing.ok()) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "cannot re-enrol: the existing enrolment does not open (" +
                             existing.error().message + ")");
      }
      if (CRYPTO_memcmp(existing->commitment.data(), commitment.data(), commitment.size()) != 0) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "cannot re-enrol: the existing enrolment is for another master key");
      }
      return true;
  }
  return Invalid("unknown enrolment mode");
}

}  // namespace

SecretBytes NewMasterKey() { return crypto::RandomSecret(kMasterKeySize); }

Result<EnrolSummary> Enrol(const std::string& state_dir, hsm::KeyStore& device,
                           const SecretBytes& master_key, int t, std::span<const EnrolPeer> peers,
                           const EnrolOptions& options) {
  ONIONMAIL_RETURN_IF_ERROR(CheckEnrolInput(master_key, t, peers));
  const int n = static_cast<int>(peers.size()) + 1;
  auto commitment = MasterKeyCommitment(master_key);
  if (!commitment.ok()) return commitment.error();
  auto replace = CheckExisting(state_dir, device, *commitment, options.mode);
  if (!replace.ok()) return replace.error();

  auto shares = Split(master_key, t, n);
  if (!shares.ok()) return shares.error();
  const SecretAccess access = SecretAccess::Grant();

  EnrolmentRecord record;
  record.t = t;
  record.n = n;
  record.commitment = *commitment;
  {
    auto local = EncodeShare((*shares)[0]);
    if (!local.ok()) return local.error();
    auto sealed = device.SealRecord(std::as_const(*local).Reveal(access), Bytes(kLocalShareAad));
    if (!sealed.ok()) return sealed.error();
    record.local_sealed_share = std::move(*sealed);
  }
  for (size_t i = 0; i < peers.size(); ++i) {
    const Share& share = (*shares)[i + 1];
    auto enrolment = options.scalar_for_test ? ServerEnrollWithScalar(peers[i].S, peers[i].peer_id,
                                                                      options.scalar_for_test(i))
                                             : ServerEnroll(peers[i].S, peers[i].peer_id);
    if (!enrolment.ok()) return enrolment.error();
    auto encoded = EncodeShare(share);
    if (!encoded.ok()) return encoded.error();
    auto encrypted = crypto::AeadSeal(enrolment->K, std::as_const(*encoded).Reveal(access),
                                      ShareAad(peers[i].peer_id, share.x));
    if (!encrypted.ok()) return encrypted.error();
    EnrolledPeer p;
    p.peer_id = peers[i].peer_id;
    p.tls_pin = peers[i].tls_pin;
    p.S = peers[i].S;
    p.C = enrolment->C;
    p.x = share.x;
    p.encrypted_share = std::move(*encrypted);
    record.peers.push_back(std::move(p));
  }  // K_i and each share encoding are wiped here; c_i never left ecmr.
  ONIONMAIL_RETURN_IF_ERROR(WriteEnrolmentRecord(state_dir, device, record, *replace));
  return EnrolSummary{t, n, *commitment};
}

const char* PeerStateName(PeerState state) {
  switch (state) {
    case PeerState::kPending:
      return "pending";
    case PeerState::kAnswered:
      return "answered";
    case PeerState::kWrong:
      return "wrong";
    case PeerState::kUnreachable:
      return "unreachable";
  }
  return "unknown";
}

Result<std::unique_ptr<Unsealer>> Unsealer::Load(const std::string& state_dir,
                                                 hsm::KeyStore& device) {
  auto record = ReadEnrolmentRecord(state_dir, device);
  if (!record.ok()) return record.error();
  auto local = device.OpenRecord(record->local_sealed_share, Bytes(kLocalShareAad));
  if (!local.ok()) {
    return MakeError(ErrorCode::kDataLoss, "unseal: local share failed authentication");
  }
  auto share = DecodeShare(*local);
  if (!share.ok() || share->x != 1) {
    return MakeError(ErrorCode::kDataLoss, "unseal: local share is malformed");
  }
  std::unique_ptr<Unsealer> u(new Unsealer());
  u->t_ = record->t;
  u->n_ = record->n;
  u->commitment_ = record->commitment;
  u->shares_.push_back(std::move(*share));
  u->shares_held_ = 1;
  for (EnrolledPeer& p : record->peers) u->slots_.push_back(Slot{std::move(p), {}, {}, {}});
  return u;
}

std::vector<UnsealPeer> Unsealer::peers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<UnsealPeer> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    out.push_back(UnsealPeer{i, slots_[i].peer.peer_id, slots_[i].peer.tls_pin});
  }
  return out;
}

Result<Point> Unsealer::BeginPeer(size_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= slots_.size()) return Invalid("no such peer index");
  if (unsealed_) return MakeError(ErrorCode::kFailedPrecondition, "unseal: already unsealed");
  Slot& slot = slots_[index];
  if (slot.state == PeerState::kAnswered) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "unseal: " + PeerName(index) + " already answered");
  }
  auto blinded = ServerBlind(slot.peer.C, slot.peer.S);
  if (!blinded.ok()) return blinded.error();
  slot.e = std::move(blinded->e);  // the previous e, if any, is wiped
  slot.state = PeerState::kPending;
  return blinded->X;
}

Result<PeerOutcome> Unsealer::AcceptAnswer(size_t index, const Point& Y) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= slots_.size()) return Invalid("no such peer index");
  if (unsealed_) return MakeError(ErrorCode::kFailedPrecondition, "unseal: already unsealed");
  Slot& slot = slots_[index];
  if (slot.state == PeerState::kAnswered) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "unseal: " + PeerName(index) + " already answered");
  }
  if (slot.e.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "unseal: no request outstanding for " + PeerName(index));
  }
  Result<SecretBytes> key = [&] {
    const SecretBytes e = std::move(slot.e);  // wiped when this scope ends
    return ServerUnblind(Y, e, slot.peer.S, slot.peer.peer_id);
  }();
  if (!key.ok()) {
    if (key.error().code != ErrorCode::kInvalidArgument) {
      slot.last_error = key.error().message;
      return key.error();
    }
    slot.state = PeerState::kWrong;
    slot.last_error = "wrong answer (not a valid point)";
    return Invalid(PeerName(index) + " answered with an invalid point");
  }
  auto opened =
      crypto::AeadOpen(*key, slot.peer.encrypted_share, ShareAad(slot.peer.peer_id, slot.peer.x));
  if (!opened.ok()) {
    slot.state = PeerState::kWrong;
    slot.last_error = "wrong answer";
    return MakeError(ErrorCode::kDataLoss, "unseal: " + PeerName(index) +
                                               " answered wrongly (share failed authentication)");
  }
  auto share = DecodeShare(*opened);
  if (!share.ok() || share->x != slot.peer.x) {
    slot.state = PeerState::kWrong;
    slot.last_error = "share does not match the enrolment";
    return MakeError(ErrorCode::kDataLoss,
                     "unseal: the share of " + PeerName(index) + " does not match the enrolment");
  }
  shares_.push_back(std::move(*share));
  ++shares_held_;
  slot.state = PeerState::kAnswered;
  slot.last_error.clear();
  return CombineIfReady();
}

Result<PeerOutcome> Unsealer::CombineIfReady() {
  if (shares_held_ < t_) return PeerOutcome{shares_held_, t_, false};
  auto combined = Combine(shares_, t_);
  if (!combined.ok()) {
    last_error_ = combined.error().message;
    return combined.error();
  }
  auto check = MasterKeyCommitment(*combined);
  if (!check.ok()) return check.error();
  if (CRYPTO_memcmp(check->data(), commitment_.data(), commitment_.size()) != 0) {
    last_error_ = "combined key does not match the commitment";
    return MakeError(ErrorCode::kDataLoss, "unseal: combined key does not match the commitment");
  }
  master_ = std::move(*combined);
  unsealed_ = true;
  last_error_.clear();
  shares_.clear();  // SecretBytes: wiped
  for (Slot& slot : slots_) slot.e = SecretBytes();
  return PeerOutcome{shares_held_, t_, true};
}

Result<void> Unsealer::MarkUnreachable(size_t index, std::string reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= slots_.size()) return Invalid("no such peer index");
  Slot& slot = slots_[index];
  if (slot.state == PeerState::kAnswered) return Ok();
  slot.e = SecretBytes();
  slot.state = PeerState::kUnreachable;
  slot.last_error = std::move(reason);
  return Ok();
}

UnsealStatus Unsealer::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  UnsealStatus status;
  status.sealed = !unsealed_;
  status.t = t_;
  status.n = n_;
  status.shares_held = shares_held_;
  status.last_error = last_error_;
  for (size_t i = 0; i < slots_.size(); ++i) {
    status.peers.push_back(
        PeerStatus{i, slots_[i].peer.peer_id, slots_[i].state, slots_[i].last_error});
  }
  return status;
}

bool Unsealer::sealed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !unsealed_;
}

Result<SecretBytes> Unsealer::TakeMasterKey() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!unsealed_) return MakeError(ErrorCode::kFailedPrecondition, "unseal: still sealed");
  if (taken_) return MakeError(ErrorCode::kFailedPrecondition, "unseal: master key already taken");
  taken_ = true;
  return std::move(master_);
}

}  // namespace onionmail::unseal
