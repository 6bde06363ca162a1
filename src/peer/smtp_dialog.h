// The SMTP client dialogue shared by the peer clients (TORM, peer/torm_client.h,
// and mail relay, peer/mail_client.h): reading replies, sending commands,
// EHLO keywords, the connection (direct or through SOCKS5) and the common
// opening up to the EHLO inside TLS 1.3. Runs inside a sandboxed role: no
// files, no DNS.
//
// Contract:
//  - ReadReply() reads one reply (RFC 5321 section 4.2): "ddd-text" lines then
//    one "ddd text" (or a bare "ddd"), codes 200..599, the same code on every
//    line, at most kMaxReplyLines lines of at most kMaxPeerLineBytes each.
//    Anything else is kUnavailable "<step>: ..." and the connection is out of
//    sync. Transport errors keep their code (kDeadlineExceeded on timeout).
//  - Every Error message starts with the step it happened in ("connect: ",
//    "greeting: ", "EHLO: ", "STARTTLS: ", "TLS handshake: ", "EHLO in TLS: ",
//    or the caller's step) and never carries a host name, an address or
//    reply text.
//  - Connect(): with `socks5_proxy` empty only numeric IPv4/IPv6 targets are
//    reachable (a host name is kFailedPrecondition: no DNS lookups); with a
//    proxy (numeric "host:port", else kInvalidArgument) every target goes
//    through it, names unresolved (peer/socks5.h).
//  - OpenStartTls(): connect, 220 greeting, EHLO, STARTTLS must be offered
//    (else QUIT and kFailedPrecondition "EHLO: peer does not offer STARTTLS"),
//    STARTTLS -> 220, TLS 1.3 handshake (pinned when `pin` is set, else any
//    key: TlsClient::StartTlsAnyKey), EHLO again -> 250. Any other reply is
//    kUnavailable "<step>: unexpected reply <code>". The whole opening is
//    bounded by `deadline`; nothing but EHLO is sent inside TLS.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "mail/torm.h"
#include "net/listener.h"
#include "peer/socket_io.h"
#include "peer/tls_client.h"

namespace onionmail::peer {

// Longest reply line accepted: 20 KiB, or more if the largest TORM reply
// (`250 2.0.0 ` + base64 of mail::kMaxTormBlobBytes) needs it.
inline constexpr size_t kMaxPeerLineBytes =
    std::max<size_t>(20480, 10 + 4 * ((mail::kMaxTormBlobBytes + 2) / 3));
inline constexpr size_t kMaxReplyLines = 64;  // lines in one multi-line reply
inline constexpr std::chrono::milliseconds kQuitGrace{3000};

struct SmtpReply {
  int code = 0;
  std::vector<std::string> lines;  // text after "ddd-" / "ddd "
};

// kUnavailable "<step>: <what>".
Error Malformed(std::string_view step, std::string_view what);
// kUnavailable "<step>: unexpected reply <code>".
Error Unexpected(std::string_view step, int code);

[[nodiscard]] Result<SmtpReply> ReadReply(TlsClient& conn, std::string_view step);
// Sends `line` plus CRLF, then reads the reply.
[[nodiscard]] Result<SmtpReply> Command(TlsClient& conn, std::string_view line,
                                        std::string_view step);

// Whether an EHLO reply lists `keyword` (upper case; compared without case)
// as the first word of one of its lines after the first.
bool Offers(const SmtpReply& ehlo, std::string_view keyword);

// Best effort: QUIT and wait briefly (at most kQuitGrace, never past
// `deadline`) for the 221; errors are ignored.
void Quit(TlsClient& conn, Deadline deadline);

// 1..255 printable ASCII bytes, no space.
bool ValidHeloName(std::string_view name);

[[nodiscard]] Result<UniqueFd> Connect(const net::HostPort& target, std::string_view socks5_proxy,
                                       Deadline deadline);

struct OpenedSmtp {
  std::unique_ptr<TlsClient> conn;  // in TLS, after the second EHLO
  SmtpReply ehlo;                   // the 250 reply to the EHLO inside TLS
};

[[nodiscard]] Result<OpenedSmtp> OpenStartTls(const net::HostPort& target,
                                              std::string_view socks5_proxy,
                                              std::string_view helo_name,
                                              const std::optional<SpkiPin>& pin, Deadline deadline);

}  // namespace onionmail::peer
