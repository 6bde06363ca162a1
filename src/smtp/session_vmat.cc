// Session, RCPT to an enter gateway's exit domain (session.h, "VMAT";
// docs/gateways.md): the VMAT alias names an onion mailbox, and the
// recipient is relayed there over Tor like any remote one, for any client:
// mail from the Internet needs no login. The RFC 2142 and other reserved
// names (postmaster, abuse, server, *.list) at the exit domain are this
// server's own, as at its onion domain.
//
// A client without a login reaches one server per transaction (this one, or
// one onion server): a remote that fails after others took the message
// could be reported to no one, so every outcome stays the answer to the
// final dot. Other recipients get kOtherDestination (RFC 5321 section 3.3:
// the client sends them in another transaction).
//
// The VMAT command (session.h, "VMAT command"): a server proven by TKIM, one
// of [exit] vmat_servers, makes, shows or removes the alias of one of its
// users here.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "mail/backend.h"
#include "mail/registration.h"
#include "mail/vmat.h"
#include "smtp/session.h"

namespace onionmail::smtp {
namespace {

struct VmatCommand {
  mail::VmatOwnOp op;
  std::string user;   // lower case
  std::string alias;  // lower case; empty but for ON
};

// `ON <user> <alias>`, `SHOW <user>`, `OFF <user>`: words split by one space.
std::optional<VmatCommand> ParseVmatCommand(std::string_view arg) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start <= arg.size()) {
    size_t space = arg.find(' ', start);
    if (space == std::string_view::npos) space = arg.size();
    if (space == start || space - start > 64 || words.size() == 3) return std::nullopt;
    words.push_back(AsciiLower(arg.substr(start, space - start)));
    start = space + 1;
  }
  if (words.size() < 2) return std::nullopt;
  if (words[0] == "on" && words.size() == 3) {
    return VmatCommand{mail::VmatOwnOp::kOn, words[1], words[2]};
  }
  if (words.size() != 2) return std::nullopt;
  if (words[0] == "show") return VmatCommand{mail::VmatOwnOp::kShow, words[1], ""};
  if (words[0] == "off") return VmatCommand{mail::VmatOwnOp::kOff, words[1], ""};
  return std::nullopt;
}

// The reply and log keyword of a ForServer() error.
std::pair<Reply, std::string_view> VmatRefusal(ErrorCode code) {
  switch (code) {
    case ErrorCode::kPermissionDenied:
      return {Reply::kVmatNotListed, "not listed"};
    case ErrorCode::kNotFound:
      return {Reply::kVmatNoAlias, "no alias"};
    case ErrorCode::kFailedPrecondition:
      return {Reply::kVmatHasAnother, "has another"};
    case ErrorCode::kAlreadyExists:
      return {Reply::kVmatTaken, "taken"};
    case ErrorCode::kInvalidArgument:
      return {Reply::kVmatBadName, "bad name"};
    case ErrorCode::kResourceExhausted:
      return {Reply::kInsufficientStorage, "full"};
    case ErrorCode::kSealed:
      return {Reply::kSealed, "sealed"};
    default:
      return {Reply::kLocalError, "local error"};
  }
}

}  // namespace

bool Session::VmatServed() const {
  return vmat_ != nullptr && tkim_ != nullptr && config_.vmat_for_servers &&
         !config_.exit_domain.empty() && !config_.internet_client;
}

Result<Session::Next> Session::DoVmatCommand(const Command& cmd) {
  if (!greeted_) return Send(Reply::kNeedHelo);
  if (in_transaction_) return Send(Reply::kVmatInTransaction);
  auto command = ParseVmatCommand(cmd.arg);
  if (!command) return Send(Reply::kVmatSyntax);
  if (!tkim_domain_) {
    Log(true, "VMAT: no TKIM proof");
    return Send(Reply::kVmatNeedsTkim);
  }
  auto address = vmat_->ForServer(command->op, command->user, command->alias);
  if (!address.ok()) {
    auto [reply, keyword] = VmatRefusal(address.error().code);
    Log(ReplyCode(reply) == 451, "VMAT: " + std::string(keyword));
    return Send(reply);
  }
  // The service promises "<alias>@<exit domain>"; nothing else is sent.
  const size_t at = address->find('@');
  if (at == std::string::npos || address->substr(at + 1) != config_.exit_domain ||
      !mail::ValidVmatAlias(std::string_view(*address).substr(0, at))) {
    Log(true, "VMAT: the key role gave a bad address");
    return Send(Reply::kLocalError);
  }
  Log(false, "VMAT: ok");
  return SendLine(FormatVmatAddress(*address));
}

Result<Session::Next> Session::DoVmatRcpt(const std::string& local) {
  if (mail::ValidLocalPart(local) && mail::ReservedUserName(local)) return DoLocalRcpt(local);
  if (!mail::ValidVmatAlias(local)) return UnknownRecipient();
  if (bot_request_ || list_name_) return Send(Reply::kOtherDestination);
  auto target = vmat_->Lookup(local);
  if (!target.ok()) {
    switch (target.error().code) {
      case ErrorCode::kNotFound:
        return UnknownRecipient();
      case ErrorCode::kSealed:
        return Send(Reply::kSealed);
      default:
        Log(true, "VMAT lookup failed: " + std::string(ErrorCodeName(target.error().code)));
        return Send(Reply::kLocalError);
    }
  }
  const size_t at = target->find('@');
  const std::string domain = target->substr(at + 1);
  if (domain == config_.domain) return DoLocalRcpt(target->substr(0, at));
  if (relay_ == nullptr) {
    Log(true, "VMAT alias not relayed: no relay role");
    return Send(Reply::kLocalError);
  }
  if (!auth_user_ &&
      (!recipients_.empty() || (!remotes_.empty() && remotes_[0].domain != domain))) {
    return Send(Reply::kOtherDestination);
  }
  return RelayRcpt(RemoteRoute{domain, domain, std::nullopt}, *target, reverse_path_);
}

}  // namespace onionmail::smtp
