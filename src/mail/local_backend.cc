// LocalBackend (see local_backend.h).
#include "mail/local_backend.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/inbox_key.h"

namespace onionmail::mail {

namespace {

class LocalMessageWriter : public MessageWriter {
 public:
  explicit LocalMessageWriter(std::vector<std::unique_ptr<store::PendingMessage>> messages)
      : messages_(std::move(messages)) {}

  Result<void> Append(std::span<const uint8_t> bytes) override {
    if (done_) return MakeError(ErrorCode::kFailedPrecondition, "message already committed");
    for (auto& m : messages_) {
      auto r = m->Append(bytes);
      if (!r.ok()) {
        done_ = true;
        return r;
      }
    }
    return Ok();
  }

  Result<void> Commit() override {
    if (done_) return MakeError(ErrorCode::kFailedPrecondition, "message already committed");
    done_ = true;
    std::vector<store::PendingMessage*> all;
    for (auto& m : messages_) all.push_back(m.get());
    return store::CommitAll(all);
  }

 private:
  std::vector<std::unique_ptr<store::PendingMessage>> messages_;
  bool done_ = false;
};

class LocalMailbox : public Mailbox {
 public:
  LocalMailbox(store::MailboxStore& store, std::unique_ptr<store::MailboxLock> lock,
               std::unique_ptr<keys::InboxKey> inbox)
      : store_(store), lock_(std::move(lock)), inbox_(std::move(inbox)) {}

  Result<void> Load() {
    auto listed = store_.List(*lock_, Unwrapper());
    if (!listed.ok()) return listed.error();
    for (const store::StoredMessage& m : *listed) {
      infos_.push_back(MessageInfo{m.uid, m.meta.size});
    }
    return Ok();
  }

  const std::vector<MessageInfo>& Messages() const override { return infos_; }

  Result<void> Read(size_t index, const ChunkSink& sink) override {
    if (index >= infos_.size()) return MakeError(ErrorCode::kInvalidArgument, "no such message");
    return store_.Read(*lock_, infos_[index].uid, Unwrapper(), sink);
  }

  Result<void> Expunge(std::span<const size_t> indices) override {
    for (size_t index : indices) {
      if (index >= infos_.size()) return MakeError(ErrorCode::kInvalidArgument, "no such message");
    }
    std::vector<std::string> uids;
    for (size_t index : std::set<size_t>(indices.begin(), indices.end())) {
      uids.push_back(infos_[index].uid);
    }
    // One directory fsync for the whole batch; an already missing file is
    // not an error (it is gone, which is what was asked).
    auto r = store_.DeleteMany(*lock_, uids);
    if (!r.ok() && r.error().code == ErrorCode::kNotFound) return Ok();
    return r;
  }

 private:
  // List() unwraps every message's data key to read its metadata, and Read()
  // needs the same key again: remember the keys for the session (keyed by the
  // wrapped bytes, which are public) so that each costs one RSA-OAEP
  // decryption per session instead of two. The inbox private key itself is
  // held for the session anyway; the cached keys are wiped with the mailbox.
  store::DataKeyUnwrapper Unwrapper() {
    return [this](std::span<const uint8_t> wrapped) -> Result<SecretBytes> {
      std::string key(wrapped.begin(), wrapped.end());
      auto it = data_keys_.find(key);
      if (it != data_keys_.end()) return it->second.Clone();
      auto dek = inbox_->UnwrapDataKey(wrapped);
      if (!dek.ok()) return dek.error();
      data_keys_.emplace(std::move(key), dek->Clone());
      return std::move(*dek);
    };
  }

  store::MailboxStore& store_;
  std::unique_ptr<store::MailboxLock> lock_;
  std::unique_ptr<keys::InboxKey> inbox_;
  std::vector<MessageInfo> infos_;
  std::map<std::string, SecretBytes> data_keys_;  // wrapped DEK -> DEK
};

}  // namespace

Result<void> LocalBackend::VerifySmtpPassword(std::string_view user, const SecretBytes& password) {
  return keys_.VerifySmtpPassword(user, password);
}

Result<void> LocalBackend::CheckRecipient(std::string_view local_part, uint64_t declared_size,
                                          std::string_view sender) {
  auto user = keys_.LookupUser(local_part);
  if (!user.ok()) return user.error();
  if (!sender.empty()) {
    auto blocked = keys_.SenderBlocked(user->mailbox_id, sender);
    if (!blocked.ok()) return blocked.error();
    if (*blocked)
      return MakeError(ErrorCode::kRefused, "the recipient's block list holds the sender");
  }
  ONIONMAIL_RETURN_IF_ERROR(store_.CheckFreeSpace());
  return store_.CheckQuota(user->mailbox_id, declared_size);
}

Result<crypto::InboxPublicKey> LocalBackend::RecipientKey(const keys::UserPublic& user) {
  {
    std::lock_guard<std::mutex> lock(keys_mu_);
    auto it = recipient_keys_.find(user.mailbox_id);
    if (it != recipient_keys_.end() && it->second.der == user.public_key &&
        it->second.key.KeyId() == user.key_id) {
      return it->second.key;
    }
  }
  auto key = crypto::InboxPublicKey::FromDer(user.public_key);
  if (!key.ok()) return MakeError(ErrorCode::kDataLoss, "recipient public key is malformed");
  if (key->KeyId() != user.key_id) {
    return MakeError(ErrorCode::kDataLoss, "recipient public key does not match its key id");
  }
  std::lock_guard<std::mutex> lock(keys_mu_);
  if (recipient_keys_.size() >= kMaxCachedKeys) recipient_keys_.clear();
  recipient_keys_.insert_or_assign(user.mailbox_id, CachedKey{user.public_key, *key});
  return key;
}

Result<std::unique_ptr<MessageWriter>> LocalBackend::BeginMessage(const Envelope& envelope) {
  if (envelope.local_parts.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no recipients");
  }
  std::vector<std::unique_ptr<store::PendingMessage>> messages;
  std::set<std::string> seen;
  for (const std::string& local_part : envelope.local_parts) {
    auto user = keys_.LookupUser(local_part);
    if (!user.ok()) return user.error();
    if (!seen.insert(user->mailbox_id).second) continue;  // one copy per mailbox
    auto key = RecipientKey(*user);
    if (!key.ok()) return key.error();
    auto pending = store_.BeginMessage(user->mailbox_id, *key);
    if (!pending.ok()) return pending.error();
    messages.push_back(std::move(*pending));
  }
  return std::unique_ptr<MessageWriter>(std::make_unique<LocalMessageWriter>(std::move(messages)));
}

Result<std::unique_ptr<Mailbox>> LocalBackend::Open(std::string_view user,
                                                    const SecretBytes& pop3_password) {
  auto inbox = keys_.OpenInbox(user, pop3_password);
  if (!inbox.ok()) return inbox.error();
  auto lock = store_.Lock((*inbox)->mailbox_id());
  if (!lock.ok()) return lock.error();
  auto mailbox = std::make_unique<LocalMailbox>(store_, std::move(*lock), std::move(*inbox));
  ONIONMAIL_RETURN_IF_ERROR(mailbox->Load());
  return std::unique_ptr<Mailbox>(std::move(mailbox));
}

}  // namespace onionmail::mail
