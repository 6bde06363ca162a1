// The relay role's session server; see relay_session.h.
#include "server/relay_session.h"

#include <openssl/err.h>

#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "base/thread_reuser.h"
#include "mail/relay.h"
#include "peer/mail_client.h"
#include "server/relay_tkim.h"
#include "server/relay_vmat.h"

namespace onionmail::server {
namespace {

constexpr char kLog[] = "relay";

ipc::RelayReply Failure(ErrorCode code) { return {ipc::StatusFromError(code), 0, ""}; }

ipc::RelayReply ToReply(const Result<peer::RemoteReply>& r) {
  if (!r.ok()) return Failure(r.error().code);
  return {ipc::Status::kOk, static_cast<uint16_t>(r->code), r->enhanced};
}

// "refused 550 at RCPT", "temporary 451 at DATA", "failed: MAIL: ...": the
// outcome of a step whose reply ends the transaction. Error messages of
// peer::MailClient name the step and never an address or the remote's name.
std::string Outcome(const Result<peer::RemoteReply>& r, const char* step) {
  if (!r.ok()) return "failed: " + r.error().message;
  const char* kind = r->code / 100 == 5 ? "refused " : "temporary ";
  return kind + std::to_string(r->code) + " at " + step;
}

// One session channel: at most one remote connection at a time.
class RelaySession {
 public:
  RelaySession(ipc::Channel& channel, const RelayOptions& options)
      : channel_(channel), options_(options) {}
  ~RelaySession() {
    if (client_) Close("abandoned by the front end");
  }

  void Run() {
    for (;;) {
      auto msg = channel_.Receive(options_.session_idle_timeout);
      if (!msg.ok()) {
        if (msg.error().code != ErrorCode::kUnavailable) {
          log::Warning(kLog, "ending a session: " + msg.error().message);
        }
        return;
      }
      if (!Handle(*msg)) return;
    }
  }

 private:
  enum class Phase { kIdle, kMail, kData };  // kMail: after a 2xx to MAIL

  // Each returns false when the session must end.
  bool Handle(ipc::Message& msg) {
    if (auto* m = std::get_if<ipc::RelayBeginRequest>(&msg)) return Begin(*m);
    if (auto* m = std::get_if<ipc::RelayRcptRequest>(&msg)) return Rcpt(*m);
    if (std::holds_alternative<ipc::RelayDataRequest>(msg)) return Data();
    if (auto* m = std::get_if<ipc::RelayAppendRequest>(&msg)) {
      const bool keep = Append(*m);
      WipeMemory(m->data.data(), m->data.size());  // mail in clear
      return keep;
    }
    if (std::holds_alternative<ipc::RelayEndRequest>(msg)) return End();
    if (auto* m = std::get_if<ipc::TkimCheckRequest>(&msg)) {
      if (phase_ != Phase::kIdle) return Bad("a TKIM check inside a transaction");
      auto sent = channel_.Send(CheckTkim(*m, options_));
      (void)sent;  // the front end closes the session after the reply
      return false;
    }
    if (auto* m = std::get_if<ipc::RelayVmatRequest>(&msg)) {
      if (phase_ != Phase::kIdle) return Bad("a VMAT request inside a transaction");
      auto sent = channel_.Send(AskGatewayVmat(*m, options_));
      (void)sent;  // the front end closes the session after the reply
      return false;
    }
    return Bad("message not allowed on a relay session");
  }

  bool Begin(const ipc::RelayBeginRequest& m) {
    if (phase_ != Phase::kIdle) return Bad("a new transaction inside a transaction");
    bytes_ = 0;
    append_status_ = Ok();
    const bool to_smarthost = m.domain == mail::kSmarthostDomain;
    if (to_smarthost && options_.smarthost.empty()) {
      LogOutcome("denied: no smarthost configured");
      return Reply(Failure(ErrorCode::kInvalidArgument));
    }
    if (!to_smarthost && !mail::IsV3OnionDomain(m.domain)) {
      LogOutcome("denied: not a v3 onion domain");
      return Reply(Failure(ErrorCode::kInvalidArgument));
    }
    if (!to_smarthost && options_.socks5_proxy.empty()) {
      LogOutcome("denied: no SOCKS5 proxy configured (relaying goes over Tor only)");
      return Reply(Failure(ErrorCode::kFailedPrecondition));
    }
    auto client =
        to_smarthost ? peer::MailClient::Open(options_.smarthost, SmarthostClientOptions(options_))
                     : peer::MailClient::Open(m.domain + ":" + std::to_string(options_.remote_port),
                                              OnionClientOptions(options_));
    if (!client.ok()) {
      const ErrorCode code = client.error().code;
      const bool unreachable =
          code == ErrorCode::kUnavailable || code == ErrorCode::kDeadlineExceeded;
      LogOutcome((unreachable ? "unreachable: " : "failed: ") + client.error().message);
      // A key that is not the pinned one (only the smarthost is pinned) is no
      // refusal of the message: the front end answers 451 4.4.2.
      return Reply(
          Failure(code == ErrorCode::kPermissionDenied ? ErrorCode::kUnauthenticated : code));
    }
    client_ = std::move(*client);
    phase_ = Phase::kMail;
    if (auto proved =
            to_smarthost ? Result<void>(Ok()) : SendTkimProof(*client_, m.domain, options_);
        !proved.ok()) {
      Close("failed: " + proved.error().message);
      return Reply(Failure(proved.error().code));
    }
    auto r = client_->Mail(m.reverse_path, m.declared_size, m.body_8bitmime);
    if (!r.ok() || r->code / 100 != 2) Close(Outcome(r, "MAIL"));
    return Reply(ToReply(r));
  }

  bool Rcpt(const ipc::RelayRcptRequest& m) {
    if (phase_ != Phase::kMail) return Bad("a recipient outside a transaction");
    auto r = client_->Rcpt(m.forward_path);
    if (!r.ok()) Close(Outcome(r, "RCPT"));
    return Reply(ToReply(r));
  }

  bool Data() {
    if (phase_ != Phase::kMail) return Bad("DATA outside a transaction");
    auto r = client_->Data();
    if (r.ok() && r->code == 354) {
      phase_ = Phase::kData;
    } else {
      Close(Outcome(r, "DATA"));
    }
    return Reply(ToReply(r));
  }

  bool Append(const ipc::RelayAppendRequest& m) {
    if (phase_ != Phase::kData) return Bad("message data without a 354");
    if (append_status_.ok()) {
      append_status_ = client_->WriteBody(m.data);
      bytes_ += m.data.size();
    }
    return true;  // no reply: reported by the end request
  }

  bool End() {
    if (phase_ != Phase::kData) return Bad("end of data without a 354");
    Result<peer::RemoteReply> r = append_status_.ok()
                                      ? client_->EndData()
                                      : Result<peer::RemoteReply>(append_status_.error());
    Close(r.ok() && r->code / 100 == 2 ? std::string("relayed") : Outcome(r, "the final dot"));
    return Reply(ToReply(r));
  }

  // QUIT (nothing is sent in the middle of message data), close, log.
  void Close(const std::string& outcome) {
    client_->Quit();
    client_.reset();
    phase_ = Phase::kIdle;
    LogOutcome(outcome);
  }

  void LogOutcome(const std::string& outcome) {
    log::Info(kLog, "transaction " + outcome + ", " + std::to_string(bytes_) + " bytes");
  }

  // A failed send means the front end is gone (or sent a reply the codec
  // refuses, a bug): either way the session ends.
  bool Reply(const ipc::RelayReply& reply) {
    auto sent = channel_.Send(reply);
    if (!sent.ok() && sent.error().code != ErrorCode::kUnavailable) {
      log::Warning(kLog, "ending a session: " + sent.error().message);
    }
    return sent.ok();
  }

  static bool Bad(const char* why) {
    log::Warning(kLog, std::string("ending a session: ") + why);
    return false;
  }

  ipc::Channel& channel_;
  const RelayOptions& options_;
  std::unique_ptr<peer::MailClient> client_;  // set in kMail and kData
  Phase phase_ = Phase::kIdle;
  Result<void> append_status_ = Ok();
  uint64_t bytes_ = 0;  // message bytes of the current transaction
};

// What the session threads share with the control loop; they may outlive it.
struct ControlState {
  explicit ControlState(const RelayOptions& o) : options(o) {}
  const RelayOptions options;
  std::atomic<uint32_t> active{0};
};

}  // namespace

peer::MailClientOptions OnionClientOptions(const RelayOptions& options) {
  peer::MailClientOptions o;
  o.socks5_proxy = options.socks5_proxy;
  o.helo_name = options.helo_name;
  o.pin.reset();  // any key: the onion address authenticates the remote
  o.connect_timeout = options.connect_timeout;
  o.command_timeout = options.command_timeout;
  o.data_block_timeout = options.data_block_timeout;
  o.final_timeout = options.final_timeout;
  return o;
}

peer::MailClientOptions SmarthostClientOptions(const RelayOptions& options) {
  peer::MailClientOptions o = OnionClientOptions(options);
  o.socks5_proxy.clear();             // the smarthost is reached directly
  o.pin = options.smarthost_pin;      // unset: any key ([exit] smarthost_pin)
  o.helo_name = options.exit_domain;  // never the onion: the smarthost's Received names it
  return o;
}

void ServeRelaySession(ipc::Channel& session, const RelayOptions& options) {
  RelaySession(session, options).Run();
}

Result<void> ServeRelayControl(ipc::Channel& control, const RelayOptions& options,
                               std::atomic<bool>* stop) {
  auto state = std::make_shared<ControlState>(options);
  ThreadReuser threads;  // one thread per session, reused
  for (;;) {
    if (stop != nullptr && stop->load()) return Ok();
    auto in = control.ReceiveFd(kControlPollInterval);
    if (!in.ok()) {
      if (in.error().code == ErrorCode::kDeadlineExceeded) continue;
      return in.error();
    }
    if (!std::holds_alternative<ipc::NewSession>(in->message)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "unexpected message on the relay control channel");
    }
    auto channel = ipc::Channel::FromFd(in->fd.Release());
    if (!channel.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad session channel on the relay control channel");
    }
    if (state->active.load() >= state->options.max_concurrent) {
      log::Warning(kLog, "too many relayed transactions at once; refused one");
      // The answer to the first request, unread; `channel` then closes.
      (void)channel->Send(ipc::RelayReply{ipc::Status::kResourceExhausted, 0, ""});
      continue;
    }
    state->active.fetch_add(1);
    // std::function needs a copyable task: the channel travels in a shared_ptr.
    auto ch = std::make_shared<ipc::Channel>(std::move(*channel));
    threads.Run([state, ch]() mutable {
      ServeRelaySession(*ch, state->options);
      ch.reset();         // closed before the slot is given back
      ERR_clear_error();  // the thread serves the next session: start it clean
      state->active.fetch_sub(1);
    });
  }
}

}  // namespace onionmail::server
