// LocalKeyService (see local_key_service.h, docs/store.md).
#include "keys/local_key_service.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "base/log.h"
#include "crypto/aead.h"
#include "crypto/hex.h"
#include "crypto/inbox_key.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "mail/backend.h"
#include "store/durable_file.h"

namespace onionmail::keys {

namespace {

constexpr std::string_view kRecordPurpose = "user-record";
constexpr std::string_view kMailboxPurpose = "mailbox";
constexpr std::string_view kExternalPurposePrefix = "ext:";
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kSealedRecordMaxBytes = kMaxUserRecordBytes + 64;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

bool ValidName(std::string_view lower) {
  if (lower.empty() || lower.size() > kMaxNameBytes) return false;
  return std::all_of(lower.begin(), lower.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Error Unauthenticated() { return MakeError(ErrorCode::kUnauthenticated, "bad credentials"); }

class LocalInboxKey : public InboxKey {
 public:
  LocalInboxKey(std::string mailbox_id, crypto::InboxPrivateKey key)
      : mailbox_id_(std::move(mailbox_id)), key_(std::move(key)) {}
  const std::string& mailbox_id() const override { return mailbox_id_; }
  Result<SecretBytes> UnwrapDataKey(std::span<const uint8_t> wrapped) const override {
    return key_.Unwrap(wrapped);
  }

 private:
  std::string mailbox_id_;
  crypto::InboxPrivateKey key_;
};

}  // namespace

LocalKeyService::LocalKeyService(hsm::KeyStore& key_store, Options options)
    : key_store_(key_store),
      options_(std::move(options)),
      smtp_cache_(options_.smtp_auth_cache_ttl),
      unlock_cache_(options_.pop3_unlock_cache_ttl),
      kdf_slots_(options_.max_concurrent_kdf),
      users_dir_(options_.state_dir + "/users"),
      tmp_dir_(options_.state_dir + "/tmp"),
      records_lock_path_(options_.state_dir + "/users.lock"),
      mailboxes_(options_.state_dir),
      block_lists_(key_store_, options_.state_dir + "/blocklists"),
      mailing_lists_(key_store_, options_.state_dir + "/lists"),
      vouchers_(key_store_, options_.state_dir + "/vouchers"),
      vmat_(key_store_, options_.state_dir + "/vmat") {
  options_.rsa_bits = std::max(options_.rsa_bits, 2048);
}

Result<std::string> LocalKeyService::NameHash(std::string_view purpose, std::string_view user) {
  auto digest = key_store_.KeyedHash(purpose, AsBytes(Lower(user)));
  if (!digest.ok()) return digest.error();
  return crypto::ToHex(*digest);
}

Result<LocalKeyService::Loaded> LocalKeyService::Load(std::string_view user,
                                                      std::string* record_name) {
  if (!ValidName(Lower(user))) return MakeError(ErrorCode::kNotFound, "no such user");
  auto name = NameHash(kRecordPurpose, user);
  if (!name.ok()) return name.error();
  if (record_name != nullptr) *record_name = *name;
  return LoadRecord(std::move(*name));
}

Result<LocalKeyService::Loaded> LocalKeyService::LoadRecord(std::string name) {
  ++record_reads_;
  auto sealed = store::ReadSmallFile(users_dir_ + "/" + name, kSealedRecordMaxBytes);
  if (!sealed.ok()) {
    if (sealed.error().code == ErrorCode::kNotFound) {
      return MakeError(ErrorCode::kNotFound, "no such user");
    }
    return sealed.error();
  }
  auto plain = key_store_.OpenRecord(*sealed, AsBytes(name));
  if (!plain.ok()) {
    // A device fault (any other code than kDataLoss: hsm::KeyStore) is no
    // damaged record: the login or delivery fails for now, and is retried.
    if (plain.error().code != ErrorCode::kDataLoss) return plain.error();
    return MakeError(ErrorCode::kDataLoss, "user record failed authentication");
  }
  auto record = DecodeUserRecord(plain->Reveal(SecretAccess::Grant()));
  if (!record.ok()) return record.error();
  return Loaded{std::move(name), std::move(*record)};
}

Result<void> LocalKeyService::Store(const std::string& record_name, const UserRecord& record,
                                    bool replace) {
  SecretBytes encoded = EncodeUserRecord(record);
  auto sealed = key_store_.SealRecord(encoded.Reveal(SecretAccess::Grant()), AsBytes(record_name));
  if (!sealed.ok()) return sealed.error();
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(users_dir_));
  ONIONMAIL_RETURN_IF_ERROR(store::EnsurePrivateDir(tmp_dir_));
  public_records_.Forget(record_name);  // the new file misses anyway (new inode)
  return store::WriteFileDurably(tmp_dir_, users_dir_ + "/" + record_name, *sealed, replace);
}

void LocalKeyService::RunDummyKdf(const SecretBytes& password) {
  static constexpr std::array<uint8_t, crypto::kArgon2SaltBytes> kDummySalt{};
  KdfSlots::Slot slot(kdf_slots_);
  ++kdf_runs_;
  (void)crypto::Argon2idDerive(password, kDummySalt, options_.kdf);
}

// The inbox-key wrap key needs both factors: the POP3 password (Argon2id,
// P below) and the key store's device (InboxWrapSecret, one device operation).
// Records of version 2 give the device the password factor too, so every
// password guess needs the device; version 1 (salt only) is read for records
// made by earlier versions (user_record.h, docs/store.md):
//   v2: wrap key = HKDF-SHA256(P || InboxWrapSecret(salt || P), "onionmail inbox-key wrap v3")
//   v1: wrap key = HKDF-SHA256(P || InboxWrapSecret(salt),      "onionmail inbox-key wrap v2")
Result<SecretBytes> LocalKeyService::PasswordFactor(const UserRecord& record,
                                                    const SecretBytes& password) {
  KdfSlots::Slot slot(kdf_slots_);
  ++kdf_runs_;
  return crypto::Argon2idDerive(password, record.pop3_salt, record.pop3_params);
}

Result<SecretBytes> LocalKeyService::InboxWrapKey(const UserRecord& record,
                                                  const SecretBytes& from_password) {
  auto p = from_password.Reveal(SecretAccess::Grant());
  const bool salt_only = record.version == kUserRecordVersionSaltOnlyWrap;
  SecretBytes device_input(record.pop3_salt.size() + (salt_only ? 0 : p.size()));
  auto in = device_input.Reveal(SecretAccess::Grant());
  std::copy(record.pop3_salt.begin(), record.pop3_salt.end(), in.begin());
  if (!salt_only) {
    std::copy(p.begin(), p.end(),
              in.begin() + static_cast<std::ptrdiff_t>(record.pop3_salt.size()));
  }
  auto from_device = key_store_.InboxWrapSecret(in);
  if (!from_device.ok()) {
    return MakeError(ErrorCode::kUnavailable,
                     "key store device unavailable: " + from_device.error().message);
  }
  SecretBytes ikm(p.size() + from_device->size());
  auto dst = ikm.Reveal(SecretAccess::Grant());
  auto d = from_device->Reveal(SecretAccess::Grant());
  std::copy(p.begin(), p.end(), dst.begin());
  std::copy(d.begin(), d.end(), dst.begin() + static_cast<std::ptrdiff_t>(p.size()));
  return crypto::HkdfSha256(
      ikm, {}, salt_only ? "onionmail inbox-key wrap v2" : "onionmail inbox-key wrap v3",
      crypto::kAeadKeyBytes);
}

Result<SecretBytes> LocalKeyService::DecryptPrivateKey(const UserRecord& record,
                                                       const SecretBytes& password,
                                                       const std::string& record_name,
                                                       std::optional<SecretBytes>* factor_out) {
  std::optional<SecretBytes> factor;
  if (!record_name.empty()) factor = unlock_cache_.Find(record_name, record.pop3_salt, password);
  const bool cached = factor.has_value();
  if (!cached) {
    auto derived = PasswordFactor(record, password);
    if (!derived.ok()) return derived.error();
    factor = std::move(*derived);
  }
  auto wrap_key = InboxWrapKey(record, *factor);
  if (!wrap_key.ok()) return wrap_key.error();
  auto pkcs8 =
      crypto::AeadOpen(*wrap_key, record.encrypted_private_key, PrivateKeyAad(record.key_id));
  if (!pkcs8.ok()) return Unauthenticated();
  if (!cached && !record_name.empty()) {
    unlock_cache_.Remember(record_name, record.pop3_salt, password, *factor);
  }
  if (factor_out != nullptr) *factor_out = std::move(factor);
  return pkcs8;
}

Result<store::FileLock> LocalKeyService::LockRecords(store::FileLock::Wait wait) {
  return store::FileLock::Acquire(records_lock_path_, wait);
}

void LocalKeyService::MoveToVersion2(const Loaded& opened, const SecretBytes& pkcs8,
                                     const SecretBytes& factor) {
  auto lock = LockRecords(store::FileLock::Wait::kTry);
  if (!lock.ok()) {
    if (lock.error().code != ErrorCode::kFailedPrecondition) {
      log::Warning("key", "a user record stays version 1 for now: " + lock.error().message);
    }
    return;  // busy: a later login tries again
  }
  auto current = LoadRecord(opened.record_name);
  if (!current.ok()) return;  // deleted meanwhile, or unreadable: nothing to move
  UserRecord record = std::move(current->record);
  // Only the wrap this login opened may be replaced: onionmailctl may have
  // changed the POP3 password (new salt and wrap) since it was read. The wrap
  // carries a random nonce, so an equal one is the same wrap.
  if (record.version != kUserRecordVersionSaltOnlyWrap ||
      record.pop3_salt != opened.record.pop3_salt ||
      record.encrypted_private_key != opened.record.encrypted_private_key) {
    return;
  }
  record.version = kUserRecordVersion;  // same salt and parameters: P is unchanged
  Result<void> moved = SealPop3Wrap(record, pkcs8, factor);
  if (moved.ok()) moved = Store(opened.record_name, record, /*replace=*/true);
  if (!moved.ok()) {
    log::Warning("key", "a user record stays version 1 for now: " + moved.error().message);
    return;
  }
  ++records_moved_;
  log::Info("key", "a user record moved to version 2 at its POP3 login (" +
                       std::to_string(records_moved_.load()) + " since start-up)");
}

Result<void> LocalKeyService::SetPop3Wrap(UserRecord& record, const SecretBytes& pkcs8,
                                          const SecretBytes& password) {
  record.version = kUserRecordVersion;  // a new wrap always has the device see the password
  record.pop3_params = options_.kdf;
  crypto::RandomBytes(record.pop3_salt);
  auto factor = PasswordFactor(record, password);
  if (!factor.ok()) return factor.error();
  return SealPop3Wrap(record, pkcs8, *factor);
}

Result<void> LocalKeyService::SealPop3Wrap(UserRecord& record, const SecretBytes& pkcs8,
                                           const SecretBytes& factor) {
  auto wrap_key = InboxWrapKey(record, factor);
  if (!wrap_key.ok()) return wrap_key.error();
  auto sealed = crypto::AeadSeal(*wrap_key, pkcs8.Reveal(SecretAccess::Grant()),
                                 PrivateKeyAad(record.key_id));
  if (!sealed.ok()) return sealed.error();
  record.encrypted_private_key = std::move(*sealed);
  return Ok();
}

Result<void> LocalKeyService::SetSmtpVerifier(UserRecord& record, const SecretBytes& password) {
  record.smtp_params = options_.kdf;
  crypto::RandomBytes(record.smtp_salt);
  ++kdf_runs_;
  auto hash = crypto::Argon2idDerive(password, record.smtp_salt, record.smtp_params,
                                     record.smtp_hash.size());
  if (!hash.ok()) return hash.error();
  auto bytes = hash->Reveal(SecretAccess::Grant());
  std::copy(bytes.begin(), bytes.end(), record.smtp_hash.begin());
  return Ok();
}

// Deliveries need no device operation (public keys and name keys are in
// RAM), but while the device is gone the server answers deliveries with a
// temporary failure, as operators expect from a server whose key store is
// missing: the sender retries, nothing accepted is lost. The presence probe
// (no cryptographic operation) runs at most once per second.
Result<void> LocalKeyService::CheckDevice() {
  using Clock = std::chrono::steady_clock;
  int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  int64_t last = last_probe_ms_.load();
  if (now - last < 1000) {
    if (device_ok_.load()) return Ok();
    return MakeError(ErrorCode::kUnavailable, "key store device unavailable");
  }
  last_probe_ms_ = now;
  auto probe = key_store_.Probe();
  device_ok_ = probe.ok();
  if (!probe.ok()) {
    return MakeError(ErrorCode::kUnavailable,
                     "key store device unavailable: " + probe.error().message);
  }
  return Ok();
}

Result<UserPublic> LocalKeyService::LookupUser(std::string_view user) {
  ONIONMAIL_RETURN_IF_ERROR(CheckDevice());
  if (!ValidName(Lower(user))) return MakeError(ErrorCode::kNotFound, "no such user");
  auto name = NameHash(kRecordPurpose, user);
  if (!name.ok()) return name.error();
  // The record file's identity, taken before it is read (public_record_cache.h).
  std::optional<FileId> id;
  struct stat st;
  if (::lstat((users_dir_ + "/" + *name).c_str(), &st) == 0) {
    if (S_ISREG(st.st_mode)) id = FileIdOf(st);
  } else if (errno == ENOENT) {
    public_records_.Forget(*name);
    return MakeError(ErrorCode::kNotFound, "no such user");
  }  // anything else: LoadRecord reports it
  if (id) {
    if (auto hit = public_records_.Find(*name, *id)) return std::move(*hit);
  }
  auto loaded = LoadRecord(*name);
  if (!loaded.ok()) return loaded.error();
  auto mailbox_id = NameHash(kMailboxPurpose, user);
  if (!mailbox_id.ok()) return mailbox_id.error();
  UserPublic pub{std::move(*mailbox_id), std::move(loaded->record.public_key),
                 loaded->record.key_id};
  if (id) public_records_.Remember(*name, *id, pub);
  return pub;
}

Result<std::string> LocalKeyService::HashedName(std::string_view purpose, std::string_view data) {
  std::string full(kExternalPurposePrefix);
  full.append(purpose);
  auto digest = key_store_.KeyedHash(full, AsBytes(data));
  if (!digest.ok()) return digest.error();
  return crypto::ToHex(*digest);
}

// A failed login, counted for the operator (keys/guess_watch.h); refuses nothing.
void LocalKeyService::NoteFailedLogin(std::string_view user, const std::string& record_name,
                                      bool user_exists) {
  GuessWatch::Step step = guesses_.Failure(record_name);
  if (step.failures == 0) return;
  auto mailbox_id = NameHash(kMailboxPurpose, user);  // as `onionmailctl user show` prints it
  const std::string who =
      mailbox_id.ok() ? "mailbox " + mailbox_id->substr(0, 8) + "..." : "a user name";
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(step.since_first).count();
  log::Warning("key", std::to_string(step.failures) + " failed logins in a row (SMTP AUTH and " +
                          "POP3) for " + who + (user_exists ? "" : " (no such user)") + " in " +
                          std::to_string(minutes) + " min: someone may be guessing its passwords");
}

Result<void> LocalKeyService::VerifySmtpPassword(std::string_view user,
                                                 const SecretBytes& password) {
  std::string record_name;  // empty for a name that cannot be a user's
  auto loaded = Load(user, &record_name);
  if (!loaded.ok()) {
    if (loaded.error().code != ErrorCode::kNotFound) return loaded.error();
    RunDummyKdf(password);
    if (!record_name.empty()) NoteFailedLogin(user, record_name, /*user_exists=*/false);
    return Unauthenticated();
  }
  const UserRecord& r = loaded->record;
  std::vector<uint8_t> verifier(r.smtp_salt.begin(), r.smtp_salt.end());
  verifier.insert(verifier.end(), r.smtp_hash.begin(), r.smtp_hash.end());
  if (smtp_cache_.Hit(loaded->record_name, verifier, password)) {
    guesses_.Success(loaded->record_name);
    return Ok();
  }
  Result<void> verified = Ok();
  {
    KdfSlots::Slot slot(kdf_slots_);
    ++kdf_runs_;
    verified = crypto::Argon2idVerify(password, r.smtp_salt, r.smtp_params, r.smtp_hash);
  }
  if (!verified.ok()) {
    if (verified.error().code != ErrorCode::kUnauthenticated) return verified.error();
    NoteFailedLogin(user, loaded->record_name, /*user_exists=*/true);
    return Unauthenticated();
  }
  smtp_cache_.Remember(loaded->record_name, verifier, password);
  guesses_.Success(loaded->record_name);
  return Ok();
}

Result<std::unique_ptr<InboxKey>> LocalKeyService::OpenInbox(std::string_view user,
                                                             const SecretBytes& pop3_password) {
  std::string record_name;  // empty for a name that cannot be a user's
  auto loaded = Load(user, &record_name);
  if (!loaded.ok()) {
    if (loaded.error().code != ErrorCode::kNotFound) return loaded.error();
    RunDummyKdf(pop3_password);
    if (!record_name.empty()) NoteFailedLogin(user, record_name, /*user_exists=*/false);
    return Unauthenticated();
  }
  std::optional<SecretBytes> factor;
  auto pkcs8 = DecryptPrivateKey(loaded->record, pop3_password, loaded->record_name, &factor);
  if (!pkcs8.ok()) {
    if (pkcs8.error().code == ErrorCode::kUnauthenticated) {
      NoteFailedLogin(user, loaded->record_name, /*user_exists=*/true);
    }
    return pkcs8.error();
  }
  guesses_.Success(loaded->record_name);
  auto key = crypto::InboxPrivateKey::FromDer(*pkcs8);
  if (!key.ok()) return MakeError(ErrorCode::kDataLoss, "inbox private key is malformed");
  if (key->Public().KeyId() != loaded->record.key_id) {
    return MakeError(ErrorCode::kDataLoss, "inbox private key does not match its key id");
  }
  auto mailbox_id = NameHash(kMailboxPurpose, user);
  if (!mailbox_id.ok()) return mailbox_id.error();
  if (loaded->record.version == kUserRecordVersionSaltOnlyWrap) {
    MoveToVersion2(*loaded, *pkcs8, *factor);
  }
  return std::unique_ptr<InboxKey>(
      std::make_unique<LocalInboxKey>(std::move(*mailbox_id), std::move(*key)));
}

Result<void> LocalKeyService::CreateUser(std::string_view user, const SecretBytes& smtp_password,
                                         const SecretBytes& pop3_password) {
  if (!ValidName(Lower(user))) {
    return MakeError(ErrorCode::kInvalidArgument, "user names are 1..64 chars of [a-z0-9._-]");
  }
  if (smtp_password.empty() || pop3_password.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "passwords must not be empty");
  }
  std::lock_guard<std::mutex> lock(admin_mu_);
  auto records = LockRecords(store::FileLock::Wait::kBlock);
  if (!records.ok()) return records.error();
  auto name = NameHash(kRecordPurpose, user);
  if (!name.ok()) return name.error();
  auto existing = Load(user);
  if (existing.ok()) return MakeError(ErrorCode::kAlreadyExists, "user exists");
  if (existing.error().code != ErrorCode::kNotFound) return existing.error();

  auto key = options_.inbox_key == crypto::InboxKeyType::kRsa
                 ? crypto::InboxPrivateKey::GenerateRsa(options_.rsa_bits)
                 : crypto::InboxPrivateKey::GenerateX25519();
  if (!key.ok()) return key.error();
  auto pkcs8 = key->ToDer();
  if (!pkcs8.ok()) return pkcs8.error();
  const crypto::InboxPublicKey pub = key->Public();
  UserRecord record;
  record.public_key = pub.ToDer();
  record.key_id = pub.KeyId();
  ONIONMAIL_RETURN_IF_ERROR(SetSmtpVerifier(record, smtp_password));
  ONIONMAIL_RETURN_IF_ERROR(SetPop3Wrap(record, *pkcs8, pop3_password));
  return Store(*name, record, /*replace=*/false);
}

Result<void> LocalKeyService::DeleteUser(std::string_view user) {
  std::lock_guard<std::mutex> lock(admin_mu_);
  auto records = LockRecords(store::FileLock::Wait::kBlock);
  if (!records.ok()) return records.error();
  auto loaded = Load(user);
  if (!loaded.ok()) return loaded.error();
  auto mailbox_id = NameHash(kMailboxPurpose, user);
  if (!mailbox_id.ok()) return mailbox_id.error();
  // Messages first: if the mailbox is open, nothing is removed.
  ONIONMAIL_RETURN_IF_ERROR(mailboxes_.DeleteMailbox(*mailbox_id));
  // Before the record: a user made again under this name (the same mailbox
  // id) must not find the old list.
  ONIONMAIL_RETURN_IF_ERROR(block_lists_.Remove(*mailbox_id));
  // Under users.lock, which ApplyList holds to add a name to a list: once
  // the record is gone, the name is in no list (a name that is not a valid
  // local part never was).
  if (const std::string lower = Lower(user); mail::ValidLocalPart(lower)) {
    ONIONMAIL_RETURN_IF_ERROR(mailing_lists_.RemoveUser(lower));
  }
  ONIONMAIL_RETURN_IF_ERROR(store::SecureDelete(users_dir_ + "/" + loaded->record_name));
  unlock_cache_.Forget(loaded->record_name);
  public_records_.Forget(loaded->record_name);
  // A delivery racing with the deletion may have recreated the directory.
  (void)mailboxes_.DeleteMailbox(*mailbox_id);
  return Ok();
}

Result<bool> LocalKeyService::SenderBlocked(std::string_view mailbox_id, std::string_view sender) {
  if (sender.empty()) return false;
  auto blocked = block_lists_.IsBlocked(mailbox_id, sender);
  if (!blocked.ok() && blocked.error().code == ErrorCode::kDataLoss) {
    // A damaged list must not stop the user's mail: it is a preference, not
    // a guard. The user's SPAM CLEAR removes it.
    log::Warning("key", "the block list of mailbox " + std::string(mailbox_id.substr(0, 8)) +
                            "... does not open (" + blocked.error().message +
                            "): ignored until the user clears it (server@ SPAM CLEAR)");
    return false;
  }
  return blocked;
}

Result<std::vector<std::string>> LocalKeyService::ApplyBlockList(std::string_view user,
                                                                 mail::BlockListOp op,
                                                                 std::string_view entry) {
  auto found = LookupUser(user);
  if (!found.ok()) return found.error();
  return block_lists_.Apply(found->mailbox_id, op, entry);
}

Result<mail::ListRecord> LocalKeyService::ApplyList(std::string_view actor, mail::ListOp op,
                                                    std::string_view name, std::string_view user) {
  if (actor.empty()) return MakeError(ErrorCode::kPermissionDenied, "no user on the session");
  const bool remote_actor = (op == mail::ListOp::kPost || op == mail::ListOp::kLeave) &&
                            mail::IsRemoteMember(actor) && mail::ValidListMember(actor);
  if (!mail::ValidLocalPart(actor) && !remote_actor) {
    return MakeError(ErrorCode::kInvalidArgument, "bad actor");
  }
  if (!mail::ValidListName(name)) {
    return MakeError(ErrorCode::kInvalidArgument, "bad mailing list name");
  }
  if (op != mail::ListOp::kCreate && op != mail::ListOp::kAdd) {
    return mailing_lists_.Apply(name, actor, op, user, nullptr);
  }
  // Serialised with DeleteUser (in any process): a user it deletes is never
  // put in a list after it removed the user from every list.
  auto records = LockRecords(store::FileLock::Wait::kBlock);
  if (!records.ok()) return keys::ListStoreFault(records.error());
  auto exists = [this](std::string_view u) -> Result<bool> {
    auto found = LookupUser(u);
    if (found.ok()) return true;
    if (found.error().code == ErrorCode::kNotFound) return false;
    return keys::ListStoreFault(found.error());
  };
  auto actor_exists = exists(actor);  // a session may outlive its user
  if (!actor_exists.ok()) return actor_exists.error();
  if (!*actor_exists) return MakeError(ErrorCode::kPermissionDenied, "no such user");
  if (op == mail::ListOp::kCreate) {
    auto clash = exists(std::string(name) + std::string(mail::kListSuffix));
    if (!clash.ok()) return clash.error();
    if (*clash) return MakeError(ErrorCode::kAlreadyExists, "a user has the list's address");
  }
  return mailing_lists_.Apply(name, actor, op, user, exists);
}

Result<void> LocalKeyService::ChangeSmtpPassword(std::string_view user,
                                                 const SecretBytes& password) {
  if (password.empty()) return MakeError(ErrorCode::kInvalidArgument, "password must not be empty");
  std::lock_guard<std::mutex> lock(admin_mu_);
  auto records = LockRecords(store::FileLock::Wait::kBlock);
  if (!records.ok()) return records.error();
  auto loaded = Load(user);
  if (!loaded.ok()) return loaded.error();
  ONIONMAIL_RETURN_IF_ERROR(SetSmtpVerifier(loaded->record, password));
  return Store(loaded->record_name, loaded->record, /*replace=*/true);
}

Result<void> LocalKeyService::ChangePop3Password(std::string_view user,
                                                 const SecretBytes& old_password,
                                                 const SecretBytes& new_password) {
  if (new_password.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "password must not be empty");
  }
  std::lock_guard<std::mutex> lock(admin_mu_);
  auto records = LockRecords(store::FileLock::Wait::kBlock);
  if (!records.ok()) return records.error();
  auto loaded = Load(user);
  if (!loaded.ok()) return loaded.error();
  auto pkcs8 = DecryptPrivateKey(loaded->record, old_password);
  if (!pkcs8.ok()) return pkcs8.error();
  ONIONMAIL_RETURN_IF_ERROR(SetPop3Wrap(loaded->record, *pkcs8, new_password));
  unlock_cache_.Forget(loaded->record_name);  // the new salt voids it anyway
  return Store(loaded->record_name, loaded->record, /*replace=*/true);
}

Result<uint8_t> LocalKeyService::RecordVersion(std::string_view user) {
  auto loaded = Load(user);
  if (!loaded.ok()) return loaded.error();
  return loaded->record.version;
}

Result<KeyService::RecordCensus> LocalKeyService::CensusRecords() {
  auto names = store::ListDirectory(users_dir_);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return RecordCensus{};
    return names.error();
  }
  RecordCensus census;
  for (const std::string& name : *names) {
    if (!store::ValidMailboxId(name)) continue;  // record names are 64 hex chars too
    auto loaded = LoadRecord(name);
    if (loaded.ok()) {
      if (loaded->record.version == kUserRecordVersionSaltOnlyWrap) ++census.version1;
    } else if (loaded.error().code == ErrorCode::kDataLoss) {
      ++census.unreadable;
    } else if (loaded.error().code != ErrorCode::kNotFound) {  // deleted meanwhile
      return loaded.error();
    }
  }
  return census;
}

Result<size_t> LocalKeyService::CountUsers() {
  auto names = store::ListDirectory(users_dir_);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return size_t{0};
    return names.error();
  }
  return static_cast<size_t>(std::count_if(names->begin(), names->end(), [](const std::string& n) {
    return store::ValidMailboxId(n);  // record names are 64 hex chars too
  }));
}

}  // namespace onionmail::keys
