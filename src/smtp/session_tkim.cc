// Session, the TKIM half (session.h, "TKIM"; docs/PROTOCOL.md, "TKIM: which
// onion server relays a message"): `TKIM KEY`, `TKIM <base64 proof>`, and the
// rule that a proven server sends mail only as its own onion.
#include <optional>
#include <string>
#include <string_view>

#include "base/secret_bytes.h"
#include "smtp/base64.h"
#include "smtp/session.h"

namespace onionmail::smtp {
namespace {

// The client's reply and log keyword for a failed Check().
struct CheckFailure {
  Reply reply;
  std::string_view keyword;
  bool counts;  // a client fault: counts towards max_auth_failures
};

CheckFailure CheckFailureFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return {Reply::kTkimMalformed, "malformed", true};
    case ErrorCode::kUnauthenticated:
      return {Reply::kTkimRefused, "refused", true};
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
      return {Reply::kTkimSenderUnreachable, "sender unreachable", false};
    case ErrorCode::kResourceExhausted:
      return {Reply::kTkimBusy, "busy", false};
    default:
      return {Reply::kLocalError, "local error", false};
  }
}

}  // namespace

bool Session::TkimOffered() const {
  return tkim_ != nullptr && conn_.IsTls() && conn_.TlsExporterBinding().ok();
}

Result<Session::Next> Session::TkimReply(Reply reply, std::string_view keyword) {
  Log(ReplyCode(reply) >= 400, "TKIM: " + std::string(keyword));
  return Send(reply);
}

std::optional<Reply> Session::TkimRefusal(const std::optional<Address>& sender) const {
  if (!sender) return std::nullopt;
  std::string domain = AsciiLower(sender->domain);
  if (!mail::IsV3OnionDomain(domain) || AsciiEqualsIgnoreCase(domain, config_.domain)) {
    return std::nullopt;
  }
  if (tkim_domain_) {
    if (domain == *tkim_domain_) return std::nullopt;
    return Reply::kTkimOtherOnion;
  }
  if (!config_.require_tkim) return std::nullopt;
  return tkim_unchecked_ ? Reply::kTkimRequiredLater : Reply::kTkimRequired;
}

Result<Session::Next> Session::DoTkim(const Command& cmd) {
  if (!greeted_) return TkimReply(Reply::kNeedHelo, "no EHLO");
  if (in_transaction_) return TkimReply(Reply::kTkimInTransaction, "in transaction");
  auto binding = conn_.TlsExporterBinding();
  if (!binding.ok()) return TkimReply(Reply::kTkimNotOffered, "not offered");

  if (cmd.arg.size() == 3 && AsciiEqualsIgnoreCase(cmd.arg, "KEY")) {
    auto key = tkim_->ServerKey();
    if (!key.ok() || key->empty()) return TkimReply(Reply::kLocalError, "key: local error");
    Log(false, "TKIM: key sent");
    return SendLine(FormatTkimKeyReply(EncodeBase64(*key)));
  }

  if (tkim_domain_) return TkimReply(Reply::kTkimAlreadyProven, "already proven");
  auto proof = DecodeBase64(cmd.arg);
  if (!proof.ok() || proof->empty() || proof->size() > mail::kMaxTormBlobBytes) {
    return AuthFailed(Reply::kTkimMalformed, "TKIM: malformed");
  }
  auto domain = tkim_->Check(*binding, proof->Reveal(SecretAccess::Grant()));
  if (!domain.ok()) {
    CheckFailure failure = CheckFailureFor(domain.error().code);
    if (failure.counts) return AuthFailed(failure.reply, "TKIM: " + std::string(failure.keyword));
    tkim_unchecked_ = true;  // with require_tkim, MAIL then gets a temporary refusal
    return TkimReply(failure.reply, failure.keyword);
  }
  // The service promises a lower-case v3 onion; anything else never reaches
  // the reply or the Received header.
  if (!mail::IsV3OnionDomain(*domain) || AsciiLower(*domain) != *domain ||
      AsciiEqualsIgnoreCase(*domain, config_.domain)) {
    tkim_unchecked_ = true;
    return TkimReply(Reply::kLocalError, "local error");
  }
  tkim_domain_ = std::move(*domain);
  Log(false, "TKIM: authenticated");
  return SendLine(FormatTkimAuthenticated(*tkim_domain_));
}

}  // namespace onionmail::smtp
