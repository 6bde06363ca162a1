// LocalBackend: mail::DeliveryBackend and mail::MailboxBackend over the key
// service and the mailbox store of one state directory.
//
// Contract (in addition to mail/backend.h):
//  - BeginMessage opens one encrypted temp file per recipient (public key
//    only); Append feeds all of them; Commit makes all durable and visible or
//    none (store::CommitAll).
//  - Open authenticates first (unknown user and wrong password are the same
//    kUnauthenticated, after the same KDF work), then takes the mailbox lock
//    (kFailedPrecondition when another session holds it), then lists the
//    messages: each file's data key is unwrapped and only its small metadata
//    slot is decrypted. Order: arrival time, then uid (the file name).
//    Authenticating before locking means a locked mailbox tells nothing to
//    someone without the password.
//  - CheckRecipient: kNotFound for an unknown user; kRefused when the user's
//    block list holds the sender (KeyService::SenderBlocked); for a known one, while
//    the state's filesystem is below its reserve (MailboxStore::
//    CheckFreeSpace), kResourceExhausted (SMTP 452 4.3.1); while the user's
//    mailbox holds its quota, or has no room for the declared size
//    (MailboxStore::CheckQuota), kMailboxFull (SMTP 452 4.2.2): mail is
//    refused before its data is sent rather than after.
//  - Recipient public keys are parsed and checked against their key id once
//    and then kept (at most kMaxCachedKeys, keyed by mailbox id and compared
//    with the record's current DER on every use, so a changed key is picked
//    up at once). Public data only; bench/ measured the per-delivery parse
//    and re-encoding as a fifth of the key role's CPU.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crypto/inbox_key.h"
#include "keys/key_service.h"
#include "mail/backend.h"
#include "store/mailbox_store.h"

namespace onionmail::mail {

class LocalBackend : public DeliveryBackend, public MailboxBackend {
 public:
  LocalBackend(keys::KeyService& keys, store::MailboxStore& store) : keys_(keys), store_(store) {}

  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override;
  Result<void> CheckRecipient(std::string_view local_part, uint64_t declared_size,
                              std::string_view sender) override;
  Result<std::unique_ptr<MessageWriter>> BeginMessage(const Envelope& envelope) override;

  Result<std::unique_ptr<Mailbox>> Open(std::string_view user,
                                        const SecretBytes& pop3_password) override;

 private:
  static constexpr size_t kMaxCachedKeys = 4096;
  struct CachedKey {
    std::vector<uint8_t> der;
    crypto::InboxPublicKey key;
  };
  // The recipient's parsed public key, checked against user.key_id.
  Result<crypto::InboxPublicKey> RecipientKey(const keys::UserPublic& user);

  keys::KeyService& keys_;
  store::MailboxStore& store_;
  std::mutex keys_mu_;
  std::map<std::string, CachedKey> recipient_keys_;  // mailbox id -> key
};

}  // namespace onionmail::mail
