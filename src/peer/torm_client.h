// The client side of TORM (docs/PROTOCOL.md, "TORM over SMTP"): one call
// connects to a peer server, speaks SMTP up to STARTTLS, upgrades to TLS 1.3
// with the peer's key pinned, sends one `TORM <VERB> <base64>` and returns the
// peer's answer. Meant to run inside a sandboxed role: no files, no DNS.
//
// Dialogue: 220 greeting (multi-line accepted), EHLO <helo_name> (STARTTLS
// must be offered), STARTTLS -> 220, TLS 1.3 handshake with the SPKI pin
// (peer/tls_client.h), EHLO again (TORM must be offered), RFC 9266 binding ->
// builder -> `TORM <PUSH|DERK|STAT|KCTL> <base64>`, one reply, QUIT (best
// effort, at most kQuitGrace).
//
// Contract:
//  - Routing: with options.socks5_proxy empty, only numeric IPv4/IPv6 peers
//    are reachable (connected directly); a host name (including *.onion) is
//    kFailedPrecondition. With a proxy (numeric "host:port"), every peer is
//    reached through it and host names go to the proxy unresolved.
//  - The builder is called exactly once, after the pin check and the second
//    EHLO, with the channel binding of this very TLS connection; nothing but
//    EHLO is sent inside TLS before it. Its error is returned unchanged in
//    code. Its blob must be 1..mail::kMaxTormBlobBytes (else kInvalidArgument).
//  - Result: `250 2.0.0 <base64>` is {kOk, decoded reply}; `<code> <enh> TORM
//    refused: <keyword>` is {the TormOutcome with that keyword, empty reply},
//    an unknown keyword being kTemporary. A refusal is not an Error.
//  - Errors: bad endpoint/options kInvalidArgument; pin mismatch
//    kPermissionDenied "... peer key does not match the pin"; peer offers no
//    STARTTLS or no TORM kFailedPrecondition ("peer does not offer TORM");
//    timeouts kDeadlineExceeded (the whole call, proxy included, is bounded by
//    options.timeout); everything else on the way (refused connection, SOCKS5
//    refusal, TLS failure, unexpected or malformed reply, line over
//    kMaxPeerLineBytes, invalid base64) kUnavailable. Each message starts with
//    the step ("connect: ", "EHLO: ", "TORM reply: ", ...) and never carries
//    request/reply bytes or the peer's address.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "mail/torm.h"
#include "peer/smtp_dialog.h"
#include "peer/tls_client.h"

namespace onionmail::peer {

// kMaxPeerLineBytes, kMaxReplyLines and kQuitGrace: peer/smtp_dialog.h.

struct PeerEndpoint {
  std::string address;  // "host:port": "192.0.2.1:25", "[2001:db8::1]:25", "xxxx.onion:25"
  SpkiPin tls_pin{};    // SHA-256 of the peer's TLS certificate SubjectPublicKeyInfo (DER)
};

struct ClientOptions {
  std::string socks5_proxy;  // "" = direct (numeric peers only); e.g. "127.0.0.1:9050"
  std::chrono::milliseconds timeout{30000};  // the whole call
  std::string helo_name = "localhost";       // sent in EHLO
};

// Called once TLS is up; returns the request blob (the caller signs it with
// the binding inside, e.g. through its key role).
using RequestBuilder = std::function<Result<std::vector<uint8_t>>(const mail::ChannelBinding&)>;

struct TormResponse {
  mail::TormOutcome outcome = mail::TormOutcome::kOk;
  std::vector<uint8_t> reply;  // only with kOk
};

// "PUSH", "DERK", "STAT", "KCTL"; "" for a value outside the enum.
std::string_view TormVerbWireName(mail::TormVerb verb);

[[nodiscard]] Result<TormResponse> TormCall(const PeerEndpoint& peer, mail::TormVerb verb,
                                            const RequestBuilder& build_request,
                                            const ClientOptions& options);

}  // namespace onionmail::peer
