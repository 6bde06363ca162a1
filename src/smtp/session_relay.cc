// Session, the relayed half (session.h, "Relayed transaction"): remote RCPT,
// DATA streamed to a mail::RemoteTransaction, and how relay failures reach
// the client (mail/relay.h, "How a failed relay call maps to the client's
// reply").
#include <algorithm>
#include <optional>
#include <span>

#include "smtp/data_reader.h"
#include "smtp/session.h"

namespace onionmail::smtp {
namespace {

// A failed relay call's reply. `connecting`: the call was Begin().
Reply RelayFailureReply(ErrorCode code, bool connecting) {
  switch (code) {
    case ErrorCode::kResourceExhausted:
      return Reply::kRelayBusy;
    case ErrorCode::kInvalidArgument:
      return Reply::kSyntaxError;
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
      return connecting ? Reply::kRemoteUnreachable : Reply::kRemoteFailed;
    case ErrorCode::kFailedPrecondition:
      return connecting ? Reply::kRemoteNoTls : Reply::kRemoteFailed;
    case ErrorCode::kPermissionDenied:
      return connecting ? Reply::kRemoteNo8Bit : Reply::kRemoteFailed;
    default:
      return Reply::kRemoteFailed;
  }
}

// The log keyword of a relay failure reply (no remote text, no names).
std::string FailureKeyword(Reply reply) {
  switch (reply) {
    case Reply::kRelayBusy:
      return "busy";
    case Reply::kSyntaxError:
      return "invalid argument";
    case Reply::kRemoteUnreachable:
      return "unreachable";
    case Reply::kRemoteNoTls:
      return "no TLS 1.3";
    case Reply::kRemoteNo8Bit:
      return "no 8BITMIME";
    default:
      return "connection failed";
  }
}

bool IsSuccess(int code) { return code >= 200 && code <= 299; }

// "relayed", "relay refused" or "relay deferred" with the code sent back.
std::string OutcomeByClass(int code) {
  if (IsSuccess(code)) return "relayed: " + std::to_string(code);
  return (code >= 500 ? "relay refused: " : "relay deferred: ") + std::to_string(code);
}

// What DataReader produces goes to the remote transaction. After the first
// failed Append() nothing more is sent; the error is kept for the reply.
class RemoteWriter : public mail::MessageWriter {
 public:
  explicit RemoteWriter(mail::RemoteTransaction& remote) : remote_(remote) {}

  Result<void> Append(std::span<const uint8_t> bytes) override {
    if (error_) return *error_;
    auto appended = remote_.Append(bytes);
    if (!appended.ok()) error_ = appended.error();
    return appended;
  }
  // Never called: the remote's answer to End() is the commit.
  Result<void> Commit() override { return MakeError(ErrorCode::kInternal, "not a local write"); }

  const std::optional<Error>& error() const { return error_; }

 private:
  mail::RemoteTransaction& remote_;
  std::optional<Error> error_;
};

// Feeds the relayed bytes to the remote and, when there are local
// recipients, to their copy; the first failure of either stops both.
class TeeWriter : public mail::MessageWriter {
 public:
  TeeWriter(RemoteWriter& remote, mail::MessageWriter* local) : remote_(remote), local_(local) {}

  Result<void> Append(std::span<const uint8_t> bytes) override {
    if (local_ != nullptr && !local_failed_) {
      local_failed_ = !local_->Append(bytes).ok();
    }
    if (local_failed_) return MakeError(ErrorCode::kInternal, "local copy failed");
    return remote_.Append(bytes);
  }
  Result<void> Commit() override { return MakeError(ErrorCode::kInternal, "not a local write"); }

  bool local_failed() const { return local_failed_; }

 private:
  RemoteWriter& remote_;
  mail::MessageWriter* local_;
  bool local_failed_ = false;
};

std::span<const uint8_t> AsBytes(const std::string& text) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace

bool Session::MayRelayTo(std::string_view domain) const {
  return relay_ != nullptr && auth_user_.has_value() && local_sender_ &&
         mail::IsV3OnionDomain(domain);
}

Result<Session::Next> Session::RelayBroken(const Error& error) {
  ResetTransaction();  // the whole transaction: the remote one is gone
  Reply reply = RelayFailureReply(error.code, /*connecting=*/false);
  Log(true, "relay failed: " + FailureKeyword(reply));
  return Send(reply);
}

Result<Session::Next> Session::DoRemoteRcpt(const Address& recipient) {
  std::string domain = AsciiLower(recipient.domain);
  if (!MayRelayTo(domain)) return Send(Reply::kRelayDenied);
  if (bot_request_ || list_name_ || (remote_ != nullptr && domain != remote_domain_)) {
    return Send(Reply::kOtherDestination);
  }
  std::string forward_path = recipient.local + "@" + domain;
  if (std::find(remote_recipients_.begin(), remote_recipients_.end(), forward_path) !=
      remote_recipients_.end()) {
    return Send(Reply::kRecipientOk);  // duplicate: the remote has it already
  }
  if (recipients_.size() + remote_recipients_.size() >= config_.max_recipients) {
    return Send(Reply::kTooManyRecipients);
  }

  if (remote_ == nullptr) {
    auto begun =
        relay_->Begin(domain, *auth_user_ + "@" + config_.domain, {declared_size_, body_8bitmime_});
    if (!begun.ok()) {
      // No remote transaction: the next remote RCPT tries Begin() again.
      Reply reply = RelayFailureReply(begun.error().code, /*connecting=*/true);
      Log(true, "relay failed: " + FailureKeyword(reply));
      return Send(reply);
    }
    const mail::RelayReply& mail_reply = begun->mail_reply;
    if (IsSuccess(mail_reply.code) != (begun->transaction != nullptr)) {
      Log(true, "relay failed: connection failed");  // broken relay backend
      return Send(Reply::kRemoteFailed);
    }
    if (!IsSuccess(mail_reply.code)) {
      Log(false, OutcomeByClass(mail_reply.code) + " (MAIL)");
      return SendLine(FormatRemoteReply(RemoteStep::kMail, mail_reply));
    }
    remote_ = std::move(begun->transaction);
    remote_domain_ = domain;
  }

  auto answer = remote_->Rcpt(forward_path);
  if (!answer.ok()) return RelayBroken(answer.error());
  if (!IsUsableRemoteCode(RemoteStep::kRcpt, answer->code)) {
    return RelayBroken(MakeError(ErrorCode::kInternal, "odd reply"));  // 1xx, 3xx, not a code
  }
  if (IsSuccess(answer->code)) remote_recipients_.push_back(std::move(forward_path));
  return SendLine(FormatRemoteReply(RemoteStep::kRcpt, *answer));
}

Result<Session::Next> Session::DoRelayData() {
  // The local recipients' copy is opened first: if it cannot be, the remote
  // is never asked for DATA and keeps nothing.
  std::unique_ptr<mail::MessageWriter> local;
  if (!recipients_.empty()) {
    auto begun = backend_.BeginMessage(mail::Envelope{reverse_path_, recipients_});
    if (begun.ok()) local = std::move(*begun);
    std::string trace = TraceHeader();
    if (local == nullptr || !local->Append(AsBytes(trace)).ok()) {
      ResetTransaction();
      Log(true, "relay abandoned: cannot begin the local copy");
      return Send(Reply::kLocalError);
    }
  }
  auto answer = remote_->Data();
  if (!answer.ok()) return RelayBroken(answer.error());
  if (answer->code != 354) {
    if (!IsUsableRemoteCode(RemoteStep::kData, answer->code)) {
      return RelayBroken(MakeError(ErrorCode::kInternal, "odd reply"));
    }
    ResetTransaction();
    Log(false, OutcomeByClass(answer->code) + " (DATA)");
    return SendLine(FormatRemoteReply(RemoteStep::kData, *answer));
  }
  ONIONMAIL_RETURN_IF_ERROR(conn_.Write(FormatReply(Reply::kStartData, config_.hostname)));
  ONIONMAIL_RETURN_IF_ERROR(conn_.Flush());

  // The transaction leaves the session state now; it dies at the end of this
  // function, after End() only when the client's message was complete.
  std::unique_ptr<mail::RemoteTransaction> remote = std::move(remote_);
  const size_t local_count = recipients_.size();
  RemoteWriter remote_writer(*remote);
  std::string received = ReceivedHeader();  // no Return-Path: the remote adds one
  (void)remote_writer.Append(AsBytes(received));
  TeeWriter writer(remote_writer, local.get());
  DataReader reader(conn_, config_.max_text_line, config_.max_message_bytes);
  auto outcome = reader.Read(&writer);
  ResetTransaction();
  if (!outcome.ok()) {
    Log(false, "relay abandoned: client connection lost");
    return outcome.error();  // `remote` dies without End(), `local` uncommitted
  }

  Reply failure = Reply::kRemoteFailed;
  switch (outcome->status) {
    case DataStatus::kBareLineEnding:
      remote.reset();
      (void)Send(Reply::kBareLineEnding);
      Log(false, "closing: bare LF/CR in message data, relayed message discarded");
      return Next::kClose;
    case DataStatus::kLineTooLong:
      remote.reset();
      (void)Send(Reply::kLineTooLong);
      Log(false, "closing: overlong line in message data, relayed message discarded");
      return Next::kClose;
    case DataStatus::kNulByte:
      Log(false, "relay abandoned: NUL in message data");
      return Send(Reply::kNulInData);
    case DataStatus::kTooBig:
      Log(false, "relay abandoned: message too big");
      return Send(Reply::kMessageTooBig);
    case DataStatus::kWriteFailed:
      if (writer.local_failed()) {
        Log(true, "relay abandoned: the local copy failed");
        return Send(Reply::kLocalError);
      }
      failure = RelayFailureReply(
          remote_writer.error() ? remote_writer.error()->code : ErrorCode::kInternal,
          /*connecting=*/false);
      Log(true, "relay failed: " + FailureKeyword(failure));
      return Send(failure);
    case DataStatus::kOk:
      break;
  }
  if (remote_writer.error()) {  // the Received header did not go through
    failure = RelayFailureReply(remote_writer.error()->code, /*connecting=*/false);
    Log(true, "relay failed: " + FailureKeyword(failure));
    return Send(failure);
  }
  auto end = remote->End();
  remote.reset();
  if (!end.ok()) {
    failure = RelayFailureReply(end.error().code, /*connecting=*/false);
    Log(true, "relay failed: " + FailureKeyword(failure));
    return Send(failure);
  }
  if (!IsUsableRemoteCode(RemoteStep::kEnd, end->code)) {
    Log(true, "relay failed: connection failed");
    return Send(Reply::kRemoteFailed);
  }
  std::string outcome_text =
      OutcomeByClass(end->code) + ", " + std::to_string(outcome->message_bytes) + " bytes";
  if (local != nullptr) {
    // All or nothing: the local copy is kept only when the remote took the
    // message, so one reply is true for every recipient.
    if (!IsSuccess(end->code)) {
      Log(true, outcome_text + "; the local copy is dropped");
      return SendLine(FormatRemoteReply(RemoteStep::kEnd, *end));
    }
    if (auto committed = local->Commit(); !committed.ok()) {
      // The remote has it: a retry by the client sends it there twice,
      // which is better than a 250 for a local copy that is not on disk.
      Log(true, outcome_text + ", but the local copy failed: " +
                    std::string(ErrorCodeName(committed.error().code)));
      return Send(Reply::kLocalError);
    }
    outcome_text += ", and " + std::to_string(local_count) + " local recipient(s)";
  }
  Log(!IsSuccess(end->code), outcome_text);
  return SendLine(FormatRemoteReply(RemoteStep::kEnd, *end));
}

}  // namespace onionmail::smtp
