// The SMTP front end's side of the relay role; see relay_backend.h.
#include "server/relay_backend.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>

#include "base/secret_bytes.h"

namespace onionmail::server {
namespace {

Error Unavailable(const char* what) {
  return MakeError(ErrorCode::kUnavailable, std::string("relay role: ") + what);
}

// Reads the relay role's answer. A reply the relay role queued before it
// closed its end (the refusal of a session over its limit) is still read:
// Linux reports the reset of a socket closed with unread data once, before
// the datagrams already queued.
Result<ipc::RelayReply> ReadReply(ipc::Channel& channel, std::chrono::milliseconds wait) {
  auto m = channel.Receive(wait);
  if (!m.ok() && m.error().code == ErrorCode::kUnavailable) {
    m = channel.Receive(std::chrono::milliseconds(0));
  }
  if (!m.ok()) {
    return Unavailable(m.error().code == ErrorCode::kDeadlineExceeded ? "no answer in time"
                                                                      : "gone");
  }
  if (auto* r = std::get_if<ipc::RelayReply>(&*m)) return std::move(*r);
  return Unavailable("unexpected reply");
}

mail::RelayReply ToMail(ipc::RelayReply r) { return {r.code, std::move(r.enhanced)}; }

class RelayTransaction : public mail::RemoteTransaction {
 public:
  RelayTransaction(ipc::Channel channel, const RelayWaits& waits)
      : channel_(std::move(channel)), waits_(waits) {}

  Result<mail::RelayReply> Rcpt(std::string_view forward_path) override {
    if (in_data_) return Over("RCPT after DATA");
    return Call(ipc::RelayRcptRequest{std::string(forward_path)}, waits_.command, "RCPT");
  }

  Result<mail::RelayReply> Data() override {
    if (in_data_) return Over("DATA twice");
    auto r = Call(ipc::RelayDataRequest{}, waits_.command, "DATA");
    if (r.ok() && r->code == 354) {
      in_data_ = true;
    } else if (r.ok()) {
      channel_.reset();  // the relay role has closed the connection
    }
    return r;
  }

  Result<void> Append(std::span<const uint8_t> bytes) override {
    if (!channel_ || !in_data_ || finished_)
      return Over("message data without a 354 or after the end");
    ipc::RelayAppendRequest req;
    while (!bytes.empty()) {
      size_t n = std::min(bytes.size(), ipc::kMaxChunkBytes);
      req.data.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      Result<void> sent = channel_->Send(req);
      WipeMemory(req.data.data(), req.data.size());  // mail in clear
      if (!sent.ok()) {
        channel_.reset();
        return Unavailable("gone");
      }
      bytes = bytes.subspan(n);
    }
    return Ok();
  }

  Result<void> Finish() override {
    if (!in_data_ || finished_) return Over("end of data without a 354, or twice");
    ONIONMAIL_RETURN_IF_ERROR(Send(ipc::RelayEndRequest{}, "end of data"));
    finished_ = true;
    return Ok();
  }

  Result<mail::RelayReply> End() override {
    if (!in_data_) return Over("end of data without a 354");
    auto r = finished_ ? Await(waits_.end, "end of data")
                       : Call(ipc::RelayEndRequest{}, waits_.end, "end of data");
    channel_.reset();  // the connection is closed after the final dot's answer
    in_data_ = false;
    return r;
  }

 private:
  Result<void> Send(const ipc::Message& request, const char* step) {
    if (!channel_) return Over(step);
    auto sent = channel_->Send(request);
    if (!sent.ok()) {
      channel_.reset();
      if (sent.error().code == ErrorCode::kInvalidArgument) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string("relay: ") + step + ": path out of bounds");
      }
      return Unavailable("gone");
    }
    return Ok();
  }

  Result<mail::RelayReply> Call(const ipc::Message& request, std::chrono::milliseconds wait,
                                const char* step) {
    ONIONMAIL_RETURN_IF_ERROR(Send(request, step));
    return Await(wait, step);
  }

  Result<mail::RelayReply> Await(std::chrono::milliseconds wait, const char* step) {
    if (!channel_) return Over(step);
    auto reply = ReadReply(*channel_, wait);
    if (!reply.ok() || reply->status != ipc::Status::kOk) channel_.reset();
    if (!reply.ok()) return reply.error();
    ONIONMAIL_RETURN_IF_ERROR(
        ipc::StatusToResult(reply->status, (std::string("relay: ") + step + " failed").c_str()));
    return ToMail(std::move(*reply));
  }

  static Error Over(const char* step) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     std::string("relay: ") + step + ": the transaction is over");
  }

  std::optional<ipc::Channel> channel_;  // reset once the transaction is over
  const RelayWaits waits_;
  bool in_data_ = false;   // after a 354, until End()
  bool finished_ = false;  // Finish() sent the final dot
};

}  // namespace

Result<ipc::Channel> RemoteRelayBackend::OpenSession(const ipc::Message& first,
                                                     const char* out_of_bounds) {
  auto pair = ipc::Channel::CreatePair();
  if (!pair.ok()) return Unavailable("cannot make a session channel");
  ipc::Channel session = std::move(pair->first);
  // Queued before the relay role sees the channel; bounds are checked here.
  auto queued = session.Send(first);
  if (!queued.ok()) {
    if (queued.error().code == ErrorCode::kInvalidArgument) {
      return MakeError(ErrorCode::kInvalidArgument, out_of_bounds);
    }
    return Unavailable("cannot queue the request");
  }
  ipc::Channel relay_end = std::move(pair->second);  // closed here: the relay role has its copy
  std::lock_guard<std::mutex> lock(mu_);
  if (!control_.SendFd(ipc::NewSession{}, relay_end.fd()).ok()) {
    return Unavailable("control channel gone");
  }
  return session;
}

Result<mail::RelayBegin> RemoteRelayBackend::Begin(std::string_view domain,
                                                   std::string_view reverse_path,
                                                   const mail::MailParameters& params) {
  auto opened = OpenSession(ipc::RelayBeginRequest{std::string(domain), std::string(reverse_path),
                                                   params.declared_size, params.body_8bitmime},
                            "relay: domain or path out of bounds");
  if (!opened.ok()) return opened.error();
  ipc::Channel session = std::move(*opened);
  auto reply = ReadReply(session, waits_.begin);
  if (!reply.ok()) return reply.error();
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(reply->status, "relay: MAIL failed"));
  mail::RelayBegin out;
  const bool accepted = reply->code / 100 == 2;
  out.mail_reply = ToMail(std::move(*reply));
  if (accepted) out.transaction = std::make_unique<RelayTransaction>(std::move(session), waits_);
  return out;
}

std::vector<mail::RelayOpened> RemoteRelayBackend::OpenAll(
    std::span<const mail::RelayOpening> servers, std::string_view reverse_path,
    const mail::MailParameters& params) {
  std::vector<std::optional<mail::RelayOpened>> slots(servers.size());
  std::vector<std::thread> threads;
  threads.reserve(servers.size());
  for (size_t i = 1; i < servers.size(); ++i) {
    threads.emplace_back(
        [&, i] { slots[i].emplace(mail::OpenOne(*this, servers[i], reverse_path, params)); });
  }
  if (!servers.empty()) slots[0].emplace(mail::OpenOne(*this, servers[0], reverse_path, params));
  for (std::thread& thread : threads) thread.join();
  std::vector<mail::RelayOpened> opened;
  opened.reserve(servers.size());
  for (std::optional<mail::RelayOpened>& slot : slots) opened.push_back(std::move(*slot));
  return opened;
}

Result<RemoteRelayBackend::TkimProven> RemoteRelayBackend::CheckTkim(
    const mail::ChannelBinding& cb, std::span<const uint8_t> proof) {
  ipc::TkimCheckRequest request;
  request.channel_binding = cb;
  request.proof.assign(proof.begin(), proof.end());
  auto opened = OpenSession(request, "tkim: proof out of bounds");
  if (!opened.ok()) return opened.error();
  auto m = OneAnswer(*opened, "tkim: relay role busy");
  if (!m.ok()) return m.error();
  auto* reply = std::get_if<ipc::TkimCheckReply>(&*m);
  if (reply == nullptr) return Unavailable("unexpected reply");
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(reply->status, "tkim: proof refused"));
  return TkimProven{std::move(reply->sender_domain), std::move(reply->vouch)};
}

Result<std::string> RemoteRelayBackend::AskGateway(mail::VmatOwnOp op, std::string_view user,
                                                   std::string_view alias) {
  auto opened = OpenSession(
      ipc::RelayVmatRequest{static_cast<uint16_t>(op), std::string(user), std::string(alias)},
      "vmat: user or alias out of bounds");
  if (!opened.ok()) return opened.error();
  auto m = OneAnswer(*opened, "vmat: relay role busy");
  if (!m.ok()) return m.error();
  auto* reply = std::get_if<ipc::VmatLookupReply>(&*m);
  if (reply == nullptr) return Unavailable("unexpected reply");
  ONIONMAIL_RETURN_IF_ERROR(ipc::StatusToResult(reply->status, "vmat: the gateway refused"));
  const size_t at = reply->target.find('@');
  if (at == std::string::npos || at + 1 == reply->target.size() ||
      !mail::ValidVmatAlias(std::string_view(reply->target).substr(0, at))) {
    return Unavailable("malformed address");
  }
  return std::move(reply->target);
}

Result<ipc::Message> RemoteRelayBackend::OneAnswer(ipc::Channel& session, const char* busy) {
  auto m = session.Receive(waits_.begin);
  if (!m.ok() && m.error().code == ErrorCode::kUnavailable) {
    m = session.Receive(std::chrono::milliseconds(0));  // a refusal queued before the close
  }
  if (!m.ok()) {
    return Unavailable(m.error().code == ErrorCode::kDeadlineExceeded ? "no answer in time"
                                                                      : "gone");
  }
  if (auto* reply = std::get_if<ipc::RelayReply>(&*m)) {  // over the relay role's limit
    if (reply->status == ipc::Status::kResourceExhausted) {
      return MakeError(ErrorCode::kResourceExhausted, busy);
    }
    return Unavailable("unexpected reply");
  }
  return m;
}

}  // namespace onionmail::server
