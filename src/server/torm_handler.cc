#include "server/torm_handler.h"

#include <string>

#include "base/log.h"
#include "unseal/kctl.h"
#include "unseal/torm_wire.h"

namespace onionmail::server {
namespace {

using mail::TormAnswer;
using mail::TormOutcome;

constexpr char kComponent[] = "torm";

TormAnswer Refuse(TormOutcome outcome) { return TormAnswer{outcome, {}}; }

TormAnswer Answer(std::vector<uint8_t> reply) {
  return TormAnswer{TormOutcome::kOk, std::move(reply)};
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

mail::TormOutcome OutcomeOfPartnerError(const Error& error) {
  switch (error.code) {
    case ErrorCode::kNotFound:
      return TormOutcome::kUnknownPartner;
    case ErrorCode::kAlreadyExists:
      return TormOutcome::kAlreadyEnrolled;
    case ErrorCode::kUnauthenticated:
      return TormOutcome::kBadSignature;
    case ErrorCode::kInvalidArgument:
      return TormOutcome::kBadRequest;
    case ErrorCode::kResourceExhausted:
      // Enrol: table full; Answer: rate limit. The caller decides.
      return TormOutcome::kRateLimited;
    case ErrorCode::kPermissionDenied:
      // The partner store's fixed refusal texts (unseal/partner_store.cc).
      if (StartsWith(error.message, "partner disabled")) return TormOutcome::kDisabled;
      if (StartsWith(error.message, "partner has no credits")) return TormOutcome::kNoCredits;
      return TormOutcome::kDestroyed;
    default:
      return TormOutcome::kTemporary;
  }
}

std::vector<uint8_t> EncodeKctlReply(const unseal::PartnerControlOutcome& outcome) {
  return unseal::EncodeKctlReply(
      unseal::KctlReply{outcome.advanced, outcome.disabled, outcome.destroyed, outcome.credits_left,
                        outcome.answered_total, outcome.last_answer_unix});
}

Result<TormAnswer> TormHandler::Handle(mail::TormVerb verb, const mail::ChannelBinding& binding,
                                       std::span<const uint8_t> request) {
  auto answer =
      verb == mail::TormVerb::kKctl ? HandleKctl(request) : HandleSigned(verb, binding, request);
  if (answer.ok()) {
    const char* name = verb == mail::TormVerb::kPush   ? "PUSH"
                       : verb == mail::TormVerb::kDerk ? "DERK"
                       : verb == mail::TormVerb::kStat ? "STAT"
                                                       : "KCTL";
    std::string line =
        std::string(name) + ": " + std::string(mail::TormOutcomeKeyword(answer->outcome));
    if (answer->outcome == TormOutcome::kOk) {
      log::Info(kComponent, line);
    } else {
      log::Warning(kComponent, line);
    }
  }
  return answer;
}

Result<TormAnswer> TormHandler::HandleSigned(mail::TormVerb verb,
                                             const mail::ChannelBinding& binding,
                                             std::span<const uint8_t> request) {
  auto signed_request = unseal::ParseSignedRequest(request);
  if (!signed_request.ok()) return Refuse(TormOutcome::kBadRequest);
  if (static_cast<uint8_t>(signed_request->verb) != static_cast<uint8_t>(verb)) {
    return Refuse(TormOutcome::kBadRequest);
  }
  auto partner = unseal::VerifyRequest(*signed_request, binding);
  if (!partner.ok()) return Refuse(TormOutcome::kBadSignature);
  const auto& spki = signed_request->spki_der;
  switch (signed_request->verb) {
    case unseal::Verb::kPush: {
      auto body = unseal::ParsePushBody(signed_request->body);
      if (!body.ok()) return Refuse(TormOutcome::kBadRequest);
      auto reply = partners_.Enrol(*partner, spki, *body);
      if (!reply.ok()) {
        TormOutcome o = OutcomeOfPartnerError(reply.error());
        return Refuse(o == TormOutcome::kRateLimited ? TormOutcome::kTooManyPartners : o);
      }
      auto encoded = unseal::EncodePushReply(*reply);
      if (!encoded.ok()) return encoded.error();
      return Answer(std::move(*encoded));
    }
    case unseal::Verb::kDerk: {
      auto body = unseal::ParseDerkBody(signed_request->body);
      if (!body.ok()) return Refuse(TormOutcome::kBadRequest);
      auto reply = partners_.Answer(*partner, spki, body->X);
      if (!reply.ok()) return Refuse(OutcomeOfPartnerError(reply.error()));
      auto encoded = unseal::EncodeDerkReply(*reply);
      if (!encoded.ok()) return encoded.error();
      return Answer(std::move(*encoded));
    }
    case unseal::Verb::kStat: {
      if (!unseal::ParseStatBody(signed_request->body).ok()) {
        return Refuse(TormOutcome::kBadRequest);
      }
      auto reply = partners_.Stat(*partner, spki);
      if (!reply.ok()) return Refuse(OutcomeOfPartnerError(reply.error()));
      return Answer(unseal::EncodeStatReply(*reply));
    }
    case unseal::Verb::kTkim:  // a relaying server's proof is never a TORM request
      return Refuse(TormOutcome::kBadRequest);
  }
  return Refuse(TormOutcome::kBadRequest);
}

Result<TormAnswer> TormHandler::HandleKctl(std::span<const uint8_t> request) {
  auto cert = unseal::ParseKctl(request);
  if (!cert.ok()) return Refuse(TormOutcome::kBadRequest);
  auto applied = partners_.ApplyKctl(*cert);
  if (!applied.ok()) {
    switch (applied.error().code) {
      case ErrorCode::kAlreadyExists:
        return Refuse(TormOutcome::kReplayed);
      case ErrorCode::kFailedPrecondition:
      case ErrorCode::kDeadlineExceeded:
        return Refuse(TormOutcome::kExpired);
      default:
        return Refuse(OutcomeOfPartnerError(applied.error()));
    }
  }
  // A query changes nothing: never forwarded (the store returns no forwards for
  // one either; this keeps it so whatever the store does).
  if (cert->action != unseal::KctlAction::kQuery && applied->advanced &&
      !applied->forwards.empty() && forward_) {
    forward_(std::vector<uint8_t>(request.begin(), request.end()), applied->forwards);
  }
  return Answer(EncodeKctlReply(*applied));
}

}  // namespace onionmail::server
