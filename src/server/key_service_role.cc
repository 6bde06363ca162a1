// KeyRoleServer implementation; see key_service_role.h.
#include "server/key_service_role.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "mail/backend.h"
#include "mail/block_list.h"
#include "mail/mailing_list.h"
#include "mail/registration.h"
#include "mail/vmat.h"
#include "server/key_role_internal.h"
#include "server/sign_guard.h"

namespace onionmail::server {

using key_role::LogFault;
using key_role::NowSeconds;
using key_role::Reply;
using key_role::StatusOf;
using key_role::VouchedFor;

struct Pop3SessionState {
  std::unique_ptr<mail::Mailbox> mailbox;
  // Registrations asked for on this session (RegisterRequest), by outcome.
  uint32_t registered = 0;
  uint32_t failed_registrations = 0;
};

namespace {

constexpr std::chrono::milliseconds kForever{-1};
// Registrations per POP3 session: each costs a KDF and key generation, so a
// subverted front end gets only this much of that work per session.
constexpr uint32_t kMaxRegistrations = 1;
constexpr uint32_t kMaxFailedRegistrations = 3;
constexpr uint64_t kTraceHeaderSlack = 64 * 1024;

// Ends the session with a log line naming the reason (never the content).
bool BadRequest(const char* why) {
  log::Warning("key", std::string("ending an smtp session: ") + why);
  return false;
}

const char* Name(FrontEnd fe) { return fe == FrontEnd::kSmtp ? "smtp" : "pop3"; }

// A generated password as RegisterReply carries it (ipc/codec.h).
bool OfVoucherAlphabet(const SecretBytes& pw, size_t size) {
  if (pw.size() != size) return false;
  for (uint8_t c : pw.Reveal(SecretAccess::Grant())) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

// The keyword of a RegisterReply's status, for the log.
const char* Keyword(ipc::Status status) {
  if (status == ipc::Status::kOk) return "ok";
  return ErrorCodeName(static_cast<ErrorCode>(static_cast<uint16_t>(status) - 1));
}

}  // namespace

KeyRoleServer::KeyRoleServer(State& state, TlsIdentity tls, uint32_t max_sessions)
    : state_(state), tls_(std::move(tls)), max_sessions_(max_sessions) {}

Result<void> KeyRoleServer::ServeControl(ipc::Channel control, FrontEnd front_end) {
  std::atomic<uint32_t>& active = front_end == FrontEnd::kSmtp ? smtp_sessions_ : pop3_sessions_;
  for (;;) {
    auto in = control.ReceiveFd(kForever);
    if (!in.ok()) return in.error();
    if (!std::holds_alternative<ipc::NewSession>(in->message)) {
      return MakeError(ErrorCode::kInvalidArgument, std::string("unexpected message on the ") +
                                                        Name(front_end) + " control channel");
    }
    auto channel = ipc::Channel::FromFd(in->fd.Release());
    if (!channel.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("bad session channel from ") + Name(front_end));
    }
    if (active.load() >= max_sessions_) {
      log::Warning("key", std::string("too many ") + Name(front_end) + " sessions; refused one");
      continue;  // `channel` closes: the front end sees the session end
    }
    active.fetch_add(1);
    // std::function needs a copyable task: the channel travels in a shared_ptr.
    auto ch = std::make_shared<ipc::Channel>(std::move(*channel));
    session_threads_.Run([this, ch, front_end, &active]() {
      ServeSession(std::move(*ch), front_end);
      ERR_clear_error();  // the thread serves the next session: start it clean
      active.fetch_sub(1);
    });
  }
}

void KeyRoleServer::ServeSession(ipc::Channel channel, FrontEnd front_end) {
  SmtpSessionState smtp;
  Pop3SessionState pop3;
  const char* who = Name(front_end);
  for (;;) {
    auto msg = channel.Receive(kForever);
    if (!msg.ok()) {
      if (msg.error().code != ErrorCode::kUnavailable) {
        log::Warning("key", std::string("ending a ") + who + " session: " + msg.error().message);
      }
      return;
    }
    bool keep = false;
    switch (ipc::TypeOf(*msg)) {
      case ipc::MsgType::kTlsSignRequest:
      case ipc::MsgType::kTlsEcdsaSignRequest:
      case ipc::MsgType::kTlsIdentityRequest:
        keep = HandleCommon(channel, *msg, who);
        break;
      default:
        keep = front_end == FrontEnd::kSmtp ? HandleSmtp(channel, *msg, smtp)
                                            : HandlePop3(channel, *msg, pop3);
    }
    if (!keep) return;
  }
}

bool KeyRoleServer::HandleCommon(ipc::Channel& ch, const ipc::Message& msg, const char* who) {
  if (std::holds_alternative<ipc::TlsIdentityRequest>(msg)) {
    ipc::TlsIdentityReply r;
    if (session_tls_ != nullptr) {
      auto current = session_tls_->Current();
      if (!current.ok()) {
        r.status = ipc::StatusFromError(current.error().code);
        return Reply(ch, r);
      }
      r.certificate_pem.assign(current->chain_pem.begin(), current->chain_pem.end());
      r.public_key = std::move(current->public_key);
      r.generation = current->generation;
      return Reply(ch, r);
    }
    r.certificate_pem.assign(tls_.certificate_pem.begin(), tls_.certificate_pem.end());
    r.public_key = tls_.public_key;
    return Reply(ch, r);
  }
  ipc::TlsSignReply r;
  auto sig = SignTls(msg, who);
  if (sig.ok()) {
    r.signature = std::move(*sig);
  } else {
    r.status = ipc::StatusFromError(sig.error().code);
  }
  return Reply(ch, r);
}

Result<std::vector<uint8_t>> KeyRoleServer::SignTls(const ipc::Message& msg, const char* who) {
  const auto refuse = [who](const char* kind, const char* why) -> Result<std::vector<uint8_t>> {
    log::Warning("key", std::string("refused ") + kind + " signing request from " + who + why);
    return MakeError(ErrorCode::kPermissionDenied, "TLS signature refused");
  };
  // A device's refusal (a PCR policy that no longer holds, a TPM in
  // lockout) comes as kPermissionDenied, a fault to log like the others.
  const auto logged = [who](Result<std::vector<uint8_t>> sig) {
    LogFault(who, "TLS signature", sig);
    return sig;
  };
  if (const auto* ec = std::get_if<ipc::TlsEcdsaSignRequest>(&msg)) {
    if (tls_.kind != TlsKeyKind::kEcdsaP256) {
      return refuse("an ECDSA", ": the certificate is for the RSA server key");
    }
    if (session_tls_ != nullptr) {
      if (ec->generation == 0) {
        return refuse("a token", ": handshakes are signed with session keys");
      }
      return session_tls_->Sign(ec->generation, ec->digest);
    }
    if (ec->generation != 0) return refuse("a session key", ": there are no session keys");
    return logged(state_.TlsSign(ec->digest));
  }
  const auto& req = std::get<ipc::TlsSignRequest>(msg);
  if (tls_.kind != TlsKeyKind::kRsa) {
    return refuse("an RSA", ": the certificate is for the ECDSA TLS key");
  }
  if (!IsSignatureBlock(req.block, tls_.rsa_modulus_bits)) {
    return refuse("an RSA", " that is not a signature encoding");
  }
  return logged(state_.ServerPrivateRaw(req.block));
}

bool KeyRoleServer::HandleBlockList(ipc::Channel& ch, const ipc::BlockListRequest& m,
                                    SmtpSessionState& s) {
  ipc::BlockListReply reply;
  const auto op = static_cast<mail::BlockListOp>(m.op);
  const bool with_entry = op == mail::BlockListOp::kAdd || op == mail::BlockListOp::kDelete;
  if (!s.auth_user) {
    reply.status = ipc::Status::kPermissionDenied;  // no user logged in on this session
  } else if (with_entry == m.entry.empty() ||
             (with_entry && mail::CanonicalBlockEntry(m.entry) != m.entry)) {
    reply.status = ipc::Status::kInvalidArgument;
  } else {
    auto applied = state_.keys().ApplyBlockList(*s.auth_user, op, m.entry);
    if (LogFault("smtp", "a block list", applied).ok()) {
      reply.entries = std::move(*applied);
    } else {
      reply.status = ipc::StatusFromError(applied.error().code);
    }
  }
  return Reply(ch, reply);
}

bool KeyRoleServer::HandleTkimProven(ipc::Channel& ch, const ipc::TkimProvenRequest& m,
                                     SmtpSessionState& s) {
  s.tkim_domain.reset();
  ipc::StatusReply reply{ipc::Status::kUnauthenticated};
  const std::string domain = AsciiLower(m.sender_domain);
  auto checked = tkim_vouches_ == nullptr
                     ? Result<uint64_t>(MakeError(ErrorCode::kUnauthenticated, "no tkim vouches"))
                     : tkim_vouches_->Check(domain, m.vouch, NowSeconds());
  if (checked.ok()) {
    s.tkim_domain = domain;
    s.tkim_expiry = *checked;
    reply.status = ipc::Status::kOk;
  } else {
    log::Warning("key", "an smtp session showed a tkim vouch that does not hold: " +
                            checked.error().message);
  }
  return Reply(ch, reply);
}

bool KeyRoleServer::HandleList(ipc::Channel& ch, const ipc::ListRequest& m, SmtpSessionState& s) {
  ipc::ListReply reply;
  const auto op = static_cast<mail::ListOp>(m.op);
  const bool with_user = op == mail::ListOp::kAdd || op == mail::ListOp::kRemove;
  // A post or a leave by a member at another server, on a session without a
  // login: the front end names the member after its server proved itself by
  // TKIM, and the session showed the relay role's vouch for that server.
  const bool remote_actor =
      (op == mail::ListOp::kPost || op == mail::ListOp::kLeave) && !m.user.empty();
  if (!s.auth_user && !remote_actor) {
    reply.status = ipc::Status::kPermissionDenied;  // no user logged in on this session
  } else if (m.op > mail::kMaxListOp || !mail::ValidListName(m.name) ||
             (!with_user && !remote_actor && !m.user.empty()) ||
             (remote_actor &&
              (s.auth_user || !mail::IsRemoteMember(m.user) || !mail::ValidListMember(m.user)))) {
    reply.status = ipc::Status::kInvalidArgument;
  } else if (remote_actor && !VouchedFor(s, m.user)) {
    log::Warning("key",
                 "smtp named a remote list member whose server has not proved itself "
                 "on that session");
    reply.status = ipc::Status::kUnauthenticated;
  } else {
    auto applied = remote_actor ? state_.keys().ApplyList(m.user, op, m.name, "")
                                : state_.keys().ApplyList(*s.auth_user, op, m.name, m.user);
    // kPermissionDenied is the list's answer (not a member, not the owner),
    // never the key store's (keys::ListStoreFault): not a fault to log.
    if (!applied.ok() && applied.error().code != ErrorCode::kPermissionDenied) {
      LogFault("smtp", "a mailing list", applied);
    }
    if (!applied.ok()) {
      reply.status = ipc::StatusFromError(applied.error().code);
    } else if (applied->owner.empty() ? !applied->members.empty()
                                      : !mail::WellFormedListRecord(*applied)) {
      // Not sent: the codec would refuse it and end the session. Neither the
      // list's name nor its members are logged.
      log::Warning("key", "a mailing list for smtp came out of the key store malformed");
      reply.status = ipc::Status::kDataLoss;
    } else {
      reply.owner = std::move(applied->owner);
      reply.members = std::move(applied->members);
      reply.announce = applied->announce;
      reply.moderated = applied->moderated;
    }
  }
  return Reply(ch, reply);
}

bool KeyRoleServer::HandleRegister(ipc::Channel& ch, const ipc::RegisterRequest& m,
                                   Pop3SessionState& s) {
  ipc::RegisterReply reply;
  if (s.registered >= kMaxRegistrations || s.failed_registrations >= kMaxFailedRegistrations) {
    reply.status = ipc::Status::kPermissionDenied;  // past the session's limits: no work done
  } else {
    auto made = state_.keys().RegisterUser(m.voucher.RevealString(SecretAccess::Grant()), m.user);
    if (!made.ok()) {
      reply.status = ipc::StatusFromError(made.error().code);
    } else if (!OfVoucherAlphabet(made->smtp_password, ipc::kGeneratedPasswordBytes) ||
               !OfVoucherAlphabet(made->pop3_password, ipc::kGeneratedPasswordBytes)) {
      // Not sent: the codec would refuse it and end the session.
      log::Warning("key", "a registration for pop3 came out of the key store malformed");
      reply.status = ipc::Status::kInternal;
    } else {
      reply.smtp_password = std::move(made->smtp_password);
      reply.pop3_password = std::move(made->pop3_password);
    }
    ++(reply.status == ipc::Status::kOk ? s.registered : s.failed_registrations);
  }
  // The outcome only: never the voucher, the name or a password.
  log::Info("key", std::string("a pop3 registration: ") + Keyword(reply.status));
  return Reply(ch, ipc::Message(std::move(reply)));  // the channel wipes its frame
}

bool KeyRoleServer::HandleIssueVouchers(ipc::Channel& ch, const ipc::IssueVouchersRequest& m,
                                        SmtpSessionState& s) {
  ipc::IssueVouchersReply reply;
  const std::string& sysop = state_.config().bot_sysop;
  if (sysop.empty() || !s.auth_user || *s.auth_user != sysop) {
    log::Warning("key", "refused vouchers to an smtp session whose user is not the sysop");
    reply.status = ipc::Status::kPermissionDenied;
  } else if (s.vouchers_issued + m.count > ipc::kMaxIssuedVouchers) {
    log::Warning("key", "refused vouchers to the sysop past the limit of one session");
    reply.status = ipc::Status::kPermissionDenied;
  } else {
    auto made = state_.keys().AddVouchers(m.count);
    if (!LogFault("smtp", "new vouchers", made).ok()) {
      reply.status = ipc::StatusFromError(made.error().code);
    } else if (made->size() != m.count ||
               !std::all_of(made->begin(), made->end(), [](const SecretBytes& v) {
                 return OfVoucherAlphabet(v, ipc::kVoucherBytes);
               })) {
      log::Warning("key", "vouchers for smtp came out of the key store malformed");
      reply.status = ipc::Status::kInternal;
    } else {
      s.vouchers_issued += m.count;
      reply.vouchers = std::move(*made);
      // How many only: never a voucher.
      log::Info("key", std::to_string(m.count) + " voucher(s) made for the sysop through server@");
    }
  }
  return Reply(ch, ipc::Message(std::move(reply)));  // the channel wipes its frame
}

bool KeyRoleServer::HandleSmtp(ipc::Channel& ch, ipc::Message& msg, SmtpSessionState& s) {
  mail::DeliveryBackend& delivery = state_.delivery();
  if (auto* m = std::get_if<ipc::VerifySmtpPasswordRequest>(&msg)) {
    const auto verified = delivery.VerifySmtpPassword(m->user, m->password);
    s.auth_user.reset();
    if (verified.ok()) s.auth_user = m->user;
    return Reply(ch, ipc::VerifyResult{StatusOf(LogFault("smtp", "AUTH", verified))});
  }
  if (auto* m = std::get_if<ipc::TormRequest>(&msg)) {
    ipc::TormReply reply{mail::TormOutcome::kNotOffered, {}};
    if (torm_ != nullptr) {
      auto answer = torm_->Handle(m->verb, m->channel_binding, m->blob);
      reply.outcome = answer.ok() ? answer->outcome : mail::TormOutcome::kTemporary;
      if (answer.ok() && answer->outcome == mail::TormOutcome::kOk) {
        if (answer->reply.size() > mail::kMaxTormBlobBytes) {
          reply.outcome = mail::TormOutcome::kTemporary;
        } else {
          reply.blob = std::move(answer->reply);
        }
      }
    }
    return Reply(ch, reply);
  }
  if (std::holds_alternative<ipc::ServerKeyRequest>(msg)) {
    ipc::ServerKeyReply reply;
    if (server_key_.empty()) {
      reply.status = ipc::Status::kNotFound;
    } else {
      reply.spki_der = server_key_;
    }
    return Reply(ch, reply);
  }
  if (auto* m = std::get_if<ipc::CheckRecipientRequest>(&msg)) {
    if (!mail::ValidLocalPart(m->local_part)) return BadRequest("invalid local part");
    const auto checked = delivery.CheckRecipient(m->local_part, m->declared_size, m->sender);
    return Reply(ch, ipc::StatusReply{StatusOf(LogFault("smtp", "RCPT", checked))});
  }
  if (auto* m = std::get_if<ipc::TkimProvenRequest>(&msg)) return HandleTkimProven(ch, *m, s);
  if (auto* m = std::get_if<ipc::IssueVouchersRequest>(&msg)) {
    return HandleIssueVouchers(ch, *m, s);
  }
  if (auto* m = std::get_if<ipc::BlockListRequest>(&msg)) return HandleBlockList(ch, *m, s);
  if (auto* m = std::get_if<ipc::ListRequest>(&msg)) return HandleList(ch, *m, s);
  if (std::holds_alternative<ipc::VmatOwnRequest>(msg) ||
      std::holds_alternative<ipc::VmatLookupRequest>(msg) ||
      std::holds_alternative<ipc::VmatSenderRequest>(msg) ||
      std::holds_alternative<ipc::VmatServerRequest>(msg)) {
    return HandleVmat(ch, msg, s);
  }
  if (auto* m = std::get_if<ipc::BeginMessageRequest>(&msg)) {
    s.writer.reset();
    s.append_status = Ok();
    mail::Envelope env;
    env.reverse_path = m->reverse_path;
    for (const auto& lp : m->local_parts) {
      if (!mail::ValidLocalPart(lp)) return BadRequest("invalid local part");
    }
    env.local_parts = m->local_parts;
    auto w = delivery.BeginMessage(env);
    if (!LogFault("smtp", "a new message", w).ok()) {
      return Reply(ch, ipc::StatusReply{ipc::StatusFromError(w.error().code)});
    }
    s.writer = std::move(*w);
    s.bytes = 0;
    return Reply(ch, ipc::StatusReply{ipc::Status::kOk});
  }
  if (auto* m = std::get_if<ipc::AppendRequest>(&msg)) {
    if (!s.writer) {
      s.append_status = MakeError(ErrorCode::kFailedPrecondition, "no message begun");
    } else if (s.append_status.ok()) {
      // The front end enforces smtp.max_message_bytes; this bound (plus
      // room for the trace header it adds) holds even if it is subverted.
      s.bytes += m->data.size();
      if (s.bytes > state_.config().smtp_max_message_bytes + kTraceHeaderSlack) {
        s.append_status = MakeError(ErrorCode::kResourceExhausted, "message too large");
        log::Warning("key", "an smtp session sent more than the message size limit");
      } else {
        s.append_status = s.writer->Append(m->data);
      }
    }
    WipeMemory(m->data.data(), m->data.size());  // mail in clear: gone once encrypted
    return true;                                 // no reply: reported by the commit
  }
  if (std::holds_alternative<ipc::CommitRequest>(msg)) {
    Result<void> r = MakeError(ErrorCode::kFailedPrecondition, "no message begun");
    if (s.writer) {
      r = s.append_status.ok() ? LogFault("smtp", "the message's commit", s.writer->Commit())
                               : LogFault("smtp", "the message's data", s.append_status);
    }
    s.writer.reset();
    s.append_status = Ok();
    return Reply(ch, ipc::StatusReply{StatusOf(r)});
  }
  if (std::holds_alternative<ipc::AbortMessageRequest>(msg)) {
    s.writer.reset();
    s.append_status = Ok();
    return true;
  }
  log::Warning("key", "ending an smtp session: message not allowed for smtp");
  return false;
}

bool KeyRoleServer::HandlePop3(ipc::Channel& ch, ipc::Message& msg, Pop3SessionState& s) {
  if (auto* m = std::get_if<ipc::OpenMailboxRequest>(&msg)) {
    s.mailbox.reset();
    auto box = state_.mailboxes().Open(m->user, m->password);
    if (!LogFault("pop3", "login", box).ok()) {
      return Reply(ch, ipc::OpenMailboxReply{ipc::StatusFromError(box.error().code), 0});
    }
    s.mailbox = std::move(*box);
    const auto& list = s.mailbox->Messages();
    if (!Reply(ch, ipc::OpenMailboxReply{ipc::Status::kOk, static_cast<uint32_t>(list.size())})) {
      return false;
    }
    for (size_t i = 0; i < list.size(); i += ipc::kMaxListingEntries) {
      ipc::MailboxListing page;
      for (size_t j = i; j < list.size() && j < i + ipc::kMaxListingEntries; ++j) {
        page.entries.push_back({list[j].uid, list[j].size});
      }
      if (!Reply(ch, page)) return false;
    }
    return true;
  }
  if (auto* m = std::get_if<ipc::ReadMessageRequest>(&msg)) {
    Result<void> r = MakeError(ErrorCode::kFailedPrecondition, "no mailbox open");
    if (s.mailbox && m->index >= s.mailbox->Messages().size()) {
      r = MakeError(ErrorCode::kInvalidArgument, "no such message");
    } else if (s.mailbox) {
      ipc::MessageChunk chunk;
      bool front_end_gone = false;
      r = s.mailbox->Read(m->index, [&](std::span<const uint8_t> bytes) -> Result<void> {
        while (!bytes.empty()) {
          size_t n = std::min(bytes.size(), ipc::kMaxChunkBytes);
          chunk.data.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
          Result<void> sent = ch.Send(chunk);
          WipeMemory(chunk.data.data(), chunk.data.size());
          if (!sent.ok()) {
            front_end_gone = true;
            return sent;
          }
          bytes = bytes.subspan(n);
        }
        return Ok();
      });
      // A client that hung up mid-RETR (common over Tor) is no fault of the
      // store: end the session without a log line, as a failed Reply would.
      if (front_end_gone) return false;
    }
    return Reply(ch, ipc::StatusReply{StatusOf(LogFault("pop3", "RETR", r))});
  }
  if (auto* m = std::get_if<ipc::RegisterRequest>(&msg)) return HandleRegister(ch, *m, s);
  if (std::holds_alternative<ipc::CloseMailboxRequest>(msg)) {
    s.mailbox.reset();  // releases the mailbox lock
    return Reply(ch, ipc::StatusReply{ipc::Status::kOk});
  }
  if (auto* m = std::get_if<ipc::ExpungeRequest>(&msg)) {
    Result<void> r = MakeError(ErrorCode::kFailedPrecondition, "no mailbox open");
    if (s.mailbox) {
      std::vector<size_t> indices;
      r = Ok();
      for (uint32_t i : m->indices) {
        if (i >= s.mailbox->Messages().size()) {
          r = MakeError(ErrorCode::kInvalidArgument, "no such message");
          break;
        }
        indices.push_back(i);
      }
      if (r.ok()) r = s.mailbox->Expunge(indices);
    }
    return Reply(ch, ipc::StatusReply{StatusOf(LogFault("pop3", "the expunge", r))});
  }
  log::Warning("key", "ending a pop3 session: message not allowed for pop3");
  return false;
}

}  // namespace onionmail::server
