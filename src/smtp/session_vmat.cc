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
#include <string>

#include "mail/backend.h"
#include "mail/registration.h"
#include "mail/vmat.h"
#include "smtp/session.h"

namespace onionmail::smtp {

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
