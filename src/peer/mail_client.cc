// MailClient (see mail_client.h).
#include "peer/mail_client.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "base/secret_bytes.h"
#include "net/listener.h"
#include "smtp/base64.h"

namespace onionmail::peer {

namespace {

constexpr std::string_view kDataStep = "message data";
constexpr std::string_view kEndStep = "end of data";

bool IsDigits(std::string_view s, size_t min, size_t max) {
  return s.size() >= min && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 3463: class "." subject "." detail, class matching the reply's first
// digit, subject and detail 1..3 digits.
bool IsEnhancedCode(std::string_view word, int code) {
  if (word.size() < 5 || word.size() > kMaxEnhancedCodeBytes) return false;
  if (word[0] != static_cast<char>('0' + code / 100) || word[1] != '.') return false;
  std::string_view rest = word.substr(2);
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return false;
  return IsDigits(rest.substr(0, dot), 1, 3) && IsDigits(rest.substr(dot + 1), 1, 3);
}

RemoteReply ToRemote(const SmtpReply& reply) {
  RemoteReply out;
  out.code = reply.code;
  if (!reply.lines.empty()) {
    std::string_view first = reply.lines[0];
    std::string_view word = first.substr(0, first.find(' '));
    if (IsEnhancedCode(word, reply.code)) out.enhanced = std::string(word);
  }
  const std::string& enhanced = out.enhanced;
  for (std::string_view text : reply.lines) {
    if (!enhanced.empty() && text.substr(0, enhanced.size()) == enhanced &&
        (text.size() == enhanced.size() || text[enhanced.size()] == ' ')) {
      text.remove_prefix(std::min(text.size(), enhanced.size() + 1));
    }
    if (text.empty()) continue;
    if (!out.text.empty()) out.text.push_back(' ');
    out.text.append(text.substr(0, kMaxRemoteReplyText));
    if (out.text.size() >= kMaxRemoteReplyText) break;
  }
  if (out.text.size() > kMaxRemoteReplyText) out.text.resize(kMaxRemoteReplyText);
  for (char& c : out.text) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

// A path between the angle brackets: printable ASCII, no space, '<', '>'.
bool ValidPath(std::string_view path) {
  if (path.size() > kMaxMailPathBytes) return false;
  return std::all_of(path.begin(), path.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '<' && c != '>';
  });
}

// The SIZE parameter of the EHLO reply; none for absent, empty, zero or
// unreadable.
std::optional<uint64_t> SizeOf(const SmtpReply& ehlo) {
  for (size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::string_view line = ehlo.lines[i];
    size_t space = line.find(' ');
    std::string_view word = line.substr(0, space);
    if (word.size() != 4 || std::toupper(static_cast<unsigned char>(word[0])) != 'S' ||
        std::toupper(static_cast<unsigned char>(word[1])) != 'I' ||
        std::toupper(static_cast<unsigned char>(word[2])) != 'Z' ||
        std::toupper(static_cast<unsigned char>(word[3])) != 'E') {
      continue;
    }
    if (space == std::string_view::npos) return std::nullopt;
    std::string_view number = line.substr(space + 1);
    if (!IsDigits(number, 1, 20)) return std::nullopt;
    uint64_t value = 0;
    for (char c : number) {
      auto digit = static_cast<uint64_t>(c - '0');
      if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
      value = value * 10 + digit;
    }
    if (value == 0) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

Error OutOfOrder(std::string_view step, std::string_view why) {
  return MakeError(ErrorCode::kFailedPrecondition, std::string(step) + ": " + std::string(why));
}

}  // namespace

Result<std::unique_ptr<MailClient>> MailClient::Open(std::string_view address,
                                                     const MailClientOptions& options) {
  if (!ValidHeloName(options.helo_name)) {
    return MakeError(ErrorCode::kInvalidArgument, "bad EHLO name");
  }
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0 ||
      options.data_block_timeout.count() <= 0 || options.final_timeout.count() <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "timeouts must be positive");
  }
  auto target = net::ParseHostPort(address);
  if (!target.ok() || target->host.empty() || target->port == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "bad peer address (want host:port)");
  }
  const Deadline deadline = Clock::now() + options.connect_timeout;
  auto opened =
      OpenStartTls(*target, options.socks5_proxy, options.helo_name, options.pin, deadline);
  if (!opened.ok()) return opened.error();
  auto pin = opened->conn->PeerPin();
  if (!pin.ok()) return AnnotateError("TLS handshake", pin.error());
  std::unique_ptr<MailClient> client(new MailClient(std::move(*opened)));
  client->peer_pin_ = *pin;
  client->command_timeout_ = options.command_timeout;
  client->data_block_timeout_ = options.data_block_timeout;
  client->final_timeout_ = options.final_timeout;
  return client;
}

MailClient::MailClient(OpenedSmtp opened)
    : conn_(std::move(opened.conn)), ehlo_(std::move(opened.ehlo)), size_limit_(SizeOf(ehlo_)) {}

MailClient::~MailClient() = default;

bool MailClient::Offers(std::string_view keyword) const {
  std::string upper(keyword);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return peer::Offers(ehlo_, upper);
}

Result<void> MailClient::Usable(std::string_view step) const {
  if (state_ == State::kBroken) {
    return OutOfOrder(step, "client unusable after an earlier error");
  }
  if (state_ == State::kClosed) return OutOfOrder(step, "connection closed");
  return Ok();
}

void MailClient::Shut(State state) {
  state_ = state;
  conn_.reset();  // the peer sees the connection end: no half message is kept
}

Error MailClient::Break(Error error) {
  Shut(State::kBroken);
  return error;
}

Result<RemoteReply> MailClient::Exchange(std::string_view line, std::string_view step,
                                         std::chrono::milliseconds timeout) {
  conn_->set_deadline(Clock::now() + timeout);
  auto reply = Command(*conn_, line, step);
  if (!reply.ok()) return Break(reply.error());
  RemoteReply out = ToRemote(*reply);
  if (out.code == 421) Shut(State::kClosed);  // the peer is closing (RFC 5321 3.8)
  return out;
}

Result<RemoteReply> MailClient::Mail(std::string_view reverse_path, uint64_t size,
                                     bool body_8bitmime) {
  constexpr std::string_view kStep = "MAIL";
  ONIONMAIL_RETURN_IF_ERROR(Usable(kStep));
  if (!ValidPath(reverse_path)) {
    return MakeError(ErrorCode::kInvalidArgument, "MAIL: invalid reverse path");
  }
  if (state_ != State::kReady) return OutOfOrder(kStep, "a transaction is already open");
  std::string line = "MAIL FROM:<" + std::string(reverse_path) + ">";
  if (size > 0 && peer::Offers(ehlo_, "SIZE")) line += " SIZE=" + std::to_string(size);
  if (body_8bitmime) {
    if (!peer::Offers(ehlo_, "8BITMIME")) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "MAIL: 8-bit body, the peer offers no 8BITMIME");
    }
    line += " BODY=8BITMIME";
  }
  auto reply = Exchange(line, kStep, command_timeout_);
  if (reply.ok() && state_ == State::kReady && reply->code / 100 == 2) state_ = State::kMail;
  return reply;
}

Result<RemoteReply> MailClient::Rcpt(std::string_view forward_path) {
  constexpr std::string_view kStep = "RCPT";
  ONIONMAIL_RETURN_IF_ERROR(Usable(kStep));
  if (forward_path.empty() || !ValidPath(forward_path)) {
    return MakeError(ErrorCode::kInvalidArgument, "RCPT: invalid forward path");
  }
  if (state_ != State::kMail && state_ != State::kRcpt) {
    return OutOfOrder(kStep, "no MAIL accepted");
  }
  auto reply = Exchange("RCPT TO:<" + std::string(forward_path) + ">", kStep, command_timeout_);
  if (reply.ok() && state_ == State::kMail && reply->code / 100 == 2) state_ = State::kRcpt;
  return reply;
}

Result<RemoteReply> MailClient::Data() {
  constexpr std::string_view kStep = "DATA";
  ONIONMAIL_RETURN_IF_ERROR(Usable(kStep));
  if (state_ != State::kRcpt) return OutOfOrder(kStep, "no recipient accepted");
  auto reply = Exchange("DATA", kStep, command_timeout_);
  if (reply.ok() && state_ == State::kRcpt && reply->code == 354) {
    state_ = State::kData;
    at_line_start_ = true;
    after_cr_ = false;
  }
  return reply;
}

Result<void> MailClient::WriteBody(std::span<const uint8_t> bytes) {
  ONIONMAIL_RETURN_IF_ERROR(Usable(kDataStep));
  if (state_ != State::kData) return OutOfOrder(kDataStep, "DATA not accepted");
  // Checked whole before any of it is sent; a dot that starts a line is
  // doubled (RFC 5321 4.5.2), the line start carried across calls.
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 32 + 2);
  bool line_start = at_line_start_;
  bool after_cr = after_cr_;
  bool bare = false;
  for (uint8_t b : bytes) {
    if (after_cr) {
      if (b != '\n') {
        bare = true;
        break;
      }
      after_cr = false;
      line_start = true;
      out.push_back('\n');
      continue;
    }
    if (b == '\n') {
      bare = true;
      break;
    }
    if (b == '\r') {
      after_cr = true;
    } else {
      if (line_start && b == '.') out.push_back('.');
      line_start = false;
    }
    out.push_back(static_cast<char>(b));
  }
  if (bare) {
    WipeMemory(out.data(), out.size());
    Shut(State::kBroken);
    return MakeError(ErrorCode::kInvalidArgument,
                     "message data: bare CR or LF (lines must end in CRLF)");
  }
  conn_->set_deadline(Clock::now() + data_block_timeout_);
  auto written = conn_->Write(out);
  WipeMemory(out.data(), out.size());
  if (!written.ok()) return Break(AnnotateError(kDataStep, written.error()));
  at_line_start_ = line_start;
  after_cr_ = after_cr;
  return Ok();
}

Result<RemoteReply> MailClient::EndData() {
  ONIONMAIL_RETURN_IF_ERROR(Usable(kEndStep));
  if (state_ != State::kData) return OutOfOrder(kEndStep, "DATA not accepted");
  if (after_cr_) {
    Shut(State::kBroken);
    return MakeError(ErrorCode::kInvalidArgument, "end of data: bare CR at the end of the message");
  }
  std::string tail = at_line_start_ ? ".\r\n" : "\r\n.\r\n";
  conn_->set_deadline(Clock::now() + final_timeout_);
  if (auto w = conn_->Write(tail); !w.ok()) return Break(AnnotateError(kEndStep, w.error()));
  auto reply = ReadReply(*conn_, kEndStep);
  if (!reply.ok()) return Break(reply.error());
  RemoteReply out = ToRemote(*reply);
  state_ = State::kReady;
  if (out.code == 421) Shut(State::kClosed);
  return out;
}

Result<RemoteReply> MailClient::Rset() {
  constexpr std::string_view kStep = "RSET";
  ONIONMAIL_RETURN_IF_ERROR(Usable(kStep));
  if (state_ == State::kData) return OutOfOrder(kStep, "in the middle of message data");
  auto reply = Exchange("RSET", kStep, command_timeout_);
  if (reply.ok() && state_ != State::kClosed && reply->code / 100 == 2) state_ = State::kReady;
  return reply;
}

void MailClient::Quit() {
  if (state_ == State::kBroken || state_ == State::kClosed) return;
  if (state_ != State::kData) peer::Quit(*conn_, Clock::now() + kQuitGrace);
  Shut(State::kClosed);
}

Result<mail::ChannelBinding> MailClient::ChannelBinding() const {
  ONIONMAIL_RETURN_IF_ERROR(Usable("TKIM"));
  return conn_->ExporterBinding();
}

Result<RemoteReply> MailClient::Tkim(std::span<const uint8_t> proof) {
  constexpr std::string_view kStep = "TKIM";
  ONIONMAIL_RETURN_IF_ERROR(Usable(kStep));
  if (state_ != State::kReady) return OutOfOrder(kStep, "inside a transaction");
  if (!Offers("TKIM")) return OutOfOrder(kStep, "peer does not offer TKIM");
  if (proof.empty() || proof.size() > mail::kMaxTormBlobBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "TKIM: proof size out of range");
  }
  return Exchange("TKIM " + smtp::EncodeBase64(proof), kStep, command_timeout_);
}

Result<RemoteReply> MailClient::Vmat(std::string_view args) {
  constexpr std::string_view kStep = "VMAT";
  ONIONMAIL_RETURN_IF_ERROR(Usable(kStep));
  if (state_ != State::kReady) return OutOfOrder(kStep, "inside a transaction");
  if (!Offers("VMAT")) return OutOfOrder(kStep, "peer does not offer VMAT");
  const bool printable =
      std::all_of(args.begin(), args.end(), [](char c) { return c >= ' ' && c <= '~'; });
  if (args.empty() || args.size() > 200 || !printable) {
    return MakeError(ErrorCode::kInvalidArgument, "VMAT: arguments out of range");
  }
  return Exchange("VMAT " + std::string(args), kStep, command_timeout_);
}

Result<std::vector<uint8_t>> MailClient::TkimKey() {
  constexpr std::string_view kStep = "TKIM KEY";
  ONIONMAIL_RETURN_IF_ERROR(Usable(kStep));
  if (state_ != State::kReady) return OutOfOrder(kStep, "inside a transaction");
  if (!Offers("TKIM")) return OutOfOrder(kStep, "peer does not offer TKIM");
  conn_->set_deadline(Clock::now() + command_timeout_);
  auto reply = Command(*conn_, "TKIM KEY", kStep);
  if (!reply.ok()) return Break(reply.error());
  if (reply->code == 421) Shut(State::kClosed);
  constexpr std::string_view kPrefix = "2.0.0 ";
  if (reply->code != 250 || reply->lines.size() != 1 ||
      reply->lines[0].substr(0, kPrefix.size()) != kPrefix) {
    return Malformed(kStep, "no key in the reply");
  }
  auto key = smtp::DecodeBase64(std::string_view(reply->lines[0]).substr(kPrefix.size()));
  if (!key.ok() || key->empty() || key->size() > kMaxTkimKeyBytes) {
    return Malformed(kStep, "invalid key encoding");
  }
  std::span<const uint8_t> bytes = key->Reveal(SecretAccess::Grant());  // a public key
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace onionmail::peer
