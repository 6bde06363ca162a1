// keys::KeyService: the key role's interface. It alone holds the server key
// store, user records (password verifiers, encrypted inbox private keys) and
// performs every private-key operation. Network-facing code talks to it only
// through this interface (in-process now; over IPC when roles split).
//
// Contract:
//  - Unknown users and wrong passwords give the same kUnauthenticated error
//    from the Verify/Open calls (no user enumeration through timing of the
//    error path beyond the KDF itself, which runs on a dummy record).
//  - InboxKey::UnwrapDataKey() is the only way to get a message data key; it
//    exists only after a successful POP3-password check.
//  - Admin calls (Create/Delete/Change*) are used by onionmailctl only. The
//    one record write a serving key role makes is OpenInbox moving a record
//    of version 1 to version 2 (keys/local_key_service.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "mail/block_list.h"
#include "mail/mailing_list.h"
#include "mail/registration.h"
#include "mail/vmat.h"

namespace onionmail::keys {

struct UserPublic {
  std::string mailbox_id;           // hex keyed hash of the user name
  std::vector<uint8_t> public_key;  // DER SubjectPublicKeyInfo (inbox key)
  std::array<uint8_t, 32> key_id;   // SHA-256 of public_key
};

class InboxKey {
 public:
  virtual ~InboxKey() = default;
  virtual const std::string& mailbox_id() const = 0;
  virtual Result<SecretBytes> UnwrapDataKey(std::span<const uint8_t> wrapped) const = 0;
};

class KeyService {
 public:
  virtual ~KeyService() = default;
  virtual Result<UserPublic> LookupUser(std::string_view user) = 0;  // kNotFound
  // Keyed hash name for an arbitrary purpose (e.g. a message id), hex.
  virtual Result<std::string> HashedName(std::string_view purpose, std::string_view data) = 0;
  virtual Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) = 0;
  virtual Result<std::unique_ptr<InboxKey>> OpenInbox(std::string_view user,
                                                      const SecretBytes& pop3_password) = 0;

  virtual Result<void> CreateUser(std::string_view user, const SecretBytes& smtp_password,
                                  const SecretBytes& pop3_password) = 0;
  virtual Result<void> DeleteUser(std::string_view user) = 0;
  virtual Result<void> ChangeSmtpPassword(std::string_view user, const SecretBytes& password) = 0;
  virtual Result<void> ChangePop3Password(std::string_view user, const SecretBytes& old_password,
                                          const SecretBytes& new_password) = 0;
  virtual Result<size_t> CountUsers() = 0;
  // Block lists (mail/block_list.h), sealed by the key store: whether the
  // mailbox's list holds `sender` (a reverse path; empty is never blocked),
  // and `op` on the list of `user` (kNotFound: no such user), giving the
  // list after it. DeleteUser deletes the user's list too.
  virtual Result<bool> SenderBlocked(std::string_view mailbox_id, std::string_view sender) = 0;
  virtual Result<std::vector<std::string>> ApplyBlockList(std::string_view user,
                                                          mail::BlockListOp op,
                                                          std::string_view entry) = 0;
  // Mailing lists (mail/mailing_list.h), sealed by the key store: `op` on
  // the list `name` by the user `actor` (the one authenticated on the
  // session, or for kPost and kLeave a remote member whose server proved itself),
  // following mail::ListService::Apply(). DeleteUser removes the
  // user from every list and destroys the lists the user owns.
  virtual Result<mail::ListRecord> ApplyList(std::string_view actor, mail::ListOp op,
                                             std::string_view name, std::string_view user) = 0;
  // Self-registration (mail/registration.h): RegisterUser follows
  // mail::RegistrationService::Register() (POP3 RQUS, through the key role).
  // AddVouchers (onionmailctl) makes `count` (1..1000) new one-time vouchers,
  // canonical, and returns them; the store keeps only a keyed hash of each.
  // CountVouchers gives how many are unused; ClearVouchers deletes them all.
  virtual Result<mail::Registration> RegisterUser(std::string_view voucher,
                                                  std::string_view user) = 0;
  virtual Result<std::vector<SecretBytes>> AddVouchers(size_t count) = 0;
  virtual Result<size_t> CountVouchers() = 0;
  virtual Result<void> ClearVouchers() = 0;
  // VMAT aliases of an enter gateway (mail/vmat.h, keys/vmat_table.h):
  // LookupVmat gives an alias's target (nullopt: none); AddVmat, RemoveVmat
  // and ListVmat are the operator's (onionmailctl vmat). SenderVmat gives a
  // target's sending alias, the local part (VmatTable::SenderAlias);
  // MakeSenderVmat makes an alias its target's (VmatTable::MakeSender).
  virtual Result<std::optional<std::string>> LookupVmat(std::string_view alias) = 0;
  virtual Result<std::optional<std::string>> SenderVmat(std::string_view target) = 0;
  virtual Result<void> AddVmat(std::string_view alias, std::string_view target) = 0;
  virtual Result<void> MakeSenderVmat(std::string_view alias) = 0;
  virtual Result<void> RemoveVmat(std::string_view alias) = 0;
  virtual Result<std::vector<mail::VmatRecord>> ListVmat() = 0;
  // The format version of the user's record (keys/user_record.h): 2, or 1 for
  // a record whose inbox wrap predates version 2 (the device half from the
  // salt alone) and stays so until the user's POP3 password changes.
  virtual Result<uint8_t> RecordVersion(std::string_view user) = 0;
  // Every user record read once (`onionmailctl status`): how many are still
  // version 1 (each moves at its user's next POP3 login) and how many do not
  // open (failed authentication or a malformed record: kDataLoss on login).
  struct RecordCensus {
    size_t version1 = 0;
    size_t unreadable = 0;
  };
  virtual Result<RecordCensus> CensusRecords() = 0;
};

}  // namespace onionmail::keys
