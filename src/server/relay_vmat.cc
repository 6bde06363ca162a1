// The relay role asks the exit gateway for a VMAT alias; see relay_vmat.h.
#include "server/relay_vmat.h"

#include <memory>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "base/log.h"
#include "mail/vmat.h"
#include "peer/mail_client.h"

namespace onionmail::server {
namespace {

constexpr char kLog[] = "relay";

ipc::VmatLookupReply Answer(ErrorCode code, std::string_view outcome) {
  log::Info(kLog, "vmat asked of the exit gateway: " + std::string(outcome));
  return {ipc::StatusFromError(code), ""};
}

// The status of the gateway's refusal (docs/PROTOCOL.md, "VMAT").
ErrorCode RefusalCode(const peer::RemoteReply& r) {
  if (r.code == 550 && r.enhanced == "5.1.1") return ErrorCode::kNotFound;
  if (r.code == 553 && r.enhanced == "5.1.0") return ErrorCode::kAlreadyExists;
  if (r.code == 550 && r.enhanced == "5.7.0") return ErrorCode::kFailedPrecondition;
  if ((r.code == 553 && r.enhanced == "5.1.3") || r.code == 501) {
    return ErrorCode::kInvalidArgument;
  }
  if (r.code == 550 && r.enhanced == "5.7.1") return ErrorCode::kPermissionDenied;
  if (r.code == 530) return ErrorCode::kUnauthenticated;
  if (r.code == 452) return ErrorCode::kResourceExhausted;
  return ErrorCode::kUnavailable;
}

// "<valid alias>@<domain>", lower case, or nothing.
bool GoodAddress(const std::string& text) {
  const size_t at = text.find('@');
  if (at == std::string::npos || at + 1 == text.size() || AsciiLower(text) != text) return false;
  const std::string_view domain = std::string_view(text).substr(at + 1);
  return mail::ValidVmatAlias(std::string_view(text).substr(0, at)) &&
         domain.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") ==
             std::string_view::npos;
}

}  // namespace

ipc::VmatLookupReply AskGatewayVmat(const ipc::RelayVmatRequest& request,
                                    const RelayOptions& options) {
  if (options.exit_gateway.empty() || options.socks5_proxy.empty() || !options.tkim_proof) {
    return Answer(ErrorCode::kInternal, "no exit gateway");
  }
  std::string args;
  switch (static_cast<mail::VmatOwnOp>(request.op)) {
    case mail::VmatOwnOp::kShow:
      args = "SHOW " + request.user;
      break;
    case mail::VmatOwnOp::kOn:
      args = "ON " + request.user + " " + request.alias;
      break;
    case mail::VmatOwnOp::kOff:
      args = "OFF " + request.user;
      break;
  }
  if (args.empty() ||
      (request.op == static_cast<uint16_t>(mail::VmatOwnOp::kOn) && request.alias.empty())) {
    return Answer(ErrorCode::kInvalidArgument, "malformed request");
  }
  auto client =
      peer::MailClient::Open(options.exit_gateway + ":" + std::to_string(options.remote_port),
                             OnionClientOptions(options));
  if (!client.ok()) return Answer(ErrorCode::kUnavailable, "unreachable");
  std::unique_ptr<peer::MailClient> c = std::move(*client);
  auto done = [&c](ErrorCode code, std::string_view outcome) {
    c->Quit();
    return Answer(code, outcome);
  };
  if (!c->Offers("TKIM") || !c->Offers("VMAT")) {
    return done(ErrorCode::kPermissionDenied, "VMAT not offered");
  }
  auto cb = c->ChannelBinding();
  if (!cb.ok()) return done(ErrorCode::kUnavailable, "no channel binding");
  auto proof = options.tkim_proof(options.exit_gateway, *cb);
  if (!proof.ok()) return done(ErrorCode::kUnavailable, "no TKIM proof from the key role");
  auto proved = c->Tkim(*proof);
  if (!proved.ok()) return done(ErrorCode::kUnavailable, "TKIM failed");
  if (proved->code != 250) {
    return done(proved->code / 100 == 5 ? ErrorCode::kUnauthenticated : ErrorCode::kUnavailable,
                "TKIM proof refused " + std::to_string(proved->code));
  }
  auto reply = c->Vmat(args);
  if (!reply.ok()) {
    return done(reply.error().code == ErrorCode::kInvalidArgument ? ErrorCode::kInvalidArgument
                                                                  : ErrorCode::kUnavailable,
                "VMAT failed");
  }
  if (reply->code != 250) {
    return done(RefusalCode(*reply), "refused " + std::to_string(reply->code));
  }
  if (!GoodAddress(reply->text)) return done(ErrorCode::kUnavailable, "no address in the reply");
  c->Quit();
  log::Info(kLog, "vmat asked of the exit gateway: ok");
  return {ipc::Status::kOk, reply->text};
}

}  // namespace onionmail::server
