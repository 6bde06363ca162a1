#include "pop3/session.h"

#include <chrono>
#include <thread>
#include <utility>

#include "base/log.h"
#include "pop3/message_stream.h"
#include "pop3/reply.h"
#include "pop3/sasl_plain.h"

namespace onionmail::pop3 {
namespace {

constexpr std::string_view kComponent = "pop3";

bool ExpectNoArgs(const Command& command) { return command.args.empty(); }

}  // namespace

Session::Session(net::Connection& conn, mail::MailboxBackend& backend, const SessionConfig& config,
                 mail::RegistrationService* registration)
    : conn_(conn), backend_(backend), registration_(registration), config_(config) {}

Session::~Session() = default;

void Session::Log(bool warning, std::string_view what) const {
  std::string message = config_.log_tag;
  if (!message.empty()) message.push_back(' ');
  message.append(what);
  if (warning) {
    log::Warning(kComponent, message);
  } else {
    log::Info(kComponent, message);
  }
}

void Session::Send(std::string_view reply) {
  if (!conn_.Write(reply).ok()) Close();
}

void Session::Run() {
  Send(reply::Greeting(config_.hostname));
  while (state_ != State::kClosed) {
    // No Flush() here: ReadLine() sends the replies before it waits for
    // input, so those to pipelined commands go out together (net/connection.h).
    auto line = conn_.ReadLine(config_.max_line);
    if (!line.ok()) break;  // dropped or timed out: nothing is deleted
    std::string& text = line.value().text;
    if (line->ending == net::LineEnding::kTooLong) {
      Send(reply::kLineTooLong);
      break;
    }
    if (state_ == State::kAuthorization) {
      HandleAuthorization(ParseCommand(text));
      WipeMemory(text.data(), text.size());
      conn_.WipeBuffers();
    } else {
      HandleTransaction(ParseCommand(text));
    }
  }
  (void)conn_.Flush();
  conn_.WipeBuffers();
  mailbox_.reset();  // releases the mailbox lock
  deleted_.clear();
  state_ = State::kClosed;
}

void Session::HandleAuthorization(const Command& command) {
  switch (command.verb) {
    case Verb::kCapa:
      return ExpectNoArgs(command) ? Capa() : Send(reply::kSyntaxError);
    case Verb::kStls:
      return ExpectNoArgs(command) ? Stls() : Send(reply::kSyntaxError);
    case Verb::kUser:
      return User(command);
    case Verb::kPass:
      return Pass(command);
    case Verb::kAuth:
      return Auth(command);
    case Verb::kRqus:
      return Rqus(command);
    case Verb::kQuit:
      Send(reply::SigningOff(config_.hostname));
      return Close();
    case Verb::kUnknown:
      return Send(reply::kUnknownCommand);
    default:
      return Send(reply::kBadState);
  }
}

void Session::HandleTransaction(const Command& command) {
  switch (command.verb) {
    case Verb::kCapa:
      return ExpectNoArgs(command) ? Capa() : Send(reply::kSyntaxError);
    case Verb::kStat:
      if (!ExpectNoArgs(command)) return Send(reply::kSyntaxError);
      return Send(reply::Stat(LiveCount(), LiveOctets()));
    case Verb::kList:
      return List(command, /*uids=*/false);
    case Verb::kUidl:
      return List(command, /*uids=*/true);
    case Verb::kRetr: {
      if (command.args.size() != 1) return Send(reply::kSyntaxError);
      auto index = ResolveMessage(command.args[0]);
      if (index.has_value()) Retrieve(*index, std::nullopt);
      return;
    }
    case Verb::kTop: {
      if (command.args.size() != 2) return Send(reply::kSyntaxError);
      auto index = ResolveMessage(command.args[0]);
      if (!index.has_value()) return;
      auto lines = ParseNumber(command.args[1]);
      if (!lines.has_value()) return Send(reply::kInvalidLineCount);
      return Retrieve(*index, *lines);
    }
    case Verb::kDele: {
      if (command.args.size() != 1) return Send(reply::kSyntaxError);
      auto index = ResolveMessage(command.args[0]);
      if (!index.has_value()) return;
      deleted_[*index] = true;
      return Send(reply::Deleted(*index + 1));
    }
    case Verb::kRset:
      if (!ExpectNoArgs(command)) return Send(reply::kSyntaxError);
      deleted_.assign(deleted_.size(), false);
      return Send(reply::MaildropSummary(LiveCount(), LiveOctets()));
    case Verb::kNoop:
      return ExpectNoArgs(command) ? Send(reply::kNoop) : Send(reply::kSyntaxError);
    case Verb::kQuit:
      return Quit();
    case Verb::kUnknown:
      return Send(reply::kUnknownCommand);
    default:
      return Send(reply::kBadState);
  }
}

void Session::Capa() {
  bool authorization = state_ == State::kAuthorization;
  bool tls = conn_.IsTls();
  Send(reply::Capabilities(authorization && !tls, authorization && tls, config_.expire_days,
                           authorization && tls && registration_ != nullptr));
}

void Session::Stls() {
  if (conn_.IsTls()) return Send(reply::kTlsAlreadyActive);
  Send(reply::kStlsBegin);
  if (state_ == State::kClosed || !conn_.Flush().ok()) return Close();
  if (conn_.Buffered() > 0) Log(true, "discarding plaintext pipelined after STLS");
  auto tls = conn_.StartTls();
  if (!tls.ok()) {
    Log(true, std::string("TLS handshake failed: ") + ErrorCodeName(tls.error().code));
    return Close();
  }
  pending_user_.reset();
}

void Session::User(const Command& command) {
  if (!conn_.IsTls()) return Send(reply::kTlsRequired);
  if (command.args.size() != 1) return Send(reply::kSyntaxError);
  // The name is checked only at PASS, so USER reveals nothing about accounts.
  pending_user_ = std::string(command.args[0]);
  Send(reply::kUserAccepted);
}

void Session::Pass(const Command& command) {
  if (!conn_.IsTls()) return Send(reply::kTlsRequired);
  if (!pending_user_.has_value()) return Send(reply::kUserFirst);
  if (command.rest.empty()) return Send(reply::kSyntaxError);
  // RFC 1939: the password is the rest of the line and may contain spaces.
  SecretBytes password(SecretAccess::Grant(), command.rest);
  std::string user = std::move(*pending_user_);
  pending_user_.reset();
  Login(user, password);
}

void Session::Auth(const Command& command) {
  if (!conn_.IsTls()) return Send(reply::kTlsRequired);
  if (command.args.empty() || command.args.size() > 2) return Send(reply::kSyntaxError);
  if (!AsciiEqualsIgnoreCase(command.args[0], "PLAIN")) return Send(reply::kAuthUnsupported);
  pending_user_.reset();

  std::string continuation;  // holds credentials: wiped below
  std::string_view response;
  if (command.args.size() == 2) {
    response = command.args[1];
    if (response == "=") response = {};  // RFC 5034: empty initial response
  } else {
    Send(reply::kAuthContinue);
    if (state_ == State::kClosed || !conn_.Flush().ok()) return Close();
    auto line = conn_.ReadLine(config_.max_line);
    if (!line.ok()) return Close();
    if (line->ending == net::LineEnding::kTooLong) {
      conn_.WipeBuffers();
      Send(reply::kLineTooLong);
      return Close();
    }
    continuation = std::move(line.value().text);
    conn_.WipeBuffers();
    response = continuation;
  }
  if (response == "*") {
    Send(reply::kAuthCancelled);
  } else {
    auto credentials = DecodeSaslPlain(response);
    if (credentials.ok()) {
      Login(credentials->authcid, credentials->password);
      WipeMemory(credentials->authcid.data(), credentials->authcid.size());
    } else {
      CredentialFailure();
    }
  }
  WipeMemory(continuation.data(), continuation.size());
}

void Session::Login(std::string_view user, const SecretBytes& password) {
  auto name = NormalizeUserName(user);
  if (!name.has_value()) return CredentialFailure();
  auto opened = backend_.Open(*name, password);
  if (opened.ok()) {
    mailbox_ = std::move(opened.value());
    deleted_.assign(mailbox_->Messages().size(), false);
    state_ = State::kTransaction;
    Log(false, "login ok");
    return Send(reply::MaildropSummary(LiveCount(), LiveOctets()));
  }
  switch (opened.error().code) {
    case ErrorCode::kUnauthenticated:
      return CredentialFailure();
    case ErrorCode::kFailedPrecondition:
      Log(true, "login refused: mailbox in use");
      return Send(reply::kInUse);
    case ErrorCode::kSealed:
      Log(true, "login refused: server sealed");
      return Send(reply::kSealed);
    default:
      Log(true, std::string("login failed: ") + ErrorCodeName(opened.error().code));
      return Send(reply::kLoginTempFailure);
  }
}

void Session::CredentialFailure() {
  ++auth_failures_;
  bool too_many = auth_failures_ >= config_.max_auth_failures;
  Log(true, too_many ? "login failed: invalid credentials; too many failures, closing"
                     : "login failed: invalid credentials");
  if (config_.auth_failure_delay_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(config_.auth_failure_delay_ms));
  }
  if (too_many) {
    Send(reply::kTooManyFailures);
    return Close();
  }
  Send(reply::kInvalidCredentials);
}

std::optional<size_t> Session::ResolveMessage(std::string_view arg) {
  auto number = ParseNumber(arg);
  if (!number.has_value()) {
    Send(reply::kInvalidMessageNumber);
    return std::nullopt;
  }
  if (*number == 0 || *number > deleted_.size()) {
    Send(reply::kNoSuchMessage);
    return std::nullopt;
  }
  size_t index = static_cast<size_t>(*number - 1);
  if (deleted_[index]) {
    Send(reply::kAlreadyDeleted);
    return std::nullopt;
  }
  return index;
}

size_t Session::LiveCount() const {
  size_t count = 0;
  for (bool deleted : deleted_) count += deleted ? 0 : 1;
  return count;
}

uint64_t Session::LiveOctets() const {
  const auto& messages = mailbox_->Messages();
  uint64_t octets = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!deleted_[i]) octets += messages[i].size;
  }
  return octets;
}

void Session::List(const Command& command, bool uids) {
  const auto& messages = mailbox_->Messages();
  if (command.args.size() > 1) return Send(reply::kSyntaxError);
  if (command.args.size() == 1) {
    auto index = ResolveMessage(command.args[0]);
    if (!index.has_value()) return;
    const auto& info = messages[*index];
    return Send(uids ? reply::UidListingSingle(*index + 1, info.uid)
                     : reply::ScanListingSingle(*index + 1, info.size));
  }
  std::string out(uids ? reply::kUidListingFollows : reply::kScanListingFollows);
  for (size_t i = 0; i < messages.size(); ++i) {
    if (deleted_[i]) continue;
    out += uids ? reply::UidListingLine(i + 1, messages[i].uid)
                : reply::ScanListingLine(i + 1, messages[i].size);
  }
  out.append(reply::kMultiLineEnd);
  Send(out);
}

void Session::Retrieve(size_t index, std::optional<uint64_t> body_lines) {
  std::string status = body_lines.has_value()
                           ? std::string(reply::kTopFollows)
                           : reply::RetrFollows(mailbox_->Messages()[index].size);
  MessageStreamer streamer(conn_, std::move(status), body_lines);
  auto read = mailbox_->Read(
      index, [&streamer](std::span<const uint8_t> chunk) { return streamer.Consume(chunk); });
  if (!read.ok() && !streamer.limit_reached()) {
    std::string why = ErrorCodeName(read.error().code);
    if (!streamer.started()) {
      Log(true, "message read failed: " + why);
      return Send(reply::kReadFailed);
    }
    // Part of the message is already on the wire: no -ERR is possible.
    Log(true, "message read failed mid-response, closing: " + why);
    return Close();
  }
  if (!streamer.Finish().ok()) Close();
}

void Session::Quit() {
  std::vector<size_t> indices;
  for (size_t i = 0; i < deleted_.size(); ++i) {
    if (deleted_[i]) indices.push_back(i);
  }
  if (!indices.empty()) {
    auto expunged = mailbox_->Expunge(indices);
    if (!expunged.ok()) {
      Log(true, std::string("expunge failed: ") + ErrorCodeName(expunged.error().code));
      Send(reply::kExpungeFailed);
      return Close();
    }
  }
  // RFC 1939 UPDATE state: the mailbox is released before +OK, so that the
  // client can log in again as soon as it has the reply.
  mailbox_.reset();
  Send(reply::SigningOff(config_.hostname));
  Close();
}

}  // namespace onionmail::pop3
