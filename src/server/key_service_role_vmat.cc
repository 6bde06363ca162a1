// KeyRoleServer: the VMAT requests of an SMTP session (contract in
// key_service_role.h; aliases in mail/vmat.h, docs/gateways.md).
#include <algorithm>
#include <string>
#include <variant>

#include "mail/vmat.h"
#include "server/key_role_internal.h"
#include "server/key_service_role.h"

namespace onionmail::server {

using key_role::LogFault;
using key_role::Reply;
using key_role::StatusOf;
using key_role::VouchedFor;

Result<void> KeyRoleServer::VmatOwn(mail::VmatOwnOp op, const SmtpSessionState& s) {
  using Op = mail::VmatOwnOp;
  if (state_.config().exit_domain.empty()) return MakeError(ErrorCode::kFailedPrecondition, "");
  if (!s.auth_user) return MakeError(ErrorCode::kPermissionDenied, "no login");
  const std::string& user = *s.auth_user;
  const std::string own = user + "@" + state_.config().domain;
  if (!mail::ValidVmatAlias(user)) return MakeError(ErrorCode::kInvalidArgument, "reserved");
  if (!mail::ValidVmatTarget(own)) return MakeError(ErrorCode::kFailedPrecondition, "no v3");
  auto current = state_.keys().LookupVmat(user);
  if (!LogFault("smtp", "a VMAT alias", current).ok()) return current.error();
  const bool mine = current->has_value() && **current == own;
  if (op == Op::kShow || (op == Op::kOff && !mine)) {
    return mine ? Ok() : MakeError(ErrorCode::kNotFound, "no own alias");
  }
  if (op == Op::kOff) {
    auto removed = state_.keys().RemoveVmat(user);
    if (LogFault("smtp", "a VMAT alias", removed).ok()) {
      log::Info("key", "a user removed their VMAT alias through server@");
    }
    return removed;
  }
  if (current->has_value() && !mine) return MakeError(ErrorCode::kAlreadyExists, "");
  if (!mine) {
    auto added = state_.keys().AddVmat(user, own);
    if (!LogFault("smtp", "a VMAT alias", added).ok()) return added;
    log::Info("key", "a user made their VMAT alias through server@");
  }
  // Their own alias is the one their mail to the Internet leaves under.
  auto sends = state_.keys().MakeSenderVmat(user);
  return LogFault("smtp", "a VMAT sender", sends);
}

Result<std::string> KeyRoleServer::VmatSender(std::string_view sender, const SmtpSessionState& s) {
  const std::string& exit_domain = state_.config().exit_domain;
  if (exit_domain.empty()) return MakeError(ErrorCode::kFailedPrecondition, "not a gateway");
  const std::string target = AsciiLower(sender);
  if (!mail::ValidVmatTarget(target)) return MakeError(ErrorCode::kNotFound, "no such sender");
  const bool own_user = s.auth_user && target == *s.auth_user + "@" + state_.config().domain;
  if (!own_user && !VouchedFor(s, target)) {
    log::Warning("key", "refused a VMAT sender to an smtp session that may not send as it");
    return MakeError(ErrorCode::kPermissionDenied, "not this session's sender");
  }
  auto alias = state_.keys().SenderVmat(target);
  if (!LogFault("smtp", "a VMAT sender", alias).ok()) return alias.error();
  if (!alias->has_value() || !mail::ValidVmatAlias(**alias)) {
    return MakeError(ErrorCode::kNotFound, "no sending alias");
  }
  return **alias + "@" + exit_domain;
}

Result<std::string> KeyRoleServer::VmatForServer(mail::VmatOwnOp op, std::string_view user,
                                                 std::string_view alias,
                                                 const SmtpSessionState& s) {
  using Op = mail::VmatOwnOp;
  const config::Config& config = state_.config();
  if (config.exit_domain.empty()) return MakeError(ErrorCode::kFailedPrecondition, "no gateway");
  const auto& listed = config.exit_vmat_servers;
  if (!s.tkim_domain || std::find(listed.begin(), listed.end(), *s.tkim_domain) == listed.end()) {
    log::Warning("key", "refused VMAT to an smtp session of a server not in exit.vmat_servers");
    return MakeError(ErrorCode::kPermissionDenied, "not a listed server");
  }
  const std::string target = AsciiLower(user) + "@" + *s.tkim_domain;
  if (!VouchedFor(s, target)) return MakeError(ErrorCode::kPermissionDenied, "vouch expired");
  if (!mail::ValidVmatTarget(target)) return MakeError(ErrorCode::kInvalidArgument, "bad user");
  auto current = state_.keys().SenderVmat(target);
  if (!LogFault("smtp", "a VMAT alias", current).ok()) return current.error();
  const std::string& exit_domain = config.exit_domain;
  if (op == Op::kShow || op == Op::kOff) {
    if (!current->has_value()) return MakeError(ErrorCode::kNotFound, "no alias");
    const std::string address = **current + "@" + exit_domain;
    if (op == Op::kShow) return address;
    auto removed = state_.keys().RemoveVmat(**current);
    if (!LogFault("smtp", "a VMAT alias", removed).ok()) return removed.error();
    log::Info("key", "a listed server removed the VMAT alias of one of its users");
    return address;
  }
  const std::string name = AsciiLower(alias);
  if (!mail::ValidVmatAlias(name)) return MakeError(ErrorCode::kInvalidArgument, "bad alias");
  if (current->has_value() && **current != name) {
    return MakeError(ErrorCode::kFailedPrecondition, "the user has another alias");
  }
  auto taken = state_.keys().LookupVmat(name);
  if (!LogFault("smtp", "a VMAT alias", taken).ok()) return taken.error();
  if (taken->has_value() && **taken != target) return MakeError(ErrorCode::kAlreadyExists, "");
  if (!taken->has_value()) {
    auto added = state_.keys().AddVmat(name, target);
    if (!LogFault("smtp", "a VMAT alias", added).ok()) return added.error();
    log::Info("key", "a listed server made a VMAT alias for one of its users");
  }
  auto sends = state_.keys().MakeSenderVmat(name);
  if (!LogFault("smtp", "a VMAT sender", sends).ok()) return sends.error();
  return name + "@" + exit_domain;
}

bool KeyRoleServer::HandleVmat(ipc::Channel& ch, const ipc::Message& msg, SmtpSessionState& s) {
  if (auto* m = std::get_if<ipc::VmatOwnRequest>(&msg)) {
    return Reply(ch, ipc::StatusReply{StatusOf(VmatOwn(static_cast<mail::VmatOwnOp>(m->op), s))});
  }
  ipc::VmatLookupReply reply;
  auto answer = [&](Result<std::string> address) {
    if (address.ok()) {
      reply.target = std::move(*address);
    } else {
      reply.status = ipc::StatusFromError(address.error().code);
    }
    return Reply(ch, reply);
  };
  if (auto* m = std::get_if<ipc::VmatSenderRequest>(&msg)) return answer(VmatSender(m->sender, s));
  if (auto* m = std::get_if<ipc::VmatServerRequest>(&msg)) {
    return answer(VmatForServer(static_cast<mail::VmatOwnOp>(m->op), m->user, m->alias, s));
  }
  const auto& lookup = std::get<ipc::VmatLookupRequest>(msg);
  auto target = mail::ValidVmatAlias(lookup.alias)
                    ? state_.keys().LookupVmat(lookup.alias)
                    : Result<std::optional<std::string>>(std::optional<std::string>());
  if (!LogFault("smtp", "a VMAT lookup", target).ok()) {
    reply.status = ipc::StatusFromError(target.error().code);
  } else if (!target->has_value() || !mail::ValidVmatTarget(**target)) {
    reply.status = ipc::Status::kNotFound;
  } else {
    reply.target = std::move(**target);
  }
  return Reply(ch, reply);
}

}  // namespace onionmail::server
