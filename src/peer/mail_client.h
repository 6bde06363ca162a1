// MailClient: the client end of mail federation (server-to-server delivery
// over Tor). The sending server relays synchronously: for each command its
// own client sends it calls Mail(), Rcpt(), Data(), WriteBody() and EndData()
// here, and hands the remote replies back, so outgoing mail is never stored.
// Meant to run inside a sandboxed role: no files, no DNS.
//
// Dialogue: Open() connects (directly to a numeric host, or through a SOCKS5
// proxy such as Tor's, which resolves names), reads the 220 greeting, EHLO,
// STARTTLS (mandatory), TLS 1.3 (peer/tls_client.h: the key pinned when
// options.pin is set, else any key, since the onion address already
// authenticates the endpoint; unpinned over a direct connection nothing is
// authenticated), EHLO again (peer/smtp_dialog.h). Then
// `MAIL FROM:<path>[ SIZE=n][ BODY=8BITMIME]`, `RCPT TO:<path>`..., `DATA`, the dot-stuffed
// body, `.`, and again, or RSET, or QUIT. No pipelining.
//
// Contract:
//  - A reply is a RemoteReply value whatever its code (a 550 is not an
//    Error). Errors are for transport problems, malformed replies and misuse.
//  - Input is checked before anything is sent: a path is 0..kMaxMailPathBytes
//    printable ASCII bytes without space, '<' or '>' (the reverse path may be
//    empty: the null sender `<>`; the forward path may not), else
//    kInvalidArgument. The body must be lines ending in CRLF: a bare CR or a
//    bare LF, also split across WriteBody() calls, is kInvalidArgument and
//    leaves the client unusable (the final dot is never sent, so the peer
//    discards what it got). A body that ends inside a line gets a CRLF.
//  - Order: Mail() outside a transaction; Rcpt() after a 2xx to MAIL; Data()
//    after a 2xx to some RCPT; WriteBody() and EndData() after a 354 to DATA;
//    Rset() outside DATA. Anything else is kFailedPrecondition with nothing
//    sent. A 2xx to RSET, and the reply to the final dot whatever its code,
//    end the transaction. A 421 reply leaves the client closed.
//  - Errors: every message starts with the step ("connect: ", "greeting: ",
//    "EHLO: ", "TLS handshake: ", "MAIL: ", "RCPT: ", "DATA: ", "message
//    data: ", "end of data: ", "RSET: ") and never contains an address, the
//    peer's name or message bytes. Bad options or address kInvalidArgument; a
//    host name without a proxy and a peer without STARTTLS
//    kFailedPrecondition; pin mismatch kPermissionDenied; timeouts
//    kDeadlineExceeded; every other transport failure or malformed reply
//    kUnavailable. After any such Error the client is unusable: every later
//    call is kFailedPrecondition.
//  - Timeouts (RFC 5321 section 4.5.3.2): connect_timeout bounds the whole
//    of Open(); command_timeout each command and its reply; data_block_timeout
//    each WriteBody(); final_timeout the final dot and its reply.
//  - RemoteReply.text holds printable ASCII only (other bytes become '?'),
//    at most kMaxRemoteReplyText bytes, so it can be repeated to a client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "peer/smtp_dialog.h"
#include "peer/tls_client.h"

namespace onionmail::peer {

inline constexpr size_t kMaxMailPathBytes = 256;    // RFC 5321 4.5.3.1.3
inline constexpr size_t kMaxRemoteReplyText = 512;  // RemoteReply.text
inline constexpr size_t kMaxEnhancedCodeBytes = 9;  // "5.123.123"
inline constexpr size_t kMaxTkimKeyBytes = 4096;    // DER SubjectPublicKeyInfo of `TKIM KEY`

struct MailClientOptions {
  std::string socks5_proxy;             // "" = direct (numeric hosts only); e.g. "127.0.0.1:9050"
  std::string helo_name = "localhost";  // sent in EHLO
  std::optional<SpkiPin> pin;           // set: pinned TLS; unset: any key (onion peers)
  std::chrono::milliseconds connect_timeout{120000};     // onion circuits are slow
  std::chrono::milliseconds command_timeout{300000};     // per command (RFC 5321 4.5.3.2)
  std::chrono::milliseconds data_block_timeout{180000};  // per WriteBody()
  std::chrono::milliseconds final_timeout{600000};       // the reply to the final dot
};

struct RemoteReply {
  int code = 0;          // 200..599
  std::string enhanced;  // "2.0.0"; empty when the peer sent none
  std::string text;      // the lines' texts without the enhanced code, joined by one space
};

class MailClient {
 public:
  // `address` is "host:port" ("xxxx.onion:25", "192.0.2.1:25").
  [[nodiscard]] static Result<std::unique_ptr<MailClient>> Open(std::string_view address,
                                                                const MailClientOptions& options);
  ~MailClient();
  MailClient(const MailClient&) = delete;
  MailClient& operator=(const MailClient&) = delete;

  // The pin of the key the peer presented in TLS.
  const SpkiPin& PeerPin() const { return peer_pin_; }
  // The peer's SIZE limit from the EHLO in TLS; none for no SIZE, "SIZE",
  // "SIZE 0" or an unreadable number.
  std::optional<uint64_t> SizeLimit() const { return size_limit_; }
  // Whether the EHLO in TLS lists `keyword` (case-insensitive).
  bool Offers(std::string_view keyword) const;

  // `size` > 0 is declared as SIZE=size when the peer offers SIZE.
  // `body_8bitmime` declares BODY=8BITMIME; a peer that does not offer
  // 8BITMIME gets nothing and the call is kPermissionDenied (RFC 6152
  // section 3: 8-bit data goes only to a server that takes it); the client
  // stays usable.
  [[nodiscard]] Result<RemoteReply> Mail(std::string_view reverse_path, uint64_t size,
                                         bool body_8bitmime = false);
  [[nodiscard]] Result<RemoteReply> Rcpt(std::string_view forward_path);
  [[nodiscard]] Result<RemoteReply> Data();  // success is 354
  [[nodiscard]] Result<void> WriteBody(std::span<const uint8_t> bytes);
  [[nodiscard]] Result<RemoteReply> EndData();
  [[nodiscard]] Result<RemoteReply> Rset();

  // TKIM (docs/PROTOCOL.md, "TKIM"), outside a transaction and only when the
  // EHLO in TLS lists TKIM (else kFailedPrecondition, nothing sent).
  // ChannelBinding(): this connection's RFC 9266 tls-exporter value, which a
  // proof must be signed for. Tkim(): sends `TKIM <base64 proof>` (1 to
  // mail::kMaxTormBlobBytes bytes, else kInvalidArgument) and returns the
  // reply. TkimKey(): sends `TKIM KEY` and returns the key of a
  // `250 2.0.0 <base64>` reply (1..kMaxTkimKeyBytes bytes); any other reply
  // or bad base64 is kUnavailable (the client stays usable).
  [[nodiscard]] Result<mail::ChannelBinding> ChannelBinding() const;
  [[nodiscard]] Result<RemoteReply> Tkim(std::span<const uint8_t> proof);
  [[nodiscard]] Result<std::vector<uint8_t>> TkimKey();
  // SMTP VMAT (docs/PROTOCOL.md, "VMAT: aliases for users of other
  // servers"), outside a transaction and only when the EHLO in TLS lists
  // VMAT (else kFailedPrecondition, nothing sent): sends `VMAT <args>`
  // (args: printable ASCII and spaces, 1..200 bytes, else kInvalidArgument)
  // and returns the reply.
  [[nodiscard]] Result<RemoteReply> Vmat(std::string_view args);
  // Best effort (at most kQuitGrace); the client is closed afterwards. In
  // the middle of message data nothing is sent (QUIT would be body text).
  void Quit();

 private:
  enum class State { kReady, kMail, kRcpt, kData, kClosed, kBroken };

  explicit MailClient(OpenedSmtp opened);
  Result<void> Usable(std::string_view step) const;
  Result<RemoteReply> Exchange(std::string_view line, std::string_view step,
                               std::chrono::milliseconds timeout);
  void Shut(State state);    // closes the connection
  Error Break(Error error);  // Shut(kBroken), returns `error`

  std::unique_ptr<TlsClient> conn_;
  SmtpReply ehlo_;
  SpkiPin peer_pin_{};
  std::optional<uint64_t> size_limit_;
  std::chrono::milliseconds command_timeout_{0};
  std::chrono::milliseconds data_block_timeout_{0};
  std::chrono::milliseconds final_timeout_{0};
  State state_ = State::kReady;
  bool at_line_start_ = true;  // body: the next byte starts a line
  bool after_cr_ = false;      // body: the last byte was a CR (an LF must follow)
};

}  // namespace onionmail::peer
