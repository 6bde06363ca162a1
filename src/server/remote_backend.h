// The front ends' side of the key role: mail::DeliveryBackend and
// mail::MailboxBackend implemented over one session channel (ipc messages in
// ipc/messages.h; the server side is key_service_role.h).
//
// Contract:
//  - One SessionLink per client connection, used by that connection's thread
//    only. Requests are answered in order; AppendRequest and
//    AbortMessageRequest have no reply.
//  - Any IPC failure (key role gone or restarting, malformed reply, timeout)
//    breaks the link: that call and every later one fail with kUnavailable,
//    which the protocols report as a temporary failure (SMTP 451, POP3
//    -ERR [SYS/TEMP]). Nothing is ever reported durable unless the key role
//    said so after its fsync.
//  - Replies carrying decrypted mail are wiped after they are passed on.
//  - RemoteDelivery's two Apply() (block lists, mailing lists) fail as the
//    key role answered (its status's error code) or, on a broken link, with
//    kUnavailable like every other call. A mailing-list request outside the
//    IPC bounds (ipc/bounds.h) is kInvalidArgument, never sent, and leaves
//    the link as it was.
//  - RemoteDelivery::Lookup() (VMAT) likewise; an alias outside the IPC
//    bounds is kNotFound, never sent; a target that is not
//    mail::ValidVmatTarget() breaks the link (a key role out of contract).
//    RemoteDelivery::SenderAddress() likewise: a sender outside the IPC
//    bounds is kNotFound, never sent; an answer that is not alias@domain
//    (one '@', a valid alias) breaks the link. RemoteDelivery::ForServer()
//    the same, but a user or alias outside the bounds is kInvalidArgument.
//  - RemoteMailboxes::Register() (mail::RegistrationService, POP3 RQUS)
//    fails likewise: the key role's status's code, or kUnavailable on a
//    broken link. A voucher or name outside the IPC bounds (not canonical,
//    not 1..kMaxLocalPartBytes of name bytes) is kInvalidArgument, never
//    sent, and leaves the link as it was. The passwords come back in
//    SecretBytes and are nowhere else in the front end.
//  - Sign() / SignEcdsa() are the TLS private-key operations for
//    net::MakeRemoteRsaKey / MakeRemoteEcKey, routed through the link of the
//    calling thread (SetThreadLink).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "ipc/channel.h"
#include "mail/backend.h"
#include "mail/block_list.h"
#include "mail/mailing_list.h"
#include "mail/registration.h"
#include "mail/torm.h"
#include "mail/vmat.h"

namespace onionmail::server {

class SessionLink {
 public:
  explicit SessionLink(ipc::Channel channel) : channel_(std::move(channel)) {}

  bool broken() const { return !channel_.has_value(); }
  Result<void> Send(const ipc::Message& m);
  Result<ipc::Message> Receive(std::chrono::milliseconds timeout);
  // Send, then receive a reply of type T.
  template <typename T>
  Result<T> Call(const ipc::Message& m, std::chrono::milliseconds timeout) {
    ONIONMAIL_RETURN_IF_ERROR(Send(m));
    auto r = Receive(timeout);
    if (!r.ok()) return r.error();
    if (auto* t = std::get_if<T>(&*r)) return std::move(*t);
    Break();
    return MakeError(ErrorCode::kUnavailable, "key role: unexpected reply");
  }
  void Break() { channel_.reset(); }
  // The message writer begun last; an older writer is inert (its Append,
  // Commit and destructor touch neither the link nor the newer message).
  uint64_t NewWriterId() { return ++writer_id_; }
  uint64_t current_writer() const { return writer_id_; }

  Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> block);
  // `generation`: 0 for the token's TLS key, else the session TLS key of
  // that generation (ipc::TlsEcdsaSignRequest).
  Result<std::vector<uint8_t>> SignEcdsa(std::span<const uint8_t> digest, uint32_t generation = 0);

 private:
  std::optional<ipc::Channel> channel_;
  uint64_t writer_id_ = 0;
};

// The link the TLS handshake of the calling thread signs through.
void SetThreadLink(SessionLink* link);
SessionLink* ThreadLink();

class RemoteDelivery : public mail::DeliveryBackend,
                       public mail::BlockListService,
                       public mail::ListService,
                       public mail::VoucherService,
                       public mail::VmatService {
 public:
  explicit RemoteDelivery(SessionLink& link) : link_(link) {}
  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override;
  Result<void> CheckRecipient(std::string_view local_part, uint64_t declared_size,
                              std::string_view sender) override;
  Result<std::unique_ptr<mail::MessageWriter>> BeginMessage(
      const mail::Envelope& envelope) override;
  // The block list of the user authenticated on this session (the key role
  // knows who; mail/block_list.h).
  Result<std::vector<std::string>> Apply(mail::BlockListOp op, std::string_view entry) override;
  // `op` on the mailing list `name` by the user authenticated on this
  // session (the key role knows who; mail/mailing_list.h).
  Result<mail::ListRecord> Apply(mail::ListOp op, std::string_view name,
                                 std::string_view user) override;
  // New vouchers, if the user authenticated on this session is the sysop
  // (the key role checks; mail/registration.h).
  Result<std::vector<SecretBytes>> Issue(size_t count) override;
  // The target of a VMAT alias (mail/vmat.h); kNotFound: none.
  Result<std::string> Lookup(std::string_view alias) override;
  // The session's user's own alias (the key role knows who; mail/vmat.h).
  Result<void> Own(mail::VmatOwnOp op) override;
  // The sending alias of `sender` (the key role checks the session may ask).
  Result<std::string> SenderAddress(std::string_view sender) override;
  // The alias of a user of the session's TKIM-proven server (the key role
  // checks that server is listed).
  Result<std::string> ForServer(mail::VmatOwnOp op, std::string_view user,
                                std::string_view alias) override;

 private:
  // `address` if it is "<valid alias>@<domain>"; else breaks the link.
  Result<std::string> CheckedAliasAddress(std::string address);

  SessionLink& link_;
};

// SMTP sessions of a peer server (config [peer] serve = true): TORM requests
// go to the key role, which holds the partner records.
class RemoteTorm : public mail::TormService {
 public:
  explicit RemoteTorm(SessionLink& link) : link_(link) {}
  Result<mail::TormAnswer> Handle(mail::TormVerb verb, const mail::ChannelBinding& binding,
                                  std::span<const uint8_t> request) override;

 private:
  SessionLink& link_;
};

class RemoteMailboxes : public mail::MailboxBackend, public mail::RegistrationService {
 public:
  explicit RemoteMailboxes(SessionLink& link) : link_(link) {}
  Result<std::unique_ptr<mail::Mailbox>> Open(std::string_view user,
                                              const SecretBytes& pop3_password) override;
  // A new account with a one-time voucher (mail/registration.h); the key
  // role allows a session one success and 3 failures.
  Result<mail::Registration> Register(std::string_view voucher, std::string_view user) override;

 private:
  SessionLink& link_;
};

}  // namespace onionmail::server
