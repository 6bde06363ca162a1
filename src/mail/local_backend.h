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
#pragma once

#include <memory>

#include "keys/key_service.h"
#include "mail/backend.h"
#include "store/mailbox_store.h"

namespace onionmail::mail {

class LocalBackend : public DeliveryBackend, public MailboxBackend {
 public:
  LocalBackend(keys::KeyService& keys, store::MailboxStore& store)
      : keys_(keys), store_(store) {}

  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override;
  Result<void> CheckRecipient(std::string_view local_part) override;
  Result<std::unique_ptr<MessageWriter>> BeginMessage(const Envelope& envelope) override;

  Result<std::unique_ptr<Mailbox>> Open(std::string_view user,
                                        const SecretBytes& pop3_password) override;

 private:
  keys::KeyService& keys_;
  store::MailboxStore& store_;
};

}  // namespace onionmail::mail
