// TormCall (see torm_client.h).
#include "peer/torm_client.h"

#include "net/listener.h"
#include "peer/smtp_dialog.h"
#include "smtp/base64.h"

namespace onionmail::peer {

namespace {

// The final reply to TORM.
Result<TormResponse> ParseTormReply(const SmtpReply& reply) {
  constexpr std::string_view kStep = "TORM reply";
  if (reply.lines.size() != 1) return Malformed(kStep, "multi-line reply");
  std::string_view text = reply.lines[0];
  if (reply.code == 250) {
    constexpr std::string_view kOkPrefix = "2.0.0";
    if (text.substr(0, kOkPrefix.size()) != kOkPrefix ||
        (text.size() > kOkPrefix.size() && text[kOkPrefix.size()] != ' ')) {
      return Malformed(kStep, "malformed success reply");
    }
    std::string_view payload =
        text.size() > kOkPrefix.size() ? text.substr(kOkPrefix.size() + 1) : std::string_view();
    auto decoded = smtp::DecodeBase64(payload);
    if (!decoded.ok()) return Malformed(kStep, "invalid base64");
    if (decoded->size() > mail::kMaxTormBlobBytes) return Malformed(kStep, "reply too large");
    auto bytes = decoded->Reveal(SecretAccess::Grant());
    return TormResponse{mail::TormOutcome::kOk, {bytes.begin(), bytes.end()}};
  }
  constexpr std::string_view kRefused = "TORM refused: ";
  size_t space = text.find(' ');
  if (reply.code >= 400 && space != std::string_view::npos &&
      text.substr(space + 1, kRefused.size()) == kRefused) {
    std::string_view keyword = text.substr(space + 1 + kRefused.size());
    for (uint8_t v = 1; v <= mail::kMaxTormOutcome; ++v) {
      auto outcome = static_cast<mail::TormOutcome>(v);
      if (keyword == mail::TormOutcomeKeyword(outcome)) return TormResponse{outcome, {}};
    }
    return TormResponse{mail::TormOutcome::kTemporary, {}};
  }
  return Unexpected(kStep, reply.code);
}

}  // namespace

std::string_view TormVerbWireName(mail::TormVerb verb) {
  switch (verb) {
    case mail::TormVerb::kPush:
      return "PUSH";
    case mail::TormVerb::kDerk:
      return "DERK";
    case mail::TormVerb::kStat:
      return "STAT";
    case mail::TormVerb::kKctl:
      return "KCTL";
  }
  return "";
}

Result<TormResponse> TormCall(const PeerEndpoint& peer, mail::TormVerb verb,
                              const RequestBuilder& build_request, const ClientOptions& options) {
  std::string_view verb_name = TormVerbWireName(verb);
  if (verb_name.empty()) return MakeError(ErrorCode::kInvalidArgument, "unknown TORM verb");
  if (!build_request) return MakeError(ErrorCode::kInvalidArgument, "no request builder");
  if (options.timeout.count() <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "timeout must be positive");
  }
  if (!ValidHeloName(options.helo_name)) {
    return MakeError(ErrorCode::kInvalidArgument, "bad EHLO name");
  }
  auto target = net::ParseHostPort(peer.address);
  if (!target.ok() || target->host.empty() || target->port == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "bad peer address (want host:port)");
  }
  const Deadline deadline = Clock::now() + options.timeout;

  auto opened =
      OpenStartTls(*target, options.socks5_proxy, options.helo_name, peer.tls_pin, deadline);
  if (!opened.ok()) return opened.error();
  TlsClient& conn = *opened->conn;
  const SmtpReply& hello_tls = opened->ehlo;
  if (!Offers(hello_tls, "TORM")) {
    Quit(conn, deadline);
    return MakeError(ErrorCode::kFailedPrecondition, "EHLO in TLS: peer does not offer TORM");
  }

  auto binding = conn.ExporterBinding();
  if (!binding.ok()) return AnnotateError("channel binding", binding.error());
  auto request = build_request(*binding);
  if (!request.ok()) {
    Quit(conn, deadline);
    return AnnotateError("building the TORM request", request.error());
  }
  if (request->empty() || request->size() > mail::kMaxTormBlobBytes) {
    Quit(conn, deadline);
    return MakeError(
        ErrorCode::kInvalidArgument,
        "TORM request must be 1.." + std::to_string(mail::kMaxTormBlobBytes) + " bytes");
  }

  const std::string command = "TORM " + std::string(verb_name) + " " + smtp::EncodeBase64(*request);
  auto answer = Command(conn, command, "TORM reply");
  if (!answer.ok()) return answer.error();
  auto response = ParseTormReply(*answer);
  Quit(conn, deadline);
  return response;
}

}  // namespace onionmail::peer
