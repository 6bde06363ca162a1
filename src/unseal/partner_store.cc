// Peer-side partner records and the PUSH / DERK / STAT / KCTL decisions; see
// partner_store.h.
#include "unseal/partner_store.h"

#include <algorithm>
#include <ctime>
#include <utility>

#include "base/log.h"
#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "store/durable_file.h"

namespace onionmail::unseal {

namespace {

constexpr char kLogComponent[] = "partners";
constexpr char kTmpDirName[] = "tmp";
constexpr size_t kMaxRecordFileSize = 64 * 1024;

Error Denied(const std::string& what) {
  return MakeError(ErrorCode::kPermissionDenied, "partner " + what);
}

bool IsFileName(const std::string& name) {
  if (name.size() != 2 * sizeof(PartnerFileHash)) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The request's key must be the one partner_id names.
Result<void> CheckSpki(const PartnerId& partner_id, std::span<const uint8_t> spki_der) {
  if (spki_der.empty() || spki_der.size() > kMaxPartnerSpkiSize) {
    return MakeError(ErrorCode::kInvalidArgument, "partner SPKI size out of range");
  }
  if (crypto::Sha256(spki_der) != partner_id) {
    return MakeError(ErrorCode::kUnauthenticated, "request key does not match the partner id");
  }
  return Ok();
}

// Same key as at PUSH (partner_id is a hash of it; this is the belt to those braces).
Result<void> CheckSameKey(const PartnerRecord& record, std::span<const uint8_t> spki_der) {
  if (!std::equal(record.spki_der.begin(), record.spki_der.end(), spki_der.begin(),
                  spki_der.end())) {
    return MakeError(ErrorCode::kUnauthenticated, "request key differs from the enrolled key");
  }
  return Ok();
}

PartnerSummary Summarise(const PartnerRecord& r) {
  PartnerSummary s;
  s.partner_id = r.partner_id;
  s.peer_id = r.peer_id;
  s.t = r.t;
  s.n = r.n;
  s.credits_left = r.state.credits_left;
  s.answered_total = r.state.answered_total;
  s.last_answer_unix = r.state.last_answer_unix;
  s.enrolled_unix = r.enrolled_unix;
  s.last_kctl_serial = r.state.last_kctl_serial;
  s.disabled = r.state.disabled;
  s.destroyed = r.destroyed;
  s.forward_count = r.forwards.size();
  return s;
}

}  // namespace

PartnerStore::PartnerStore(std::string dir, hsm::KeyStore& keys, PartnerStoreOptions options)
    : dir_(std::move(dir)),
      tmp_dir_(dir_ + "/" + kTmpDirName),
      keys_(keys),
      options_(std::move(options)) {}

Result<std::unique_ptr<PartnerStore>> PartnerStore::Open(const std::string& dir,
                                                         hsm::KeyStore& keys,
                                                         PartnerStoreOptions options) {
  if (dir.empty() || options.max_partners == 0 || options.max_credits == 0 ||
      options.rate_limit_answers == 0 || options.rate_limit_window_s == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "partner store: bad directory or options");
  }
  if (!options.clock) {
    options.clock = [] { return static_cast<uint64_t>(std::time(nullptr)); };
  }
  std::unique_ptr<PartnerStore> store(new PartnerStore(dir, keys, std::move(options)));
  ONIONMAIL_RETURN_IF_ERROR(store->Load());
  return store;
}

uint64_t PartnerStore::Now() const { return options_.clock(); }

Result<void> PartnerStore::Load() {
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(dir_));
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(tmp_dir_));
  // Leftovers of interrupted writes (sealed, but never kept).
  auto leftovers = store::ListDirectory(tmp_dir_);
  if (!leftovers.ok()) return leftovers.error();
  if (!leftovers->empty()) {
    std::vector<std::string> paths;
    for (const std::string& name : *leftovers) paths.push_back(tmp_dir_ + "/" + name);
    auto deleted = store::SecureDeleteBatch(paths);
    if (!deleted.ok() && deleted.error().code != ErrorCode::kNotFound) {
      log::Warning(kLogComponent, "cannot clean " + tmp_dir_ + ": " + deleted.error().message);
    }
  }
  auto names = store::ListDirectory(dir_);
  if (!names.ok()) return names.error();
  std::sort(names->begin(), names->end());
  std::lock_guard<std::mutex> lock(mu_);
  auto epochs = keys_.ErasableEpochs();
  if (!epochs.ok()) return epochs.error();
  alive_epochs_ = *epochs;
  epoch_ = alive_epochs_.empty() ? 0 : alive_epochs_.back();
  for (const std::string& name : *names) {
    if (name == kTmpDirName) continue;
    auto loaded = IsFileName(name)
                      ? LoadFile(name)
                      : Result<void>(MakeError(ErrorCode::kDataLoss, "unexpected file name"));
    if (!loaded.ok()) {
      std::string line =
          "skipped partner record " + dir_ + "/" + name + ": " + loaded.error().message;
      log::Error(kLogComponent, line);
      load_errors_.push_back(std::move(line));
      if (IsFileName(name)) unreadable_.insert(name);
    }
  }
  if (NeedsRotationLocked()) {
    log::Warning(kLogComponent, "completing an interrupted crypto-shred (key rotation)");
    auto rotated = RotateLocked();
    if (!rotated.ok()) {
      log::Error(kLogComponent, "crypto-shred not completed: " + rotated.error().message);
    }
  }
  return Ok();
}

bool PartnerStore::NeedsRotationLocked() const {
  if (alive_epochs_.size() > 1) return true;
  for (const auto& [id, entry] : entries_) {
    if (entry.record.destroyed && std::find(alive_epochs_.begin(), alive_epochs_.end(),
                                            entry.record.erasable_epoch) != alive_epochs_.end()) {
      return true;
    }
  }
  return false;
}

// Idempotent: a crash anywhere leaves a state this finishes (see the header).
Result<void> PartnerStore::RotateLocked() {
  uint64_t shred_max = 0;  // the newest epoch some tombstone wants erased
  for (const auto& [id, entry] : entries_) {
    if (entry.record.destroyed) shred_max = std::max(shred_max, entry.record.erasable_epoch);
  }
  uint64_t target = alive_epochs_.empty() ? 0 : alive_epochs_.back();
  if (target == 0 || target <= shred_max) {
    target = std::max(target, shred_max) + 1;
    auto created = keys_.CreateErasable(target);
    if (!created.ok() && created.error().code != ErrorCode::kAlreadyExists) {
      return created.error();
    }
    alive_epochs_.push_back(target);
  }
  for (auto& [id, entry] : entries_) {
    PartnerRecord& record = entry.record;
    if (record.destroyed || record.erasable_epoch == target) continue;
    const uint64_t before = record.erasable_epoch;
    record.erasable_epoch = target;
    auto written = Write(record, /*replace=*/true);
    if (!written.ok()) {
      record.erasable_epoch = before;
      return written.error();
    }
  }
  epoch_ = target;
  while (alive_epochs_.size() > 1 || alive_epochs_.front() != target) {
    auto old = std::find_if(alive_epochs_.begin(), alive_epochs_.end(),
                            [target](uint64_t e) { return e != target; });
    ONIONMAIL_RETURN_IF_ERROR(keys_.EraseErasable(*old));
    log::Info(kLogComponent, "crypto-shred: erasable key " + std::to_string(*old) +
                                 " erased in the device; live records now under key " +
                                 std::to_string(target));
    alive_epochs_.erase(old);
  }
  return Ok();
}

Result<void> PartnerStore::LoadFile(const std::string& name) {
  const std::string path = dir_ + "/" + name;
  auto sealed = store::ReadSmallFile(path, kMaxRecordFileSize);
  if (!sealed.ok()) return sealed.error();
  auto hash_bytes = crypto::FromHex(name);
  if (!hash_bytes || hash_bytes->size() != sizeof(PartnerFileHash)) {
    return MakeError(ErrorCode::kDataLoss, "unexpected file name");
  }
  PartnerFileHash hash;
  std::copy(hash_bytes->begin(), hash_bytes->end(), hash.begin());
  auto record = OpenPartnerRecord(keys_, *sealed, hash);
  if (!record.ok()) {
    // A live file under an epoch older than every live one: the remnant of a
    // destroy (its key is gone for good). Not so when the device has no epoch
    // at all (another or a reset device): keep the file and report it.
    const uint64_t epoch = PartnerFileEpoch(*sealed);
    if (record.error().code == ErrorCode::kNotFound && epoch != 0 && epoch < epoch_) {
      log::Warning(kLogComponent, "deleting a record sealed under an erased key (" + path + ")");
      auto deleted = store::SecureDelete(path);
      if (!deleted.ok() && deleted.error().code != ErrorCode::kNotFound) return deleted.error();
      return Ok();
    }
    return record.error();
  }
  if (!record->destroyed) {
    auto key = PeerKeyFromScalar(record->s);
    if (!key.ok() || key->S != record->S) {
      return MakeError(ErrorCode::kDataLoss, "partner record scalar does not match S");
    }
  }
  const PartnerId id = record->partner_id;
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    entries_.emplace(id, Entry{std::move(*record), {}});
    return Ok();
  }
  // Both a live record and a tombstone: a destroy was interrupted after the
  // tombstone was written. Finish it.
  if (record->destroyed == it->second.record.destroyed) {
    return MakeError(ErrorCode::kDataLoss, "duplicate partner record");
  }
  if (record->destroyed) it->second.record = std::move(*record);  // wipes s
  log::Warning(kLogComponent, "completing an interrupted destroy (" + path + ")");
  auto deleted = DeleteLiveFile(id);
  if (!deleted.ok()) {
    log::Error(kLogComponent,
               "cannot delete a destroyed partner's record: " + deleted.error().message);
  }
  return Ok();
}

Result<std::string> PartnerStore::PathOf(const PartnerId& partner_id, bool tombstone) {
  auto hash = PartnerFileHashOf(keys_, partner_id, tombstone);
  if (!hash.ok()) return hash.error();
  return dir_ + "/" + crypto::ToHex(*hash);
}

Result<PartnerStore::Entry*> PartnerStore::Find(const PartnerId& partner_id) {
  auto it = entries_.find(partner_id);
  if (it != entries_.end()) return &it->second;
  if (!unreadable_.empty()) {
    for (bool tombstone : {false, true}) {
      auto hash = PartnerFileHashOf(keys_, partner_id, tombstone);
      if (!hash.ok()) return hash.error();
      if (unreadable_.count(crypto::ToHex(*hash)) != 0) {
        return MakeError(ErrorCode::kDataLoss, "partner record is unreadable (see start-up log)");
      }
    }
  }
  return MakeError(ErrorCode::kNotFound, "unknown partner");
}

Result<void> PartnerStore::Write(const PartnerRecord& record, bool replace) {
  auto path = PathOf(record.partner_id, record.destroyed);
  if (!path.ok()) return path.error();
  auto sealed = SealPartnerRecord(keys_, record);
  if (!sealed.ok()) return sealed.error();
  return store::WriteFileDurably(tmp_dir_, *path, *sealed, replace);
}

Result<void> PartnerStore::DeleteLiveFile(const PartnerId& partner_id) {
  auto path = PathOf(partner_id, /*tombstone=*/false);
  if (!path.ok()) return path.error();
  auto deleted = store::SecureDelete(*path);
  if (!deleted.ok() && deleted.error().code != ErrorCode::kNotFound) return deleted.error();
  return Ok();
}

Result<PushReply> PartnerStore::Enrol(const PartnerId& partner_id,
                                      std::span<const uint8_t> spki_der, const PushBody& body) {
  ONIONMAIL_RETURN_IF_ERROR(CheckSpki(partner_id, spki_der));
  if (body.credits_requested == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "partner credits_requested must be >= 1");
  }
  PartnerRecord record;
  record.partner_id = partner_id;
  record.kctl_pub = body.kctl_pub;
  record.spki_der.assign(spki_der.begin(), spki_der.end());
  record.peer_id = body.peer_id;
  record.t = body.t;
  record.n = body.n;
  record.forwards = body.forward_peers;
  record.state.credits_left = std::min(body.credits_requested, options_.max_credits);
  ONIONMAIL_RETURN_IF_ERROR(CheckPartnerFields(record));

  std::lock_guard<std::mutex> lock(mu_);
  auto found = Find(partner_id);
  if (found.ok()) {
    if ((*found)->record.destroyed) return Denied("was destroyed; re-enrolment refused");
    return MakeError(ErrorCode::kAlreadyExists, "partner already enrolled");
  }
  if (found.error().code != ErrorCode::kNotFound) return found.error();
  size_t live = 0, tombstones = 0;
  for (const auto& [id, entry] : entries_) (entry.record.destroyed ? tombstones : live)++;
  if (live >= options_.max_partners) {
    return MakeError(ErrorCode::kResourceExhausted, "too many partners enrolled");
  }
  if (tombstones >= options_.max_tombstones) {
    return MakeError(ErrorCode::kResourceExhausted, "too many destroyed partners remembered");
  }
  if (epoch_ == 0) {  // the first live record: make the device's first erasable key
    auto created = keys_.CreateErasable(1);
    if (!created.ok() && created.error().code != ErrorCode::kAlreadyExists) {
      return created.error();
    }
    epoch_ = 1;
    alive_epochs_ = {1};
  }
  record.erasable_epoch = epoch_;
  auto key = GeneratePeerKey();
  if (!key.ok()) return key.error();
  record.s = std::move(key->s);
  record.S = key->S;
  record.enrolled_unix = Now();
  ONIONMAIL_RETURN_IF_ERROR(Write(record, /*replace=*/false));
  PushReply reply{record.S, record.state.credits_left};
  entries_.emplace(partner_id, Entry{std::move(record), {}});
  return reply;
}

Result<DerkReply> PartnerStore::Answer(const PartnerId& partner_id,
                                       std::span<const uint8_t> spki_der, const Point& X) {
  ONIONMAIL_RETURN_IF_ERROR(CheckSpki(partner_id, spki_der));
  std::lock_guard<std::mutex> lock(mu_);
  auto found = Find(partner_id);
  if (!found.ok()) return found.error();
  Entry& entry = **found;
  PartnerRecord& record = entry.record;
  if (record.destroyed) return Denied("destroyed");
  ONIONMAIL_RETURN_IF_ERROR(CheckSameKey(record, spki_der));
  if (record.state.disabled) return Denied("disabled by KCTL");
  if (record.state.credits_left == 0) return Denied("has no credits left");

  const uint64_t now = Now();
  auto& recent = entry.recent_answers;
  while (!recent.empty() && recent.front() + options_.rate_limit_window_s <= now) {
    recent.pop_front();
  }
  if (recent.size() >= options_.rate_limit_answers) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "partner rate limited: at most " +
                         std::to_string(options_.rate_limit_answers) + " answers per " +
                         std::to_string(options_.rate_limit_window_s) + " s");
  }
  auto y = PeerAnswer(record.s, X);  // validates X; no credit spent if it fails
  if (!y.ok()) return y.error();

  const PartnerState before = record.state;
  record.state.credits_left -= 1;
  record.state.answered_total += 1;
  record.state.last_answer_unix = now;
  auto written = Write(record, /*replace=*/true);
  if (!written.ok()) {
    record.state = before;
    return written.error();
  }
  recent.push_back(now);
  return DerkReply{*y, record.state.credits_left, record.state.answered_total};
}

Result<StatReply> PartnerStore::Stat(const PartnerId& partner_id,
                                     std::span<const uint8_t> spki_der) {
  ONIONMAIL_RETURN_IF_ERROR(CheckSpki(partner_id, spki_der));
  std::lock_guard<std::mutex> lock(mu_);
  auto found = Find(partner_id);
  if (!found.ok()) return found.error();
  const PartnerRecord& record = (*found)->record;
  if (record.destroyed) return Denied("destroyed");
  ONIONMAIL_RETURN_IF_ERROR(CheckSameKey(record, spki_der));
  return StatReply{record.state.disabled, record.state.credits_left, record.state.answered_total,
                   record.state.last_answer_unix};
}

Result<PartnerControlOutcome> PartnerStore::ApplyKctl(const KctlCert& cert) {
  const auto action = static_cast<uint8_t>(cert.action);
  if (action < static_cast<uint8_t>(KctlAction::kDisable) ||
      action > static_cast<uint8_t>(KctlAction::kQuery)) {
    return MakeError(ErrorCode::kInvalidArgument, "kctl: unknown action");
  }
  if (cert.action != KctlAction::kResetCredits && cert.credits != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "kctl: credits must be 0 for this action");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto found = Find(cert.server_id);
  if (!found.ok()) return found.error();
  Entry& entry = **found;
  PartnerRecord& record = entry.record;
  PartnerState& state = record.state;
  const uint64_t now = Now();

  PartnerControlOutcome current;
  current.disabled = state.disabled;
  current.destroyed = record.destroyed;
  current.credits_left = state.credits_left;
  current.answered_total = state.answered_total;
  current.last_answer_unix = state.last_answer_unix;
  if (cert.action == KctlAction::kQuery) {  // read-only, tombstones included
    ONIONMAIL_RETURN_IF_ERROR(VerifyKctl(cert, record.kctl_pub, now, 0));
    return current;
  }

  // The same certificate again (serial, action and credits as last applied):
  // verified as if it were new, then a no-op.
  if (cert.serial != 0 && cert.serial == state.last_kctl_serial &&
      action == state.last_kctl_action && cert.credits == state.last_kctl_credits) {
    ONIONMAIL_RETURN_IF_ERROR(VerifyKctl(cert, record.kctl_pub, now, cert.serial - 1));
    PartnerControlOutcome outcome = current;
    if (record.destroyed) {  // retry a deletion / shred that failed the first time
      auto deleted = DeleteLiveFile(cert.server_id);
      if (!deleted.ok()) {
        log::Error(kLogComponent,
                   "cannot delete a destroyed partner's record: " + deleted.error().message);
        outcome.cleanup_pending = true;
      }
      if (NeedsRotationLocked()) {
        auto rotated = RotateLocked();
        if (!rotated.ok()) {
          log::Error(kLogComponent,
                     "cannot erase a destroyed partner's key: " + rotated.error().message);
          outcome.cleanup_pending = true;
        }
      }
    }
    return outcome;
  }
  ONIONMAIL_RETURN_IF_ERROR(VerifyKctl(cert, record.kctl_pub, now, state.last_kctl_serial));
  if (record.destroyed) return Denied("destroyed");
  if (cert.action == KctlAction::kDestroy) return Destroy(entry, cert);

  const PartnerState before = state;
  switch (cert.action) {
    case KctlAction::kDisable:
      state.disabled = true;
      break;
    case KctlAction::kEnable:
      state.disabled = false;
      break;
    case KctlAction::kResetCredits:
      state.credits_left = std::min(cert.credits, options_.max_credits);
      break;
    case KctlAction::kDestroy:
    case KctlAction::kQuery:
      break;
  }
  state.last_kctl_serial = cert.serial;
  state.last_kctl_action = action;
  state.last_kctl_credits = cert.credits;
  auto written = Write(record, /*replace=*/true);
  if (!written.ok()) {
    state = before;
    return written.error();
  }
  PartnerControlOutcome outcome = current;
  outcome.advanced = true;
  outcome.disabled = state.disabled;
  outcome.credits_left = state.credits_left;
  outcome.forwards = record.forwards;
  return outcome;
}

Result<PartnerControlOutcome> PartnerStore::Destroy(Entry& entry, const KctlCert& cert) {
  PartnerRecord& live = entry.record;
  PartnerRecord tombstone;
  tombstone.destroyed = true;
  tombstone.partner_id = live.partner_id;
  tombstone.kctl_pub = live.kctl_pub;
  tombstone.enrolled_unix = live.enrolled_unix;
  tombstone.destroyed_unix = Now();
  tombstone.state = live.state;
  tombstone.state.credits_left = 0;
  tombstone.state.disabled = true;
  tombstone.state.last_kctl_serial = cert.serial;
  tombstone.state.last_kctl_action = static_cast<uint8_t>(KctlAction::kDestroy);
  tombstone.state.last_kctl_credits = 0;
  tombstone.erasable_epoch = live.erasable_epoch;  // to be erased (crypto-shred)
  // The tombstone first: a crash in between leaves both files, and Open then
  // finishes the destroy. Never the other way round (s gone but no tombstone
  // would let the same key enrol again).
  ONIONMAIL_RETURN_IF_ERROR(Write(tombstone, /*replace=*/true));

  PartnerControlOutcome outcome;
  outcome.advanced = true;
  outcome.destroyed = true;
  outcome.disabled = true;
  outcome.answered_total = live.state.answered_total;
  outcome.last_answer_unix = live.state.last_answer_unix;
  outcome.forwards = std::move(live.forwards);
  const PartnerId id = live.partner_id;
  live = std::move(tombstone);  // the old s is wiped here
  entry.recent_answers.clear();
  auto deleted = DeleteLiveFile(id);
  if (!deleted.ok()) {
    log::Error(kLogComponent, "partner destroyed, but its record file is not deleted yet: " +
                                  deleted.error().message);
    outcome.cleanup_pending = true;
  }
  // Crypto-shred: re-seal every other live record under a new device key and
  // erase the old one inside the device, so no copy of the destroyed record
  // (flash remnants, backups) can be opened again.
  auto rotated = RotateLocked();
  if (!rotated.ok()) {
    log::Error(kLogComponent,
               "partner destroyed, but its key is not erased yet: " + rotated.error().message);
    outcome.cleanup_pending = true;
  }
  return outcome;
}

Result<std::vector<PartnerSummary>> PartnerStore::List() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PartnerSummary> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(Summarise(entry.record));
  return out;
}

std::vector<std::string> PartnerStore::load_errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return load_errors_;
}

}  // namespace onionmail::unseal
