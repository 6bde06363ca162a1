// Front-end side of the key role; see remote_backend.h.
#include "server/remote_backend.h"

#include <algorithm>
#include <utility>

#include "ipc/codec.h"

namespace onionmail::server {
namespace {

// The key role queues Argon2id work (kdf.max_concurrent): logins may wait.
constexpr std::chrono::milliseconds kKdfTimeout{std::chrono::minutes(5)};
constexpr std::chrono::milliseconds kIoTimeout{std::chrono::minutes(2)};

thread_local SessionLink* t_link = nullptr;

Error Unavailable(const char* what) {
  return MakeError(ErrorCode::kUnavailable, std::string("key role: ") + what);
}

class RemoteWriter : public mail::MessageWriter {
 public:
  RemoteWriter(SessionLink& link, uint64_t id) : link_(link), id_(id) {}
  ~RemoteWriter() override {
    if (!done_ && current() && !link_.broken()) (void)link_.Send(ipc::AbortMessageRequest{});
  }

  Result<void> Append(std::span<const uint8_t> bytes) override {
    if (done_) return MakeError(ErrorCode::kFailedPrecondition, "message already committed");
    if (!current()) return Superseded();
    ipc::AppendRequest req;
    while (!bytes.empty()) {
      size_t n = std::min(bytes.size(), ipc::kMaxChunkBytes);
      req.data.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      Result<void> sent = link_.Send(req);
      WipeMemory(req.data.data(), req.data.size());  // mail in clear: like MessageChunk
      ONIONMAIL_RETURN_IF_ERROR(sent);
      bytes = bytes.subspan(n);
    }
    return Ok();
  }

  Result<void> Commit() override {
    if (done_) return MakeError(ErrorCode::kFailedPrecondition, "message already committed");
    if (!current()) return Superseded();
    done_ = true;
    auto r = link_.Call<ipc::StatusReply>(ipc::CommitRequest{}, kIoTimeout);
    if (!r.ok()) return r.error();
    return ipc::StatusToResult(r->status, "key role: message not stored");
  }

 private:
  bool current() const { return link_.current_writer() == id_; }
  static Error Superseded() {
    return MakeError(ErrorCode::kFailedPrecondition, "a newer message replaced this one");
  }
  SessionLink& link_;
  const uint64_t id_;
  bool done_ = false;
};

class RemoteMailbox : public mail::Mailbox {
 public:
  RemoteMailbox(SessionLink& link, std::vector<mail::MessageInfo> messages)
      : link_(link), messages_(std::move(messages)) {}
  // Releases the lock in the key role and waits for it (mail::Mailbox's
  // contract), so that a QUIT's +OK comes after the release. A broken link
  // fails at once; the key role then releases it when the session ends.
  ~RemoteMailbox() override {
    (void)link_.Call<ipc::StatusReply>(ipc::CloseMailboxRequest{}, kIoTimeout);
  }

  const std::vector<mail::MessageInfo>& Messages() const override { return messages_; }

  Result<void> Read(size_t index, const mail::ChunkSink& sink) override {
    if (index >= messages_.size()) return MakeError(ErrorCode::kInvalidArgument, "no such message");
    ONIONMAIL_RETURN_IF_ERROR(link_.Send(ipc::ReadMessageRequest{static_cast<uint32_t>(index)}));
    // A sink may stop early on purpose (TOP n); the rest of the stream is
    // then read and dropped so the session stays usable.
    Result<void> sunk = Ok();
    for (;;) {
      auto m = link_.Receive(kIoTimeout);
      if (!m.ok()) return m.error();
      if (auto* chunk = std::get_if<ipc::MessageChunk>(&*m)) {
        if (sunk.ok()) sunk = sink(chunk->data);
        WipeMemory(chunk->data.data(), chunk->data.size());
        continue;
      }
      if (auto* end = std::get_if<ipc::StatusReply>(&*m)) {
        if (!sunk.ok()) return sunk;
        return ipc::StatusToResult(end->status, "key role: message unreadable");
      }
      link_.Break();
      return Unavailable("unexpected reply while reading a message");
    }
  }

  Result<void> Expunge(std::span<const size_t> indices) override {
    for (size_t i = 0; i < indices.size(); i += ipc::kMaxExpungeIndices) {
      ipc::ExpungeRequest req;
      for (size_t j = i; j < indices.size() && j < i + ipc::kMaxExpungeIndices; ++j) {
        req.indices.push_back(static_cast<uint32_t>(indices[j]));
      }
      auto r = link_.Call<ipc::StatusReply>(req, kIoTimeout);
      if (!r.ok()) return r.error();
      ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "key role: delete failed"));
    }
    return Ok();
  }

 private:
  SessionLink& link_;
  std::vector<mail::MessageInfo> messages_;
};

}  // namespace

Result<void> SessionLink::Send(const ipc::Message& m) {
  if (!channel_) return Unavailable("session closed");
  auto r = channel_->Send(m);
  if (!r.ok()) {
    Break();
    return Unavailable("gone");
  }
  return Ok();
}

Result<ipc::Message> SessionLink::Receive(std::chrono::milliseconds timeout) {
  if (!channel_) return Unavailable("session closed");
  auto r = channel_->Receive(timeout);
  if (!r.ok()) {
    Break();
    return Unavailable(r.error().code == ErrorCode::kDeadlineExceeded ? "no answer in time"
                                                                      : "gone");
  }
  return r;
}

Result<std::vector<uint8_t>> SessionLink::Sign(std::span<const uint8_t> block) {
  ipc::TlsSignRequest req;
  req.block.assign(block.begin(), block.end());
  auto r = Call<ipc::TlsSignReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "key role: signature refused"));
  return std::move(r->signature);
}

Result<std::vector<uint8_t>> SessionLink::SignEcdsa(std::span<const uint8_t> digest,
                                                    uint32_t generation) {
  ipc::TlsEcdsaSignRequest req;
  req.digest.assign(digest.begin(), digest.end());
  req.generation = generation;
  auto r = Call<ipc::TlsSignReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "key role: signature refused"));
  return std::move(r->signature);
}

void SetThreadLink(SessionLink* link) { t_link = link; }
SessionLink* ThreadLink() { return t_link; }

Result<void> RemoteDelivery::VerifySmtpPassword(std::string_view user,
                                                const SecretBytes& password) {
  ipc::VerifySmtpPasswordRequest req;
  req.user = std::string(user);
  req.password = SecretBytes(SecretAccess::Grant(), password.Reveal(SecretAccess::Grant()));
  auto r = link_.Call<ipc::VerifyResult>(ipc::Message(std::move(req)), kKdfTimeout);
  if (!r.ok()) return r.error();
  return ipc::StatusToResult(r->status, "authentication failed");
}

Result<void> RemoteDelivery::CheckRecipient(std::string_view local_part, uint64_t declared_size,
                                            std::string_view sender) {
  auto r = link_.Call<ipc::StatusReply>(
      ipc::CheckRecipientRequest{std::string(local_part), declared_size, std::string(sender)},
      kIoTimeout);
  if (!r.ok()) return r.error();
  return ipc::StatusToResult(r->status, "recipient check failed");
}

Result<std::vector<std::string>> RemoteDelivery::Apply(mail::BlockListOp op,
                                                       std::string_view entry) {
  ipc::BlockListRequest req{static_cast<uint16_t>(op), std::string(entry)};
  auto r = link_.Call<ipc::BlockListReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "block list"));
  return std::move(r->entries);
}

Result<void> RemoteDelivery::Own(mail::VmatOwnOp op) {
  auto r = link_.Call<ipc::StatusReply>(ipc::VmatOwnRequest{static_cast<uint16_t>(op)}, kIoTimeout);
  if (!r.ok()) return r.error();
  return ipc::StatusToResult(r->status, "own VMAT alias");
}

Result<std::string> RemoteDelivery::Lookup(std::string_view alias) {
  ipc::VmatLookupRequest req{std::string(alias)};
  if (!ipc::Encode(req).ok()) return MakeError(ErrorCode::kNotFound, "no such VMAT alias");
  auto r = link_.Call<ipc::VmatLookupReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "VMAT alias"));
  if (!mail::ValidVmatTarget(r->target)) {
    link_.Break();
    return MakeError(ErrorCode::kUnavailable, "the key role sent a bad VMAT target");
  }
  return std::move(r->target);
}

Result<std::string> RemoteDelivery::SenderAddress(std::string_view sender) {
  ipc::VmatSenderRequest req{std::string(sender)};
  if (!ipc::Encode(req).ok()) return MakeError(ErrorCode::kNotFound, "no such VMAT sender");
  auto r = link_.Call<ipc::VmatLookupReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "VMAT sender"));
  return CheckedAliasAddress(std::move(r->target));
}

Result<std::string> RemoteDelivery::ForServer(mail::VmatOwnOp op, std::string_view user,
                                              std::string_view alias) {
  ipc::VmatServerRequest req{static_cast<uint16_t>(op), std::string(user), std::string(alias)};
  // What the asking server typed must not break the link: refused here.
  if (!ipc::Encode(req).ok()) return MakeError(ErrorCode::kInvalidArgument, "not a name");
  auto r = link_.Call<ipc::VmatLookupReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "VMAT for a server"));
  return CheckedAliasAddress(std::move(r->target));
}

Result<std::string> RemoteDelivery::CheckedAliasAddress(std::string address) {
  const size_t at = address.find('@');
  if (at == std::string::npos || address.find('@', at + 1) != std::string::npos ||
      !mail::ValidVmatAlias(std::string_view(address).substr(0, at)) || at + 1 == address.size()) {
    link_.Break();
    return MakeError(ErrorCode::kUnavailable, "the key role sent a bad VMAT address");
  }
  return address;
}

Result<mail::ListRecord> RemoteDelivery::Apply(mail::ListOp op, std::string_view name,
                                               std::string_view user) {
  ipc::ListRequest req{static_cast<uint16_t>(op), std::string(name), std::string(user)};
  // A name or user the codec refuses (what a client typed) must not break
  // the link as a failed Send would: refused here, before sending.
  if (!ipc::Encode(req).ok()) return MakeError(ErrorCode::kInvalidArgument, "mailing list");
  auto r = link_.Call<ipc::ListReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "mailing list"));
  return mail::ListRecord{std::move(r->owner), std::move(r->members), r->announce, r->moderated};
}

Result<std::vector<SecretBytes>> RemoteDelivery::Issue(size_t count) {
  if (count < 1 || count > ipc::kMaxIssuedVouchers) {
    return MakeError(ErrorCode::kInvalidArgument, "vouchers: count out of range");
  }
  auto r = link_.Call<ipc::IssueVouchersReply>(
      ipc::IssueVouchersRequest{static_cast<uint16_t>(count)}, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "vouchers"));
  return std::move(r->vouchers);
}

Result<mail::TormAnswer> RemoteTorm::Handle(mail::TormVerb verb,
                                            const mail::ChannelBinding& binding,
                                            std::span<const uint8_t> request) {
  ipc::TormRequest req;
  req.verb = verb;
  req.channel_binding = binding;
  req.blob.assign(request.begin(), request.end());
  auto r = link_.Call<ipc::TormReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  return mail::TormAnswer{r->outcome, std::move(r->blob)};
}

Result<std::unique_ptr<mail::MessageWriter>> RemoteDelivery::BeginMessage(
    const mail::Envelope& envelope) {
  ipc::BeginMessageRequest req;
  req.reverse_path = envelope.reverse_path;
  req.local_parts = envelope.local_parts;
  auto r = link_.Call<ipc::StatusReply>(req, kIoTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "cannot start the message"));
  return std::unique_ptr<mail::MessageWriter>(
      std::make_unique<RemoteWriter>(link_, link_.NewWriterId()));
}

Result<std::unique_ptr<mail::Mailbox>> RemoteMailboxes::Open(std::string_view user,
                                                             const SecretBytes& pop3_password) {
  ipc::OpenMailboxRequest req;
  req.user = std::string(user);
  req.password = SecretBytes(SecretAccess::Grant(), pop3_password.Reveal(SecretAccess::Grant()));
  auto r = link_.Call<ipc::OpenMailboxReply>(ipc::Message(std::move(req)), kKdfTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "cannot open the mailbox"));
  std::vector<mail::MessageInfo> messages;
  // `count` comes from the key role; reserve no more than one page on its word.
  messages.reserve(std::min<size_t>(r->count, ipc::kMaxListingEntries));
  while (messages.size() < r->count) {
    auto page = link_.Receive(kIoTimeout);
    if (!page.ok()) return page.error();
    auto* listing = std::get_if<ipc::MailboxListing>(&*page);
    if (listing == nullptr || listing->entries.size() > r->count - messages.size()) {
      link_.Break();
      return Unavailable("bad mailbox listing");
    }
    for (auto& e : listing->entries) messages.push_back({std::move(e.uid), e.size});
  }
  return std::unique_ptr<mail::Mailbox>(
      std::make_unique<RemoteMailbox>(link_, std::move(messages)));
}

Result<mail::Registration> RemoteMailboxes::Register(std::string_view voucher,
                                                     std::string_view user) {
  const ipc::Message req(
      ipc::RegisterRequest{SecretBytes(SecretAccess::Grant(), voucher), std::string(user)});
  // A voucher or name the codec refuses (what a client typed) must not break
  // the link as a failed Send would: refused here, before sending. The
  // frame holds the voucher in clear: wiped.
  std::vector<uint8_t> frame;
  const bool fits = ipc::EncodeInto(req, frame).ok();
  WipeMemory(frame.data(), frame.size());
  if (!fits) return MakeError(ErrorCode::kInvalidArgument, "registration");
  auto r = link_.Call<ipc::RegisterReply>(req, kKdfTimeout);
  if (!r.ok()) return r.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(r->status, "registration"));
  return mail::Registration{std::move(r->smtp_password), std::move(r->pop3_password)};
}

}  // namespace onionmail::server
