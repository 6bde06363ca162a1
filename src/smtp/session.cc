#include "smtp/session.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <span>
#include <thread>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "mail/message_fields.h"
#include "smtp/address.h"
#include "smtp/auth.h"
#include "smtp/base64.h"
#include "smtp/data_reader.h"

namespace onionmail::smtp {
namespace {

constexpr char kComponent[] = "smtp";

bool AllowedBeforeTls(Verb verb) {
  switch (verb) {
    case Verb::kEhlo:
    case Verb::kHelo:
    case Verb::kStartTls:
    case Verb::kNoop:
    case Verb::kRset:
    case Verb::kQuit:
      return true;
    default:
      return false;
  }
}

bool HasBareLineEnding(const net::Line& line) {
  return line.ending == net::LineEnding::kBareLf || line.text.find('\r') != std::string::npos;
}

struct TormVerbName {
  std::string_view name;
  mail::TormVerb verb;
};
constexpr TormVerbName kTormVerbs[] = {{"PUSH", mail::TormVerb::kPush},
                                       {"DERK", mail::TormVerb::kDerk},
                                       {"STAT", mail::TormVerb::kStat},
                                       {"KCTL", mail::TormVerb::kKctl}};

Result<void> AppendString(mail::MessageWriter& writer, const std::string& text) {
  return writer.Append(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace

Session::Session(net::Connection& conn, mail::DeliveryBackend& backend, const SessionConfig& config,
                 mail::TormService* torm, mail::RelayBackend* relay, mail::TkimService* tkim,
                 mail::BotService* bot, mail::ListService* lists, mail::VmatService* vmat)
    : conn_(conn),
      backend_(backend),
      torm_(torm),
      relay_(relay),
      tkim_(tkim),
      bot_(bot),
      lists_(lists),
      vmat_(vmat),
      config_(config) {}

void Session::Log(bool warning, const std::string& message) const {
  std::string line = "[" + config_.log_tag + "] " + message;
  if (warning) {
    log::Warning(kComponent, line);
  } else {
    log::Info(kComponent, line);
  }
}

Result<Session::Next> Session::Send(Reply reply) {
  ONIONMAIL_RETURN_IF_ERROR(conn_.Write(FormatReply(reply, config_.hostname)));
  return Next::kContinue;
}

Result<Session::Next> Session::SendLine(const std::string& line) {
  ONIONMAIL_RETURN_IF_ERROR(conn_.Write(line));
  return Next::kContinue;
}

void Session::ResetTransaction() {
  in_transaction_ = false;
  reverse_path_.clear();
  declared_size_ = 0;
  body_8bitmime_ = false;
  recipients_.clear();
  bot_request_ = false;
  bot_remote_member_.reset();
  list_name_.reset();
  list_held_ = false;
  local_sender_ = false;
  remotes_.clear();  // without End(): the remotes keep nothing
}

void Session::EndOnError(const Error& error) {
  if (error.code == ErrorCode::kDeadlineExceeded) {
    (void)conn_.Write(FormatReply(Reply::kTimeout, config_.hostname));
    (void)conn_.Flush();
    Log(false, "session ended: timeout");
  }
  // kUnavailable and the rest: the peer is gone; end quietly.
}

void Session::Run() {
  Serve();
  ResetTransaction();  // drops an open remote transaction
}

void Session::Serve() {
  if (!conn_.Write(FormatReply(Reply::kGreeting, config_.hostname)).ok()) return;
  for (;;) {
    // No Flush() here: ReadLine() sends the replies before it waits for
    // input, so those to a pipelined group go out together (RFC 2920, 3.2).
    auto line = conn_.ReadLine(config_.max_command_line);
    if (!line.ok()) return EndOnError(line.error());

    Result<Next> next = Next::kContinue;
    if (line->ending == net::LineEnding::kTooLong) {
      (void)Send(Reply::kLineTooLong);
      next = Next::kClose;
    } else if (HasBareLineEnding(*line)) {
      (void)Send(Reply::kBareLineEnding);
      Log(false, "closing: bare LF/CR in command");
      next = Next::kClose;
    } else if (line->text.find('\0') != std::string::npos) {
      next = Send(Reply::kNulInCommand);
    } else {
      Command cmd = ParseCommand(line->text);
      next = Dispatch(cmd);
    }
    if (ParseCommand(line->text).verb == Verb::kAuth) {
      // The AUTH line may carry an initial response (credentials).
      WipeMemory(line->text.data(), line->text.size());
      conn_.WipeBuffers();
    }
    if (!next.ok()) return EndOnError(next.error());
    if (*next == Next::kClose) {
      (void)conn_.Flush();
      return;
    }
  }
}

Result<Session::Next> Session::Dispatch(const Command& cmd) {
  if (cmd.verb == Verb::kUnknown) return Send(Reply::kUnknownCommand);
  if (!conn_.IsTls() && !AllowedBeforeTls(cmd.verb)) return Send(Reply::kTlsRequired);
  switch (cmd.verb) {
    case Verb::kEhlo:
      return DoHello(cmd, /*extended=*/true);
    case Verb::kHelo:
      return DoHello(cmd, /*extended=*/false);
    case Verb::kStartTls:
      return DoStartTls(cmd);
    case Verb::kAuth:
      if (config_.internet_client) return Send(Reply::kNoAuthFromInternet);
      return DoAuth(cmd);
    case Verb::kMail:
      return DoMail(cmd);
    case Verb::kRcpt:
      return DoRcpt(cmd);
    case Verb::kData:
      return DoData(cmd);
    case Verb::kTorm:
      if (torm_ == nullptr || config_.internet_client) return Send(Reply::kUnknownCommand);
      return DoTorm(cmd);
    case Verb::kTkim:
      if (tkim_ == nullptr || config_.internet_client) return Send(Reply::kUnknownCommand);
      return DoTkim(cmd);
    case Verb::kVmat:
      if (!VmatServed()) return Send(Reply::kUnknownCommand);
      return DoVmatCommand(cmd);
    case Verb::kRset:
      if (!cmd.arg.empty()) return Send(Reply::kSyntaxError);
      ResetTransaction();
      return Send(Reply::kOk);
    case Verb::kNoop:
      return Send(Reply::kOk);
    case Verb::kQuit: {
      ResetTransaction();
      auto sent = Send(Reply::kBye);
      if (!sent.ok()) return sent;
      return Next::kClose;
    }
    case Verb::kVrfy:
      return Send(Reply::kCannotVrfy);
    case Verb::kExpn:
      return Send(Reply::kNotImplemented);
    case Verb::kHelp:
      return Send(Reply::kHelp);
    case Verb::kUnknown:
      break;
  }
  return Send(Reply::kUnknownCommand);
}

Result<Session::Next> Session::DoHello(const Command& cmd, bool extended) {
  if (cmd.arg.empty()) return Send(Reply::kSyntaxError);
  ResetTransaction();    // RFC 5321 4.1.4: EHLO/HELO implies RSET
  tkim_domain_.reset();  // a new client greeting: prove again
  tkim_unchecked_ = false;
  greeted_ = true;
  if (!extended) return Send(Reply::kHelo);
  ONIONMAIL_RETURN_IF_ERROR(conn_.Write(EhloReply(
      config_.hostname, config_.max_message_bytes, conn_.IsTls(),
      !config_.internet_client && torm_ != nullptr && conn_.TlsExporterBinding().ok(),
      !config_.internet_client && TkimOffered(), !config_.internet_client, VmatServed())));
  return Next::kContinue;
}

Result<Session::Next> Session::DoStartTls(const Command& cmd) {
  if (conn_.IsTls()) return Send(Reply::kAlreadyTls);
  if (!cmd.arg.empty()) return Send(Reply::kSyntaxError);
  ONIONMAIL_RETURN_IF_ERROR(conn_.Write(FormatReply(Reply::kReadyForTls, config_.hostname)));
  ONIONMAIL_RETURN_IF_ERROR(conn_.Flush());
  // StartTls() drops anything pipelined after STARTTLS (command injection).
  if (!conn_.StartTls().ok()) {
    Log(false, "closing: TLS handshake failed");
    return Next::kClose;
  }
  // RFC 3207 section 4.2: discard all knowledge obtained from the client.
  greeted_ = false;
  auth_user_.reset();
  auth_failures_ = 0;
  tkim_domain_.reset();
  tkim_unchecked_ = false;
  ResetTransaction();
  return Next::kContinue;
}

Result<Session::Next> Session::UnknownRecipient() {
  if (++unknown_recipients_ > config_.max_unknown_recipients) {
    (void)Send(Reply::kTooManyUnknownRcpts);
    Log(true, "closing: too many unknown recipients");
    return Next::kClose;
  }
  return Send(Reply::kUserUnknown);
}

Result<Session::Next> Session::AuthFailed(Reply reply, std::string_view what) {
  ++auth_failures_;
  Log(true, std::string(what) + " (" + std::to_string(auth_failures_) + " in this session)");
  if (config_.auth_failure_delay_ms > 0) {
    ONIONMAIL_RETURN_IF_ERROR(conn_.Flush());
    std::this_thread::sleep_for(std::chrono::milliseconds(config_.auth_failure_delay_ms));
  }
  if (auth_failures_ >= config_.max_auth_failures) {
    (void)Send(Reply::kTooManyAuthFailures);
    Log(false, "closing: too many authentication failures");
    return Next::kClose;
  }
  return Send(reply);
}

Result<Session::Next> Session::DoAuth(const Command& cmd) {
  if (!greeted_) return Send(Reply::kNeedHelo);
  if (auth_user_) return Send(Reply::kAlreadyAuthenticated);
  if (in_transaction_) return Send(Reply::kAuthInTransaction);
  auto outcome = RunAuthExchange(conn_, cmd.arg, config_.max_command_line, config_.domain);
  if (!outcome.ok()) return outcome.error();
  switch (outcome->kind) {
    case AuthOutcome::Kind::kReply:
      return Send(outcome->reply);
    case AuthOutcome::Kind::kBareLineEnding:
      (void)Send(Reply::kBareLineEnding);
      return Next::kClose;
    case AuthOutcome::Kind::kLineTooLong:
      (void)Send(Reply::kLineTooLong);
      return Next::kClose;
    case AuthOutcome::Kind::kFailed:
      return AuthFailed();
    case AuthOutcome::Kind::kCredentials:
      break;
  }
  Credentials& creds = outcome->credentials;
  if (!IsValidLocalPart(creds.user)) return AuthFailed();
  auto verified = backend_.VerifySmtpPassword(creds.user, creds.password);
  creds.password = SecretBytes();  // wiped now, not at scope end
  if (verified.ok()) {
    auth_user_ = creds.user;
    return Send(Reply::kAuthSuccess);
  }
  switch (verified.error().code) {
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kNotFound:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kPermissionDenied:
      return AuthFailed();
    default:
      Log(true, "authentication unavailable: " + std::string(ErrorCodeName(verified.error().code)));
      return Send(Reply::kAuthTemporaryFailure);
  }
}

Result<Session::Next> Session::DoMail(const Command& cmd) {
  if (!greeted_) return Send(Reply::kNeedHelo);
  if (in_transaction_) return Send(Reply::kNestedMail);
  auto parsed = ParseMailFrom(cmd.arg);
  if (auto* reply = std::get_if<Reply>(&parsed)) return Send(*reply);
  MailFrom& mail = std::get<MailFrom>(parsed);
  if (mail.size && *mail.size > config_.max_message_bytes) return Send(Reply::kMessageTooBig);
  if (mail.sender && AsciiEqualsIgnoreCase(mail.sender->domain, config_.domain)) {
    if (!auth_user_) return Send(Reply::kAuthRequired);
    if (AsciiLower(mail.sender->local) != *auth_user_) return Send(Reply::kSenderNotOwned);
  }
  if (auto refusal = TkimRefusal(mail.sender)) return Send(*refusal);
  in_transaction_ = true;
  local_sender_ = mail.sender && AsciiEqualsIgnoreCase(mail.sender->domain, config_.domain);
  reverse_path_ = mail.sender ? mail.sender->ToString() : std::string();
  declared_size_ = mail.size.value_or(0);
  body_8bitmime_ = mail.body_8bitmime;
  recipients_.clear();
  return Send(Reply::kSenderOk);
}

Result<Session::Next> Session::DoRcpt(const Command& cmd) {
  if (!in_transaction_) return Send(Reply::kNeedMail);
  auto parsed = ParseRcptTo(cmd.arg);
  if (auto* reply = std::get_if<Reply>(&parsed)) return Send(*reply);
  RcptTo& rcpt = std::get<RcptTo>(parsed);
  if (!rcpt.bare_postmaster && vmat_ != nullptr && !config_.exit_domain.empty() &&
      AsciiEqualsIgnoreCase(rcpt.recipient.domain, config_.exit_domain)) {
    return DoVmatRcpt(AsciiLower(rcpt.recipient.local));
  }
  if (config_.internet_client && !rcpt.bare_postmaster) return Send(Reply::kRelayDenied);
  if (!rcpt.bare_postmaster && !AsciiEqualsIgnoreCase(rcpt.recipient.domain, config_.domain)) {
    return DoRemoteRcpt(rcpt.recipient);
  }
  return DoLocalRcpt(AsciiLower(rcpt.recipient.local));
}

Result<Session::Next> Session::DoLocalRcpt(const std::string& local) {
  if (!IsValidLocalPart(local)) return UnknownRecipient();
  if (IsBotRecipient(local)) return DoBotRcpt();
  if (auto list = ListRecipient(local)) return DoListRcpt(*list);
  if (bot_request_ || list_name_) return Send(Reply::kOtherDestination);
  // Without a login, one server per transaction (session_vmat.cc).
  if (!auth_user_ && !remotes_.empty()) return Send(Reply::kOtherDestination);
  if (std::find(recipients_.begin(), recipients_.end(), local) != recipients_.end()) {
    return Send(Reply::kRecipientOk);  // duplicate: one delivery
  }
  if (recipients_.size() + RemoteRecipientCount() >= config_.max_recipients) {
    return Send(Reply::kTooManyRecipients);
  }
  auto checked = backend_.CheckRecipient(local, declared_size_, reverse_path_);
  if (!checked.ok()) {
    switch (checked.error().code) {
      case ErrorCode::kNotFound:
        return UnknownRecipient();
      case ErrorCode::kRefused:
        Log(false, "recipient refused: the sender is on its block list");
        return Send(Reply::kSenderBlocked);
      case ErrorCode::kSealed:
        return Send(Reply::kSealed);
      case ErrorCode::kResourceExhausted:
        return Send(Reply::kInsufficientStorage);
      case ErrorCode::kMailboxFull:
        return Send(Reply::kMailboxFull);
      default:
        return Send(Reply::kLocalError);
    }
  }
  recipients_.push_back(local);
  return Send(Reply::kRecipientOk);
}

std::string Session::ReceivedHeader(bool on_exit_leg) const {
  // On the exit leg the Internet sees it: the exit domain, no TKIM comment.
  std::string header = "Received: by " + (on_exit_leg ? config_.exit_domain : config_.hostname) +
                       " (onionmaild) with ";
  header += auth_user_ ? "ESMTPSA" : "ESMTPS";
  // A comment (RFC 5322 CFWS) names the proven server; no address, no IP.
  if (tkim_domain_ && !on_exit_leg) header += " (TKIM " + *tkim_domain_ + ")";
  // The clock cannot be outside mail::Rfc5322Date's years in practice; if
  // it were, the epoch is a valid date where a broken one is not.
  Result<std::string> date = mail::Rfc5322Date(std::time(nullptr));
  header += "; " + (date.ok() ? *date : std::string("Thu, 01 Jan 1970 00:00:00 +0000")) + "\r\n";
  return header;
}

std::string Session::TraceHeader() const {
  return "Return-Path: <" + reverse_path_ + ">\r\n" + ReceivedHeader();
}

Result<Session::Next> Session::DoData(const Command& cmd) {
  if (!in_transaction_) return Send(Reply::kNeedMail);
  if (recipients_.empty() && RemoteRecipientCount() == 0 && !bot_request_) {
    return Send(Reply::kNeedRcpt);
  }
  if (!cmd.arg.empty()) return Send(Reply::kSyntaxError);
  // A remote that took no recipient is dropped: the others get the message.
  std::erase_if(remotes_, [](const RemoteServer& r) { return r.recipients.empty(); });
  if (!remotes_.empty()) return DoRelayData();
  if (bot_request_) return DoBotData();
  ONIONMAIL_RETURN_IF_ERROR(conn_.Write(FormatReply(Reply::kStartData, config_.hostname)));
  ONIONMAIL_RETURN_IF_ERROR(conn_.Flush());

  mail::Envelope envelope{reverse_path_, recipients_};
  std::unique_ptr<mail::MessageWriter> writer;
  auto begun = backend_.BeginMessage(envelope);
  if (begun.ok()) {
    writer = std::move(*begun);
    std::string head = TraceHeader();
    if (list_name_) {
      head += list_held_ ? mail::ListHeldHeader(*list_name_, config_.domain)
                         : mail::ListHeaders(*list_name_, config_.domain);
    }
    if (writer == nullptr || !AppendString(*writer, head).ok()) writer.reset();
  } else {
    Log(true, "cannot begin message: " + std::string(ErrorCodeName(begun.error().code)));
  }

  DataReader reader(conn_, config_.max_text_line, config_.max_message_bytes,
                    config_.max_received_headers);
  if (list_name_) reader.DropField(mail::kListHeldField);  // ours only: never the poster's
  auto outcome = reader.Read(writer.get());
  if (!outcome.ok()) return outcome.error();  // writer dies uncommitted
  size_t recipient_count = recipients_.size();
  const char* kind = list_name_ ? "list message" : "message";
  ResetTransaction();

  Reply reply = Reply::kLocalError;
  switch (outcome->status) {
    case DataStatus::kBareLineEnding:
      writer.reset();
      (void)Send(Reply::kBareLineEnding);
      Log(false, "closing: bare LF/CR in message data, message discarded");
      return Next::kClose;
    case DataStatus::kLineTooLong:
      writer.reset();
      (void)Send(Reply::kLineTooLong);
      Log(false, "closing: overlong line in message data, message discarded");
      return Next::kClose;
    case DataStatus::kNulByte:
      reply = Reply::kNulInData;
      break;
    case DataStatus::kTooBig:
      reply = Reply::kMessageTooBig;
      break;
    case DataStatus::kTooManyHops:
      reply = Reply::kTooManyHops;
      Log(false, std::string(kind) + " refused: " + std::to_string(outcome->received_headers) +
                     " Received headers, a mail loop");
      break;
    case DataStatus::kWriteFailed:
      reply = Reply::kLocalError;
      break;
    case DataStatus::kOk:
      if (writer == nullptr) break;  // BeginMessage failed: 451
      if (auto committed = writer->Commit(); committed.ok()) {
        reply = Reply::kQueued;
        Log(false, std::string(kind) + " accepted: " + std::to_string(recipient_count) +
                       " recipient(s), " + std::to_string(outcome->message_bytes) + " bytes");
      } else {
        Log(true, "message commit failed: " + std::string(ErrorCodeName(committed.error().code)));
      }
      break;
  }
  writer.reset();
  return Send(reply);
}

Result<Session::Next> Session::DoTorm(const Command& cmd) {
  if (!greeted_) return Send(Reply::kNeedHelo);
  if (in_transaction_) return Send(Reply::kBadSequence);
  auto reply = [this](mail::TormOutcome outcome, std::string_view verb,
                      std::string_view payload) -> Result<Next> {
    Log(outcome != mail::TormOutcome::kOk,
        "TORM " + std::string(verb) + ": " + std::string(mail::TormOutcomeKeyword(outcome)));
    ONIONMAIL_RETURN_IF_ERROR(conn_.Write(FormatTormReply(outcome, payload)));
    return Next::kContinue;
  };
  auto binding = conn_.TlsExporterBinding();
  if (!binding.ok()) return reply(mail::TormOutcome::kNotOffered, "-", "");
  size_t space = cmd.arg.find(' ');
  std::string_view word = cmd.arg.substr(0, space);
  const TormVerbName* verb = nullptr;
  for (const TormVerbName& v : kTormVerbs) {
    if (word.size() == v.name.size() && AsciiEqualsIgnoreCase(word, v.name)) verb = &v;
  }
  if (verb == nullptr || space == std::string_view::npos) {
    return reply(mail::TormOutcome::kBadRequest, "-", "");
  }
  auto blob = DecodeBase64(cmd.arg.substr(space + 1));
  if (!blob.ok() || blob->empty() || blob->size() > mail::kMaxTormBlobBytes) {
    return reply(mail::TormOutcome::kBadRequest, verb->name, "");
  }
  auto answer = torm_->Handle(verb->verb, *binding, blob->Reveal(SecretAccess::Grant()));
  if (!answer.ok()) return reply(mail::TormOutcome::kTemporary, verb->name, "");
  if (answer->outcome != mail::TormOutcome::kOk) return reply(answer->outcome, verb->name, "");
  return reply(mail::TormOutcome::kOk, verb->name, EncodeBase64(answer->reply));
}

}  // namespace onionmail::smtp
