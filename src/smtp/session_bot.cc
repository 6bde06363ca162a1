// Session, the server@ half (session.h, "server@"; docs/PROTOCOL.md,
// "server@: the server's command bot"): who may write to the bot, reading a
// request, and storing the bot's answer in the user's own mailbox.
#include <algorithm>
#include <span>
#include <string>

#include "base/secret_bytes.h"
#include "smtp/data_reader.h"
#include "smtp/session.h"

namespace onionmail::smtp {
namespace {

// Keeps the request in memory; DataReader's limit bounds it.
class RequestBuffer : public mail::MessageWriter {
 public:
  Result<void> Append(std::span<const uint8_t> bytes) override {
    text_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return {};
  }
  Result<void> Commit() override { return MakeError(ErrorCode::kInternal, "not a store write"); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace

bool Session::IsBotRecipient(std::string_view local_part) const {
  return bot_ != nullptr && local_part == mail::kBotLocalPart;
}

Result<Session::Next> Session::DoBotRcpt() {
  // Only a logged-in user writing as themselves: the answer goes to their
  // own mailbox, so the bot can never be made to write to someone else.
  // A list member at another server may ask to leave a list: the answer is
  // the reply to its DATA, never a message.
  std::optional<std::string> remote_member;
  if (!auth_user_ || !local_sender_) {
    remote_member = RemoteMemberSender();
    if (!remote_member) return Send(Reply::kBotUsersOnly);
  }
  if (!recipients_.empty() || !remotes_.empty() || list_name_) {
    return Send(Reply::kOtherDestination);
  }
  bot_request_ = true;
  bot_remote_member_ = std::move(remote_member);
  return Send(Reply::kRecipientOk);
}

Result<void> Session::DeliverToSender(const std::string& message) {
  mail::Envelope envelope{std::string(), {*auth_user_}};
  auto begun = backend_.BeginMessage(envelope);
  if (!begun.ok()) return begun.error();
  std::unique_ptr<mail::MessageWriter> writer = std::move(*begun);
  if (writer == nullptr) return MakeError(ErrorCode::kInternal, "no writer");
  const std::string trace = "Return-Path: <>\r\n";
  for (const std::string* part : {&trace, &message}) {
    ONIONMAIL_RETURN_IF_ERROR(writer->Append(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(part->data()), part->size())));
  }
  return writer->Commit();
}

Result<Session::Next> Session::DoBotData() {
  ONIONMAIL_RETURN_IF_ERROR(conn_.Write(FormatReply(Reply::kStartData, config_.hostname)));
  ONIONMAIL_RETURN_IF_ERROR(conn_.Flush());
  RequestBuffer request;
  DataReader reader(conn_, config_.max_text_line,
                    std::min<uint64_t>(config_.max_message_bytes, mail::kMaxBotRequestBytes),
                    config_.max_received_headers);
  auto outcome = reader.Read(&request);
  if (!outcome.ok()) return outcome.error();
  const std::optional<std::string> remote_member = bot_remote_member_;
  const std::string user = auth_user_.value_or("");
  ResetTransaction();
  switch (outcome->status) {
    case DataStatus::kBareLineEnding:
      (void)Send(Reply::kBareLineEnding);
      Log(false, "closing: bare LF/CR in message data, server@ request discarded");
      return Next::kClose;
    case DataStatus::kLineTooLong:
      (void)Send(Reply::kLineTooLong);
      Log(false, "closing: overlong line in message data, server@ request discarded");
      return Next::kClose;
    case DataStatus::kNulByte:
      return Send(Reply::kNulInData);
    case DataStatus::kTooBig:
      Log(false, "server@: request too big");
      return Send(Reply::kMessageTooBig);
    case DataStatus::kTooManyHops:
      Log(false, "server@: request refused, a mail loop (" +
                     std::to_string(outcome->received_headers) + " Received headers)");
      return Send(Reply::kTooManyHops);
    case DataStatus::kWriteFailed:
      return Send(Reply::kLocalError);
    case DataStatus::kOk:
      break;
  }
  if (remote_member) return DoRemoteBotData(*remote_member, request.text());
  auto answer = bot_->Answer(user, request.text());
  if (!answer.ok()) {
    Log(true, "server@: no answer: " + std::string(ErrorCodeName(answer.error().code)));
    return Send(Reply::kLocalError);
  }
  if (answer->message.empty()) {
    Log(false, "server@: " + answer->keyword + ", not answered");
    return Send(Reply::kBotIgnored);
  }
  auto delivered = DeliverToSender(answer->message);
  // The answer may hold secrets (VOUCHER): it is in the mailbox, encrypted, now.
  WipeMemory(answer->message.data(), answer->message.size());
  if (!delivered.ok()) {
    Log(true, "server@: " + answer->keyword +
                  ", reply not stored: " + std::string(ErrorCodeName(delivered.error().code)));
    return Send(Reply::kLocalError);
  }
  Log(false, "server@: " + answer->keyword + " answered");
  return Send(Reply::kBotAnswered);
}

Result<Session::Next> Session::DoRemoteBotData(const std::string& member,
                                               std::string_view request) {
  auto answer = bot_->AnswerRemote(member, request);
  if (!answer.ok()) {
    Log(true, "server@: a member elsewhere: no answer: " +
                  std::string(ErrorCodeName(answer.error().code)));
    return Send(Reply::kLocalError);
  }
  Log(false, "server@: a member elsewhere: " + answer->keyword);
  switch (answer->outcome) {
    case mail::RemoteBotOutcome::kLeft:
      return Send(Reply::kBotListLeft);
    case mail::RemoteBotOutcome::kIgnored:
      return Send(Reply::kBotIgnored);
    case mail::RemoteBotOutcome::kRefused:
      break;
  }
  return Send(Reply::kBotRemoteLeaveOnly);
}

}  // namespace onionmail::smtp
