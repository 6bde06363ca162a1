// VMAT: the short addresses of an enter gateway (docs/gateways.md). A server
// with `[exit] domain` set answers for that Internet domain; each of its VMAT
// aliases names one mailbox on an onion server, and mail from the Internet
// to "<alias>@<exit domain>" is carried there over Tor while the sender's
// SMTP session waits (nothing is queued on the gateway).
//
// Contract:
//  - An alias is a valid local part (mail::ValidLocalPart: lower case
//    [a-z0-9._-], 1..64 bytes, no leading, trailing or double dot) that is not
//    mail::ReservedUserName() (postmaster, abuse, server, *.list...): those
//    names at the exit domain reach the gateway's own users of that name, as
//    RFC 2142 wants the operator to answer them.
//  - A target is "local@<v3 onion>" (mail::ValidListMember with an '@'), lower
//    case: the mailbox the alias delivers to.
//  - CanonicalVmatAlias() lower-cases `text` and, when it has an '@', takes
//    the part before it only if the rest is `exit_domain` (any case); nullopt
//    when the result is not a valid alias. CanonicalVmatTarget() lower-cases
//    and checks a target.
//  - EncodeVmatRecord()/DecodeVmatRecord(): the sealed file's plaintext,
//    u8 version (1) || u8 len || alias || u8 len || target. Decoding is strict
//    (another version, a bad alias or target, missing or trailing bytes:
//    nullopt).
//  - mail::VmatService::Lookup(): the target of an alias, for the SMTP
//    front end; kNotFound when there is none (or `alias` is not an alias).
//  - mail::VmatService::Own(): the own alias of the user logged in on the
//    session (server@ VMAT): the alias that is the user's name, leading to
//    <user>@<this server's onion>. kShow: ok when it exists, kNotFound
//    otherwise; kOn makes it (ok if it exists; kAlreadyExists when the name
//    is an alias of another mailbox; kInvalidArgument when the name cannot
//    be an alias, ValidVmatAlias); kOff removes it (kNotFound: none of
//    this user's). No login: kPermissionDenied; not a gateway:
//    kFailedPrecondition.
//  - mail::VmatService::SenderAddress(): "alias@<exit domain>", the sending
//    alias of `sender` ("local@<v3 onion>"; docs/gateways.md, "The exit
//    direction"), for mail to the Internet. Only for the session's logged-in
//    user or a sender at the session's TKIM-proven onion (else
//    kPermissionDenied); kNotFound when the sender has none; not a gateway:
//    kFailedPrecondition.
//  - mail::VmatService::ForServer(): the alias of `user` at the onion that
//    proved itself by TKIM on the session (SMTP VMAT, docs/PROTOCOL.md),
//    for a server in [exit] vmat_servers only (else, and without a proof,
//    kPermissionDenied); ok is "alias@<exit domain>". The target is
//    "<user>@<proven onion>" (kInvalidArgument when that is not a valid
//    target). kShow: the target's alias (its sending alias), kNotFound if
//    none. kOn `alias`: makes it the target's alias and sending alias (ok
//    if it already is); kInvalidArgument: not ValidVmatAlias; kAlreadyExists:
//    it leads to another mailbox; kFailedPrecondition: the target has
//    another alias (one per user); kResourceExhausted: the table is full.
//    kOff: removes the alias kShow names (kNotFound: none). Never touches an
//    alias of another mailbox. Not a gateway: kFailedPrecondition. The
//    default implementation refuses (kPermissionDenied).
//  - mail::GatewayVmatService::AskGateway(): on a server with [relay]
//    exit_gateway, the same three operations asked of that gateway for
//    `user` of this server (SMTP VMAT over Tor, after this server's TKIM
//    proof; docs/gateways.md); ok is the gateway's "alias@<exit domain>".
//    Errors: the gateway's refusal as ForServer() gives it (kNotFound,
//    kAlreadyExists, kFailedPrecondition, kInvalidArgument,
//    kResourceExhausted; kPermissionDenied: the gateway does not take this
//    server's users or offers no VMAT; kUnauthenticated: it refused this
//    server's TKIM proof), kUnavailable when it cannot be reached or
//    answered otherwise, kInternal when this server has no exit gateway.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace onionmail::mail {

inline constexpr size_t kMaxVmatTargetBytes = 64 + 1 + 62;  // local@<56 chars>.onion

struct VmatRecord {
  std::string alias;
  std::string target;
};

bool ValidVmatAlias(std::string_view alias);
bool ValidVmatTarget(std::string_view target);
std::optional<std::string> CanonicalVmatAlias(std::string_view text, std::string_view exit_domain);
std::optional<std::string> CanonicalVmatTarget(std::string_view text);

std::vector<uint8_t> EncodeVmatRecord(const VmatRecord& record);
std::optional<VmatRecord> DecodeVmatRecord(const std::vector<uint8_t>& bytes);

enum class VmatOwnOp : uint8_t { kShow = 0, kOn = 1, kOff = 2 };
inline constexpr uint8_t kMaxVmatOwnOp = 2;

class VmatService {
 public:
  virtual ~VmatService() = default;
  [[nodiscard]] virtual Result<std::string> Lookup(std::string_view alias) = 0;
  [[nodiscard]] virtual Result<void> Own(VmatOwnOp op) = 0;
  [[nodiscard]] virtual Result<std::string> SenderAddress(std::string_view sender) = 0;
  [[nodiscard]] virtual Result<std::string> ForServer(VmatOwnOp op, std::string_view user,
                                                      std::string_view alias) {
    (void)op, (void)user, (void)alias;
    return MakeError(ErrorCode::kPermissionDenied, "VMAT for other servers not served");
  }
};

class GatewayVmatService {
 public:
  virtual ~GatewayVmatService() = default;
  [[nodiscard]] virtual Result<std::string> AskGateway(VmatOwnOp op, std::string_view user,
                                                       std::string_view alias) = 0;
};

}  // namespace onionmail::mail
