// LocalKeyService: keys::KeyService over an hsm::KeyStore and the users/
// directory of a state directory (in-process key role).
//
// Names: a user's record file is users/<hex(KeyedHash("user-record", name))>
// and the mailbox id is hex(KeyedHash("mailbox", name)), name lower-cased.
// HashedName(purpose, data) uses the keyed-hash purpose "ext:" + purpose, so
// callers can never reproduce the internal names.
//
// Contract (in addition to keys/key_service.h):
//  - CreateUser: names are 1..64 chars of [a-z0-9._-] after lower-casing
//    (kInvalidArgument otherwise); kAlreadyExists if the user exists. New
//    passwords must not be empty (kInvalidArgument).
//  - Records are written atomically and durably (temp file in <state>/tmp,
//    fsync, rename, fsync users/); admin calls are serialised in-process and,
//    with every other record rewrite, across processes by an flock on
//    <state>/users.lock (store/file_lock.h): admin calls wait for it.
//  - OpenInbox moves a record of version 1 to version 2 on a successful POP3
//    login (same salt and Argon2id parameters, so no second Argon2id; one more
//    device operation and a durable write, once per user). It re-reads the
//    record under the lock and rewraps only if its POP3 wrap is still the one
//    the login opened, so a concurrent `onionmailctl` change is never undone.
//    It never fails the login: a busy lock or a failed write (logged) leaves
//    version 1 for a later login.
//  - DeleteUser securely deletes the mailbox (kFailedPrecondition while it is
//    open), the block list (<state>/blocklists, keys/block_lists.h) and then
//    the record; SenderBlocked treats a block list that does not open
//    (kDataLoss) as empty, with a warning naming the mailbox id, so a damaged
//    list never stops the user's mail; deleting the record crypto-shreds any message
//    that might remain (the inbox private key existed only there).
//  - Mailing lists live in <state>/lists (keys/mailing_lists.h: one sealed
//    file per list, named by hex(KeyedHash("list", name))). ApplyList: an
//    empty actor is kPermissionDenied (no user on the session), an actor
//    that is not a valid local part (for kPost and kLeave: nor a remote member) or a
//    bad list name kInvalidArgument.
//    kCreate and kAdd (the ops that put a name in a list) run under
//    <state>/users.lock, as DeleteUser does, and need the actor to exist
//    (else kPermissionDenied); a refusal of the key store or the file system
//    is kUnavailable (keys::ListStoreFault), so kPermissionDenied always means
//    that the user may not do that; kCreate of a name whose address is a user's
//    ("<name>.list") is kAlreadyExists; kAdd of a local member that is not
//    a user here is kFailedPrecondition (a remote member, "local@<v3
//    onion>", is added unchecked). DeleteUser, after the block list and before
//    the record, removes the user from every list and deletes the lists it
//    owns (a failure fails the deletion, the record kept for a retry; a
//    list file that does not open is skipped with a warning, as no one can
//    use it), so a user made again under the name is in no old list.
//  - Self-registration (mail/registration.h): unused vouchers are empty
//    files in <state>/vouchers named by hex(KeyedHash("voucher", voucher))
//    (keys/vouchers.h). RegisterUser checks, in this order: the voucher
//    (canonical and unused, else kUnauthenticated, before any name is
//    looked at), the name (mail::ValidLocalPart as given, lower case, and
//    not mail::ReservedUserName, else kInvalidArgument), that the name is
//    free (else kAlreadyExists, the voucher untouched); then it claims the
//    voucher (a concurrent claim of it: kUnauthenticated) and makes the user
//    as CreateUser does (under admin_mu_ and <state>/users.lock, which
//    RegisterUser does not hold itself), with two passwords of
//    mail::kGeneratedPasswordChars lower-case base32 characters from the
//    CSPRNG. If that fails (kAlreadyExists: someone took the name meanwhile)
//    the voucher is restored and the error returned. A voucher, a name or a
//    password is never logged; a success logs one line without them.
//  - Change*/Delete on an unknown user: kNotFound. ChangePop3Password with a
//    wrong old password: kUnauthenticated.
//  - Failed SMTP AUTH and POP3 logins are counted per user name (GuessWatch):
//    the log says so at 10, 100, 1000... in a row, naming the mailbox id as
//    `onionmailctl user show` prints it. Nothing is refused for it.
//  - LookupUser answers from a PublicRecordCache when the record file is the
//    one it read before (one lstat instead of open, read, unseal and decode);
//    a record changed or deleted by any process is read again or not found.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "crypto/argon2id.h"
#include "crypto/inbox_key.h"
#include "hsm/key_store.h"
#include "keys/block_lists.h"
#include "keys/guess_watch.h"
#include "keys/kdf_slots.h"
#include "keys/key_service.h"
#include "keys/mailing_lists.h"
#include "keys/public_record_cache.h"
#include "keys/unlock_cache.h"
#include "keys/user_record.h"
#include "keys/verify_cache.h"
#include "keys/vmat_table.h"
#include "keys/vouchers.h"
#include "store/file_lock.h"
#include "store/mailbox_store.h"

namespace onionmail::keys {

class LocalKeyService : public KeyService {
 public:
  struct Options {
    std::string state_dir;
    crypto::Argon2Params kdf;  // for new verifiers and private-key wraps
    // Inbox key type for new users (crypto/inbox_key.h); existing users keep theirs.
    crypto::InboxKeyType inbox_key = crypto::InboxKeyType::kX25519;
    int rsa_bits = 3072;  // RSA inbox keys; raised to 2048 if lower
    // Successful SMTP AUTH checks are remembered this long (0 = never).
    std::chrono::seconds smtp_auth_cache_ttl{300};
    // The password factor of a successful POP3 login is remembered this long
    // (keys/unlock_cache.h; 0 = never).
    std::chrono::seconds pop3_unlock_cache_ttl{300};
    unsigned max_concurrent_kdf = 0;  // Argon2id runs at once; 0 = one per core
  };

  LocalKeyService(hsm::KeyStore& key_store, Options options);

  Result<UserPublic> LookupUser(std::string_view user) override;
  Result<std::string> HashedName(std::string_view purpose, std::string_view data) override;
  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override;
  Result<std::unique_ptr<InboxKey>> OpenInbox(std::string_view user,
                                              const SecretBytes& pop3_password) override;
  Result<void> CreateUser(std::string_view user, const SecretBytes& smtp_password,
                          const SecretBytes& pop3_password) override;
  Result<void> DeleteUser(std::string_view user) override;
  Result<void> ChangeSmtpPassword(std::string_view user, const SecretBytes& password) override;
  Result<void> ChangePop3Password(std::string_view user, const SecretBytes& old_password,
                                  const SecretBytes& new_password) override;
  Result<size_t> CountUsers() override;
  Result<bool> SenderBlocked(std::string_view mailbox_id, std::string_view sender) override;
  Result<std::vector<std::string>> ApplyBlockList(std::string_view user, mail::BlockListOp op,
                                                  std::string_view entry) override;
  Result<mail::ListRecord> ApplyList(std::string_view actor, mail::ListOp op, std::string_view name,
                                     std::string_view user) override;
  Result<mail::Registration> RegisterUser(std::string_view voucher, std::string_view user) override;
  Result<std::vector<SecretBytes>> AddVouchers(size_t count) override;
  Result<size_t> CountVouchers() override;
  Result<void> ClearVouchers() override;
  Result<std::optional<std::string>> LookupVmat(std::string_view alias) override;
  Result<std::optional<std::string>> SenderVmat(std::string_view target) override;
  Result<void> AddVmat(std::string_view alias, std::string_view target) override;
  Result<void> MakeSenderVmat(std::string_view alias) override;
  Result<void> RemoveVmat(std::string_view alias) override;
  Result<std::vector<mail::VmatRecord>> ListVmat() override;
  Result<uint8_t> RecordVersion(std::string_view user) override;
  Result<RecordCensus> CensusRecords() override;

  // Argon2id computations run so far (logins, checks, dummy runs, changes).
  uint64_t kdf_runs() const { return kdf_runs_.load(); }
  // User-record files read and unsealed so far (LookupUser hits read none).
  uint64_t record_reads() const { return record_reads_.load(); }

 private:
  struct Loaded {
    std::string record_name;
    UserRecord record;
  };
  Result<std::string> NameHash(std::string_view purpose, std::string_view user);
  Result<void> CheckDevice();  // kUnavailable while the key-store device is gone
  // kNotFound for unknown users; *record_name (if given) gets the record name
  // whenever it was computed (a valid name), found or not.
  Result<Loaded> Load(std::string_view user, std::string* record_name = nullptr);
  Result<Loaded> LoadRecord(std::string record_name);  // reads users/<record_name>
  Result<void> Store(const std::string& record_name, const UserRecord& record, bool replace);
  void RunDummyKdf(const SecretBytes& password);
  // Counts a failed SMTP AUTH or POP3 login; logs at 10, 100, 1000... in a row.
  void NoteFailedLogin(std::string_view user, const std::string& record_name, bool user_exists);
  // Argon2id of the POP3 password with the record's salt (one KDF slot).
  Result<SecretBytes> PasswordFactor(const UserRecord& record, const SecretBytes& password);
  // The inbox-key wrap key from the password factor and the device factor.
  Result<SecretBytes> InboxWrapKey(const UserRecord& record, const SecretBytes& from_password);
  // Decrypts the PKCS#8 private key (kUnauthenticated on a wrong password).
  // `record_name` non-empty: the unlock cache is consulted and filled.
  // `factor_out` (if given) receives the password factor P on success.
  Result<SecretBytes> DecryptPrivateKey(const UserRecord& record, const SecretBytes& password,
                                        const std::string& record_name = {},
                                        std::optional<SecretBytes>* factor_out = nullptr);
  // The cross-process lock on user records (<state>/users.lock).
  Result<store::FileLock> LockRecords(store::FileLock::Wait wait);
  // Rewraps a version-1 record that this login just opened as version 2
  // (see the contract above); logs and gives up on any failure.
  void MoveToVersion2(const Loaded& opened, const SecretBytes& pkcs8, const SecretBytes& factor);
  Result<void> SetPop3Wrap(UserRecord& record, const SecretBytes& pkcs8,
                           const SecretBytes& password);
  // Encrypts `pkcs8` under the wrap key of the record's version, salt and the
  // password factor P into record.encrypted_private_key.
  Result<void> SealPop3Wrap(UserRecord& record, const SecretBytes& pkcs8,
                            const SecretBytes& factor);
  Result<void> SetSmtpVerifier(UserRecord& record, const SecretBytes& password);

  hsm::KeyStore& key_store_;
  Options options_;
  std::atomic<int64_t> last_probe_ms_{-1000000};
  VerifyCache smtp_cache_;
  UnlockCache unlock_cache_;
  GuessWatch guesses_;
  std::atomic<uint64_t> kdf_runs_{0};
  std::atomic<uint64_t> record_reads_{0};
  std::atomic<uint64_t> records_moved_{0};  // version 1 -> 2 at a login
  PublicRecordCache public_records_;
  KdfSlots kdf_slots_;
  std::atomic<bool> device_ok_{true};
  std::string users_dir_;
  std::string tmp_dir_;
  std::string records_lock_path_;
  store::MailboxStore mailboxes_;
  BlockLists block_lists_;
  MailingLists mailing_lists_;
  Vouchers vouchers_;
  VmatTable vmat_;
  std::mutex admin_mu_;
};

}  // namespace onionmail::keys
