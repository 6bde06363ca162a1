// Session, the DATA half of a relayed transaction (session.h, "Local and
// remote recipients together, at DATA"): the message streamed to the local
// copy and to every remote server that took a recipient, the final dots
// (all sent, then the answers read in the order of the remotes' first RCPT),
// then one answer to the client and,
// when only some remotes took the message, a delivery status report in the
// sender's own mailbox (mail/failure_report.h).
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mail/failure_report.h"
#include "mail/message_fields.h"
#include "smtp/data_reader.h"
#include "smtp/relay_outcome.h"
#include "smtp/session.h"

namespace onionmail::smtp {
namespace {

// The first octets of the relayed message kept for the report's copy of the
// header block (mail::ComposeFailureReport cuts it at a line boundary).
constexpr size_t kCapturedHeaderBytes = 16 * 1024;

std::span<const uint8_t> AsBytes(const std::string& text) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// How one remote server's part of the message goes.
struct Leg {
  bool live = false;                      // answered 354, no call failed since
  std::optional<Error> error;             // the failed relay call
  std::optional<mail::RelayReply> reply;  // its refusal, or its answer to the final dot
  RemoteStep step = RemoteStep::kData;    // what `reply` answers
  bool dot_sent = false;                  // End() was called

  bool Took() const { return reply && step == RemoteStep::kEnd && IsSuccessCode(reply->code); }
  void Fail(Error e) {
    live = false;
    error = std::move(e);
  }
};

// The client's answer when `leg` is the failure the client is told of, and
// the log line (no names, no remote text) with whether it is a warning.
struct Answer {
  std::string line;
  std::string log;
  bool warning = false;
};

Answer FailureAnswer(const Leg& leg, const std::string& hostname, uint64_t bytes) {
  if (leg.error) {
    Reply reply = RelayFailureReply(leg.error->code, /*connecting=*/false);
    return {FormatReply(reply, hostname), "relay failed: " + FailureKeyword(reply), true};
  }
  std::string log = OutcomeByClass(leg.reply->code);
  log += leg.step == RemoteStep::kData ? " (DATA)" : ", " + std::to_string(bytes) + " bytes";
  return {FormatRemoteReply(leg.step, *leg.reply), log, leg.step == RemoteStep::kEnd};
}

// Feeds the message to the local copy (when there are local recipients) and
// to every live remote. A remote whose Append() fails is failed alone; the
// local copy failing, or no remote left, fails the whole write.
class FanOutWriter : public mail::MessageWriter {
 public:
  FanOutWriter(std::vector<RemoteServer>& servers, std::vector<Leg>& legs,
               mail::MessageWriter* local)
      : servers_(servers), legs_(legs), local_(local) {}

  // Bytes for the remotes only (the Received header).
  void AppendToRemotes(std::span<const uint8_t> bytes) {
    if (headers_.size() < kCapturedHeaderBytes) {
      size_t take = std::min(bytes.size(), kCapturedHeaderBytes - headers_.size());
      headers_.append(reinterpret_cast<const char*>(bytes.data()), take);
    }
    for (size_t i = 0; i < legs_.size(); ++i) {
      if (!legs_[i].live) continue;
      auto appended = servers_[i].transaction->Append(bytes);
      if (!appended.ok()) legs_[i].Fail(appended.error());
    }
  }

  Result<void> Append(std::span<const uint8_t> bytes) override {
    if (local_ != nullptr && !local_failed_) local_failed_ = !local_->Append(bytes).ok();
    if (local_failed_) return MakeError(ErrorCode::kInternal, "local copy failed");
    AppendToRemotes(bytes);
    for (const Leg& leg : legs_) {
      if (leg.live) return Ok();
    }
    return MakeError(ErrorCode::kUnavailable, "no remote server left");
  }
  // Never called: the remotes' answers to End() are the commit.
  Result<void> Commit() override { return MakeError(ErrorCode::kInternal, "not a local write"); }

  bool local_failed() const { return local_failed_; }
  // The first kCapturedHeaderBytes of the message, up to the last complete
  // line when it was cut there.
  std::string headers() const {
    if (headers_.size() < kCapturedHeaderBytes) return headers_;
    size_t last = headers_.rfind('\n');
    return last == std::string::npos ? std::string() : headers_.substr(0, last + 1);
  }

 private:
  std::vector<RemoteServer>& servers_;
  std::vector<Leg>& legs_;
  mail::MessageWriter* local_;
  bool local_failed_ = false;
  std::string headers_;
};

// The recipients of the failed remotes, for the report.
std::vector<mail::FailedDelivery> FailedDeliveries(const std::vector<RemoteServer>& servers,
                                                   const std::vector<Leg>& legs) {
  std::vector<mail::FailedDelivery> failed;
  for (size_t i = 0; i < legs.size(); ++i) {
    const Leg& leg = legs[i];
    if (leg.Took()) continue;
    mail::FailedDelivery delivery;
    delivery.domain = servers[i].domain;
    delivery.recipients = servers[i].recipients;
    if (leg.reply) {
      delivery.code = leg.reply->code;
      delivery.enhanced = leg.reply->enhanced;
    }
    delivery.may_have_arrived = leg.error.has_value() && leg.dot_sent;
    failed.push_back(std::move(delivery));
  }
  return failed;
}

}  // namespace

Result<Session::Next> Session::DoRelayData() {
  // The local recipients' copy is opened first: if it cannot be, no remote
  // is asked for DATA and none keeps anything.
  std::unique_ptr<mail::MessageWriter> local;
  if (!recipients_.empty()) {
    auto begun = backend_.BeginMessage(mail::Envelope{reverse_path_, recipients_});
    if (begun.ok()) local = std::move(*begun);
    std::string trace = TraceHeader();
    if (list_name_) trace += mail::ListHeaders(*list_name_, config_.domain);
    if (local == nullptr || !local->Append(AsBytes(trace)).ok()) {
      ResetTransaction();
      Log(true, "relay abandoned: cannot begin the local copy");
      return Send(Reply::kLocalError);
    }
  }
  // The remote transactions leave the session state now; those not ended
  // die at the end of this function without a final dot.
  std::vector<RemoteServer> servers = std::move(remotes_);
  const size_t local_count = recipients_.size();
  const std::optional<std::string> user = auth_user_;  // none: a remote member's list post
  std::string received = ReceivedHeader();             // no Return-Path: each remote adds one
  if (list_name_) received += mail::ListHeaders(*list_name_, config_.domain);
  ResetTransaction();

  std::vector<Leg> legs(servers.size());
  bool any_live = false;
  for (size_t i = 0; i < servers.size(); ++i) {
    auto answer = servers[i].transaction->Data();
    if (!answer.ok()) {
      legs[i].Fail(answer.error());
    } else if (answer->code == 354) {
      legs[i].live = any_live = true;
    } else if (!IsUsableRemoteCode(RemoteStep::kData, answer->code)) {
      legs[i].Fail(MakeError(ErrorCode::kInternal, "odd reply"));
    } else {
      legs[i].reply = *answer;
    }
  }
  if (!any_live) {  // nobody will have it: the first failure is the answer
    Answer answer = FailureAnswer(legs[0], config_.hostname, 0);
    Log(answer.warning, answer.log);
    return SendLine(answer.line);
  }
  ONIONMAIL_RETURN_IF_ERROR(conn_.Write(FormatReply(Reply::kStartData, config_.hostname)));
  ONIONMAIL_RETURN_IF_ERROR(conn_.Flush());

  FanOutWriter writer(servers, legs, local.get());
  writer.AppendToRemotes(AsBytes(received));
  DataReader reader(conn_, config_.max_text_line, config_.max_message_bytes,
                    config_.max_received_headers);
  if (list_name_) reader.DropField(mail::kListHeldField);  // ours only: never the poster's
  auto outcome = reader.Read(&writer);
  if (!outcome.ok()) {
    Log(false, "relay abandoned: client connection lost");
    return outcome.error();  // the remotes die without End(), `local` uncommitted
  }
  switch (outcome->status) {
    case DataStatus::kBareLineEnding:
      servers.clear();
      (void)Send(Reply::kBareLineEnding);
      Log(false, "closing: bare LF/CR in message data, relayed message discarded");
      return Next::kClose;
    case DataStatus::kLineTooLong:
      servers.clear();
      (void)Send(Reply::kLineTooLong);
      Log(false, "closing: overlong line in message data, relayed message discarded");
      return Next::kClose;
    case DataStatus::kNulByte:
      Log(false, "relay abandoned: NUL in message data");
      return Send(Reply::kNulInData);
    case DataStatus::kTooBig:
      Log(false, "relay abandoned: message too big");
      return Send(Reply::kMessageTooBig);
    case DataStatus::kTooManyHops:
      Log(false, "relay abandoned: " + std::to_string(outcome->received_headers) +
                     " Received headers, a mail loop");
      return Send(Reply::kTooManyHops);
    case DataStatus::kWriteFailed:
      if (writer.local_failed()) {
        Log(true, "relay abandoned: the local copy failed");
        return Send(Reply::kLocalError);
      }
      break;  // no remote is live: the failures are reported below
    case DataStatus::kOk:
      break;
  }

  // Every remote gets its final dot before any answer is awaited, so none
  // waits for its dot while another one answers.
  for (size_t i = 0; i < legs.size(); ++i) {
    if (!legs[i].live) continue;
    auto finished = servers[i].transaction->Finish();
    if (!finished.ok()) legs[i].Fail(finished.error());  // the dot was not sent
  }
  size_t took = 0;
  const Leg* first_took = nullptr;
  const Leg* first_failed = nullptr;
  for (size_t i = 0; i < legs.size(); ++i) {
    Leg& leg = legs[i];
    if (leg.live) {
      leg.live = false;
      leg.dot_sent = true;
      auto end = servers[i].transaction->End();
      if (!end.ok()) {
        leg.error = end.error();
      } else if (!IsUsableRemoteCode(RemoteStep::kEnd, end->code)) {
        leg.error = MakeError(ErrorCode::kInternal, "odd reply");
      } else {
        leg.reply = *end;
        leg.step = RemoteStep::kEnd;
      }
      servers[i].transaction.reset();
    }
    if (leg.Took()) {
      ++took;
      if (first_took == nullptr) first_took = &leg;
    } else if (first_failed == nullptr) {
      first_failed = &leg;
    }
  }
  const uint64_t bytes = outcome->message_bytes;
  if (took == 0) {
    Answer answer = FailureAnswer(*first_failed, config_.hostname, bytes);
    if (local != nullptr) answer.log += "; the local copy is dropped";
    Log(answer.warning, answer.log);
    return SendLine(answer.line);
  }

  std::string log = servers.size() == 1 ? OutcomeByClass(first_took->reply->code)
                                        : "relayed to " + std::to_string(took) + " of " +
                                              std::to_string(servers.size()) + " remote servers";
  log += ", " + std::to_string(bytes) + " bytes";
  if (local != nullptr) {
    if (auto committed = local->Commit(); !committed.ok()) {
      // A remote has it: a retry by the client sends it there twice, which
      // is better than a 250 for a local copy that is not on disk.
      Log(true, log + ", but the local copy failed: " +
                    std::string(ErrorCodeName(committed.error().code)));
      return Send(Reply::kLocalError);
    }
    log += ", and " + std::to_string(local_count) + " local recipient(s)";
  }
  if (first_failed == nullptr) {
    Log(false, log);
    if (servers.size() == 1)
      return SendLine(FormatRemoteReply(RemoteStep::kEnd, *first_took->reply));
    return Send(Reply::kRelayedToAll);
  }

  // Some remotes took it: the sender learns of the others from a report,
  // when it has a mailbox here.
  std::vector<mail::FailedDelivery> failed = FailedDeliveries(servers, legs);
  if (!user) {
    Log(true, log + "; " + std::to_string(failed.size()) +
                  " remote server(s) failed, no report: the sender is at another server");
    return Send(Reply::kListRelayedPartly);
  }
  Result<void> stored = MakeError(ErrorCode::kInternal, "no report");
  Result<std::string> date = mail::Rfc5322Date(std::time(nullptr));
  Result<std::string> id = mail::NewMessageIdLocal();
  if (date.ok() && id.ok()) {
    mail::FailureReportParts parts;
    parts.domain = config_.domain;
    parts.user = *user;
    parts.date = *date;
    parts.message_id_local = *id;
    const std::string headers = writer.headers();
    parts.original_headers = headers;
    parts.failed = failed;
    parts.delivered_servers = took;
    parts.local_recipients = local != nullptr ? local_count : 0;
    stored = DeliverToSender(mail::ComposeFailureReport(parts));
  }
  if (!stored.ok()) {
    Log(true, log + "; the report on " + std::to_string(failed.size()) +
                  " failed remote server(s) could not be stored: " +
                  std::string(ErrorCodeName(stored.error().code)));
    return Send(Reply::kRelayedPartlyNoReport);
  }
  Log(true, log + "; report on " + std::to_string(failed.size()) +
                " failed remote server(s) stored for the sender");
  return Send(Reply::kRelayedPartly);
}

}  // namespace onionmail::smtp
