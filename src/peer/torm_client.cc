// TormCall (see torm_client.h).
#include "peer/torm_client.h"

#include <algorithm>
#include <cctype>

#include "net/listener.h"
#include "peer/socks5.h"
#include "smtp/base64.h"

namespace onionmail::peer {

namespace {

struct SmtpReply {
  int code = 0;
  std::vector<std::string> lines;  // text after "ddd-" / "ddd "
};

Error Malformed(std::string_view step, std::string_view what) {
  return MakeError(ErrorCode::kUnavailable, std::string(step) + ": " + std::string(what));
}

Error Unexpected(std::string_view step, int code) {
  return MakeError(ErrorCode::kUnavailable,
                   std::string(step) + ": unexpected reply " + std::to_string(code));
}

// One SMTP reply (RFC 5321 section 4.2): lines "ddd-text" then "ddd text"
// (or a bare "ddd"), all with the same code.
Result<SmtpReply> ReadReply(TlsClient& conn, std::string_view step) {
  SmtpReply reply;
  for (;;) {
    auto line = conn.ReadLine(kMaxPeerLineBytes);
    if (!line.ok()) return AnnotateError(step, line.error());
    const std::string& l = *line;
    if (l.size() < 3 || !std::isdigit(static_cast<unsigned char>(l[0])) ||
        !std::isdigit(static_cast<unsigned char>(l[1])) ||
        !std::isdigit(static_cast<unsigned char>(l[2])) || l[0] < '2' || l[0] > '5' ||
        (l.size() > 3 && l[3] != '-' && l[3] != ' ')) {
      return Malformed(step, "malformed reply line");
    }
    int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    if (reply.code != 0 && code != reply.code) return Malformed(step, "reply code changed");
    reply.code = code;
    reply.lines.push_back(l.size() > 4 ? l.substr(4) : std::string());
    if (l.size() == 3 || l[3] == ' ') return reply;
    if (reply.lines.size() >= kMaxReplyLines) return Malformed(step, "reply has too many lines");
  }
}

Result<SmtpReply> Command(TlsClient& conn, std::string_view line, std::string_view step) {
  if (auto w = conn.Write(std::string(line) + "\r\n"); !w.ok()) {
    return AnnotateError(step, w.error());
  }
  return ReadReply(conn, step);
}

// The EHLO keywords (first word of each line after the first), upper case.
bool Offers(const SmtpReply& ehlo, std::string_view keyword) {
  for (size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::string_view line = ehlo.lines[i];
    std::string_view word = line.substr(0, line.find(' '));
    if (word.size() == keyword.size() &&
        std::equal(word.begin(), word.end(), keyword.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        })) {
      return true;
    }
  }
  return false;
}

// Best effort: QUIT and wait briefly for the 221; errors are ignored.
void Quit(TlsClient& conn, Deadline deadline) {
  conn.set_deadline(std::min(deadline, Clock::now() + kQuitGrace));
  (void)Command(conn, "QUIT", "QUIT");
}

bool ValidHeloName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

Result<UniqueFd> Connect(const net::HostPort& target, const ClientOptions& options,
                         Deadline deadline) {
  if (options.socks5_proxy.empty()) {
    if (!IsNumericHost(target.host)) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "connect: a peer host name needs a SOCKS5 proxy (no DNS lookups)");
    }
    auto fd = ConnectNumeric(target, deadline);
    if (!fd.ok()) return AnnotateError("connect", fd.error());
    return fd;
  }
  auto proxy = net::ParseHostPort(options.socks5_proxy);
  if (!proxy.ok() || !IsNumericHost(proxy->host) || proxy->port == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "SOCKS5 proxy address must be a numeric IP and port");
  }
  auto fd = ConnectNumeric(*proxy, deadline);
  if (!fd.ok()) return AnnotateError("connect to SOCKS5 proxy", fd.error());
  ONIONMAIL_RETURN_IF_ERROR(Socks5Connect(fd->get(), target.host, target.port, deadline));
  return fd;
}

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

  auto fd = Connect(*target, options, deadline);
  if (!fd.ok()) return fd.error();
  TlsClient conn(std::move(*fd), deadline);

  auto greeting = ReadReply(conn, "greeting");
  if (!greeting.ok()) return greeting.error();
  if (greeting->code != 220) return Unexpected("greeting", greeting->code);

  const std::string ehlo = "EHLO " + options.helo_name;
  auto hello = Command(conn, ehlo, "EHLO");
  if (!hello.ok()) return hello.error();
  if (hello->code != 250) return Unexpected("EHLO", hello->code);
  if (!Offers(*hello, "STARTTLS")) {
    Quit(conn, deadline);
    return MakeError(ErrorCode::kFailedPrecondition, "EHLO: peer does not offer STARTTLS");
  }
  auto ready = Command(conn, "STARTTLS", "STARTTLS");
  if (!ready.ok()) return ready.error();
  if (ready->code != 220) return Unexpected("STARTTLS", ready->code);
  if (auto tls = conn.StartTls(peer.tls_pin); !tls.ok()) {
    return AnnotateError("TLS handshake", tls.error());
  }

  auto hello_tls = Command(conn, ehlo, "EHLO in TLS");
  if (!hello_tls.ok()) return hello_tls.error();
  if (hello_tls->code != 250) return Unexpected("EHLO in TLS", hello_tls->code);
  if (!Offers(*hello_tls, "TORM")) {
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
