// Session, the RCPT half of a relayed transaction (session.h, "Relayed
// transaction"): who may relay, one remote transaction per remote server,
// each remote RCPT forwarded as it arrives. The DATA half is
// session_fanout.cc.
#include <algorithm>
#include <string>

#include "mail/exit_transaction.h"
#include "smtp/relay_outcome.h"
#include "smtp/session.h"

namespace onionmail::smtp {

namespace {

// A name under .onion that is no v3 onion (a v2 name, a typo): never the
// Internet.
bool EndsWithOnion(std::string_view domain) {
  return domain == "onion" || (domain.size() > 6 && domain.substr(domain.size() - 6) == ".onion");
}

}  // namespace

bool Session::MayRelayTo(std::string_view domain) const {
  return relay_ != nullptr && auth_user_.has_value() && local_sender_ &&
         mail::IsV3OnionDomain(domain);
}

size_t Session::RemoteRecipientCount() const {
  size_t count = 0;
  for (const RemoteServer& remote : remotes_) count += remote.recipients.size();
  return count;
}

Result<Session::Next> Session::RelayBroken(const Error& error) {
  ResetTransaction();  // the whole transaction: a remote one is gone
  Reply reply = RelayFailureReply(error.code, /*connecting=*/false);
  Log(true, "relay failed: " + FailureKeyword(reply));
  return Send(reply);
}

Result<Session::Next> Session::DoRemoteRcpt(const Address& recipient) {
  std::string domain = AsciiLower(recipient.domain);
  if (!mail::IsV3OnionDomain(domain) && !EndsWithOnion(domain)) {
    return DoInternetRcpt(recipient.local + "@" + domain);
  }
  if (!MayRelayTo(domain)) return Send(Reply::kRelayDenied);
  if (bot_request_ || list_name_) return Send(Reply::kOtherDestination);
  return RelayRcpt(RemoteRoute{domain, domain, std::nullopt}, recipient.local + "@" + domain,
                   *auth_user_ + "@" + config_.domain);
}

Result<Session::Next> Session::RelayRcpt(const RemoteRoute& route, std::string forward_path,
                                         const std::string& reverse_path) {
  const std::string& domain = route.key;
  auto remote = std::find_if(remotes_.begin(), remotes_.end(),
                             [&](const RemoteServer& r) { return r.domain == domain; });
  if (remote == remotes_.end() && remotes_.size() >= config_.max_remote_servers) {
    return Send(Reply::kTooManyServers);
  }
  if (remote != remotes_.end() && std::find(remote->recipients.begin(), remote->recipients.end(),
                                            forward_path) != remote->recipients.end()) {
    return Send(Reply::kRecipientOk);  // duplicate: the remote has it already
  }
  if (recipients_.size() + RemoteRecipientCount() >= config_.max_recipients) {
    return Send(Reply::kTooManyRecipients);
  }

  if (remote == remotes_.end()) {
    auto begun = relay_->Begin(route.begin_domain, reverse_path, {declared_size_, body_8bitmime_});
    if (!begun.ok()) {
      // No remote transaction: the next RCPT at this domain tries Begin() again.
      Reply reply = RelayFailureReply(begun.error().code, /*connecting=*/true);
      Log(true, "relay failed: " + FailureKeyword(reply));
      return Send(reply);
    }
    const mail::RelayReply& mail_reply = begun->mail_reply;
    if (IsSuccessCode(mail_reply.code) != (begun->transaction != nullptr)) {
      Log(true, "relay failed: connection failed");  // broken relay backend
      return Send(Reply::kRemoteFailed);
    }
    if (!IsSuccessCode(mail_reply.code)) {
      Log(false, OutcomeByClass(mail_reply.code) + " (MAIL)");
      return SendLine(FormatRemoteReply(RemoteStep::kMail, mail_reply));
    }
    std::unique_ptr<mail::RemoteTransaction> transaction = std::move(begun->transaction);
    if (route.exit) {  // to the Internet: the header passes the exit rule first
      transaction = std::make_unique<mail::ExitTransaction>(std::move(transaction), *route.exit);
    }
    remotes_.push_back(RemoteServer{domain, std::move(transaction), {}});
    remote = remotes_.end() - 1;
  }

  auto answer = remote->transaction->Rcpt(forward_path);
  if (!answer.ok()) return RelayBroken(answer.error());
  if (!IsUsableRemoteCode(RemoteStep::kRcpt, answer->code)) {
    return RelayBroken(MakeError(ErrorCode::kInternal, "odd reply"));  // 1xx, 3xx, not a code
  }
  if (IsSuccessCode(answer->code)) remote->recipients.push_back(std::move(forward_path));
  return SendLine(FormatRemoteReply(RemoteStep::kRcpt, *answer));
}

}  // namespace onionmail::smtp
