// Session, RCPT to an Internet domain (session.h; docs/gateways.md, "The
// exit direction"). On a user's server with [relay] exit_gateway, a logged-in
// user's recipient is relayed to that gateway, in a transaction of its own.
// On a gateway with [exit] smarthost, a recipient from the Tor side is
// relayed to the smarthost when the sender is this session's (its login, or
// the onion it proved by TKIM) and has a sending alias here: MAIL FROM that
// alias, the header through the exit rule (mail/exit_transaction.h).
// Anything else is 550 5.7.1 Relaying denied.
#include <string>
#include <string_view>

#include "smtp/session.h"

namespace onionmail::smtp {

namespace {

// A domain name of the Internet: dot-separated labels of [a-z0-9-] (lower
// case), no label empty, starting or ending with '-', at least two labels.
// No address literal: the gateway hands mail on by name only.
bool InternetDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.find('.') == std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    const std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

Result<Session::Next> Session::DoInternetRcpt(std::string forward_path) {
  if (relay_ == nullptr || config_.internet_client) return Send(Reply::kRelayDenied);
  if (!InternetDomain(std::string_view(forward_path).substr(forward_path.rfind('@') + 1))) {
    return Send(Reply::kRelayDenied);
  }
  const bool own_user = auth_user_.has_value() && local_sender_;
  const size_t at = reverse_path_.rfind('@');
  const bool proven = at != std::string::npos && tkim_domain_.has_value() &&
                      AsciiLower(reverse_path_.substr(at + 1)) == *tkim_domain_;
  const bool to_gateway = !config_.exit_gateway.empty() && own_user;
  const bool to_smarthost =
      !to_gateway && config_.exit_to_internet && vmat_ != nullptr && (own_user || proven);
  if (!to_gateway && !to_smarthost) return Send(Reply::kRelayDenied);
  if (bot_request_ || list_name_) return Send(Reply::kOtherDestination);
  if (to_gateway) {
    // Its own key: the gateway's onion may also be a remote of this message.
    return RelayRcpt(RemoteRoute{"exit gateway", config_.exit_gateway, std::nullopt},
                     std::move(forward_path), *auth_user_ + "@" + config_.domain);
  }
  // Without a login, one destination per transaction (as for VMAT aliases).
  const std::string key(mail::kSmarthostDomain);
  if (!auth_user_ && (!recipients_.empty() || (!remotes_.empty() && remotes_[0].domain != key))) {
    return Send(Reply::kOtherDestination);
  }
  auto alias = vmat_->SenderAddress(reverse_path_);
  if (!alias.ok()) {
    switch (alias.error().code) {
      case ErrorCode::kNotFound:
        return Send(Reply::kNoExitAddress);
      case ErrorCode::kPermissionDenied:
        return Send(Reply::kRelayDenied);
      case ErrorCode::kSealed:
        return Send(Reply::kSealed);
      default:
        Log(true, "VMAT sender lookup failed: " + std::string(ErrorCodeName(alias.error().code)));
        return Send(Reply::kLocalError);
    }
  }
  mail::ExitSender exit{AsciiLower(reverse_path_), *alias, ReceivedHeader(/*on_exit_leg=*/true)};
  return RelayRcpt(RemoteRoute{key, key, std::move(exit)}, std::move(forward_path), *alias);
}

}  // namespace onionmail::smtp
