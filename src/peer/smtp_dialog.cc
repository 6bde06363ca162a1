// The shared SMTP client dialogue (see smtp_dialog.h).
#include "peer/smtp_dialog.h"

#include <cctype>

#include "peer/socks5.h"

namespace onionmail::peer {

Error Malformed(std::string_view step, std::string_view what) {
  return MakeError(ErrorCode::kUnavailable, std::string(step) + ": " + std::string(what));
}

Error Unexpected(std::string_view step, int code) {
  return MakeError(ErrorCode::kUnavailable,
                   std::string(step) + ": unexpected reply " + std::to_string(code));
}

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

Result<UniqueFd> Connect(const net::HostPort& target, std::string_view socks5_proxy,
                         Deadline deadline) {
  if (socks5_proxy.empty()) {
    if (!IsNumericHost(target.host)) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "connect: a peer host name needs a SOCKS5 proxy (no DNS lookups)");
    }
    auto fd = ConnectNumeric(target, deadline);
    if (!fd.ok()) return AnnotateError("connect", fd.error());
    return fd;
  }
  auto proxy = net::ParseHostPort(socks5_proxy);
  if (!proxy.ok() || !IsNumericHost(proxy->host) || proxy->port == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "SOCKS5 proxy address must be a numeric IP and port");
  }
  auto fd = ConnectNumeric(*proxy, deadline);
  if (!fd.ok()) return AnnotateError("connect to SOCKS5 proxy", fd.error());
  ONIONMAIL_RETURN_IF_ERROR(Socks5Connect(fd->get(), target.host, target.port, deadline));
  return fd;
}

Result<OpenedSmtp> OpenStartTls(const net::HostPort& target, std::string_view socks5_proxy,
                                std::string_view helo_name, const std::optional<SpkiPin>& pin,
                                Deadline deadline) {
  auto fd = Connect(target, socks5_proxy, deadline);
  if (!fd.ok()) return fd.error();
  auto conn = std::make_unique<TlsClient>(std::move(*fd), deadline);

  auto greeting = ReadReply(*conn, "greeting");
  if (!greeting.ok()) return greeting.error();
  if (greeting->code != 220) return Unexpected("greeting", greeting->code);

  const std::string ehlo = "EHLO " + std::string(helo_name);
  auto hello = Command(*conn, ehlo, "EHLO");
  if (!hello.ok()) return hello.error();
  if (hello->code != 250) return Unexpected("EHLO", hello->code);
  if (!Offers(*hello, "STARTTLS")) {
    Quit(*conn, deadline);
    return MakeError(ErrorCode::kFailedPrecondition, "EHLO: peer does not offer STARTTLS");
  }
  auto ready = Command(*conn, "STARTTLS", "STARTTLS");
  if (!ready.ok()) return ready.error();
  if (ready->code != 220) return Unexpected("STARTTLS", ready->code);
  auto tls = pin.has_value() ? conn->StartTls(*pin) : conn->StartTlsAnyKey();
  if (!tls.ok()) return AnnotateError("TLS handshake", tls.error());

  auto hello_tls = Command(*conn, ehlo, "EHLO in TLS");
  if (!hello_tls.ok()) return hello_tls.error();
  if (hello_tls->code != 250) return Unexpected("EHLO in TLS", hello_tls->code);
  return OpenedSmtp{std::move(conn), std::move(*hello_tls)};
}

}  // namespace onionmail::peer
