#include "server/unseal_service.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "base/ascii.h"
#include "base/log.h"
#include "mail/relay.h"
#include "store/durable_file.h"
#include "unseal/enrolment_record.h"
#include "unseal/tkim_wire.h"

namespace onionmail::server {
namespace {

constexpr char kComponent[] = "unseal";
constexpr std::chrono::milliseconds kForever{-1};

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ipc::Status StatusOf(const Error& e) { return ipc::StatusFromError(e.code); }

}  // namespace

UnsealService::UnsealService(State& state, std::unique_ptr<unseal::Unsealer> unsealer,
                             RequestSigner signer)
    : state_(state), unsealer_(std::move(unsealer)), signer_(std::move(signer)) {
  if (unsealer_) WriteStatus();
}

ipc::UnsealPlan UnsealService::Plan() {
  ipc::UnsealPlan plan;
  plan.enrolled = unsealer_ != nullptr;
  plan.sealed = state_.sealed();
  if (!plan.enrolled || !plan.sealed) return plan;
  unseal::UnsealStatus status = unsealer_->Status();
  for (const unseal::UnsealPeer& p : unsealer_->peers()) {
    unseal::PeerState s =
        p.index < status.peers.size() ? status.peers[p.index].state : unseal::PeerState::kPending;
    if (s == unseal::PeerState::kAnswered || s == unseal::PeerState::kWrong) continue;
    if (plan.targets.size() >= ipc::kMaxUnsealTargets) break;
    ipc::UnsealTarget t;
    t.index = static_cast<uint16_t>(p.index);
    t.address = p.peer_id;
    t.pin = p.tls_pin;
    plan.targets.push_back(std::move(t));
  }
  return plan;
}

ipc::DerkPrepareReply UnsealService::Prepare(const ipc::DerkPrepareRequest& request) {
  ipc::DerkPrepareReply reply;
  if (!unsealer_ || !state_.sealed()) {
    reply.status = ipc::Status::kFailedPrecondition;
    return reply;
  }
  if (request.index >= unsealer_->peers().size()) {
    reply.status = ipc::Status::kInvalidArgument;
    return reply;
  }
  auto X = unsealer_->BeginPeer(request.index);
  if (!X.ok()) {
    reply.status = StatusOf(X.error());
    return reply;
  }
  auto body = unseal::EncodeDerkBody(unseal::DerkBody{*X});
  if (!body.ok()) {
    reply.status = StatusOf(body.error());
    return reply;
  }
  auto blob = signer_(unseal::Verb::kDerk, request.channel_binding, *body);
  if (!blob.ok()) {
    log::Warning(kComponent, "cannot sign a DERK request: " + blob.error().message);
    reply.status = StatusOf(blob.error());
    return reply;
  }
  reply.blob = std::move(*blob);
  return reply;
}

ipc::UnsealProgress UnsealService::Report(const ipc::DerkResultRequest& request) {
  ipc::UnsealProgress progress;
  if (!unsealer_) {
    progress.status = ipc::Status::kFailedPrecondition;
    progress.sealed = false;
    return progress;
  }
  const std::string who = "peer " + std::to_string(request.index);
  if (!request.reached || request.outcome != mail::TormOutcome::kOk) {
    std::string why = request.reached
                          ? "refused: " + std::string(mail::TormOutcomeKeyword(request.outcome))
                          : "unreachable: " + request.detail;
    log::Warning(kComponent, who + " " + why);
    (void)unsealer_->MarkUnreachable(request.index, why);
  } else {
    auto derk = unseal::ParseDerkReply(request.reply);
    if (derk.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      counters_[request.index] = PeerCounters{derk->credits_left, derk->answered_total};
    }
    Result<unseal::PeerOutcome> accepted = derk.ok()
                                               ? unsealer_->AcceptAnswer(request.index, derk->Y)
                                               : Result<unseal::PeerOutcome>(derk.error());
    if (!accepted.ok()) {
      log::Warning(kComponent, who + " answered wrongly: " + accepted.error().message);
      progress.status = StatusOf(accepted.error());
    } else {
      log::Info(kComponent, who + " answered (" + std::to_string(accepted->shares_held) + " of " +
                                std::to_string(accepted->t) + " shares)");
      if (accepted->unsealed && state_.sealed()) {
        auto master = unsealer_->TakeMasterKey();
        Result<void> opened = master.ok() ? state_.Unseal(*master) : master.error();
        if (opened.ok()) {
          log::Info(kComponent, "unsealed: the master key was rebuilt from " +
                                    std::to_string(accepted->shares_held) + " shares");
        } else {
          log::Error(kComponent, "cannot unseal: " + opened.error().message);
          progress.status = StatusOf(opened.error());
        }
      }
    }
  }
  unseal::UnsealStatus status = unsealer_->Status();
  progress.sealed = state_.sealed();
  progress.shares_held = static_cast<uint16_t>(status.shares_held);
  progress.threshold = static_cast<uint16_t>(status.t);
  WriteStatus();
  return progress;
}

void UnsealService::EnqueueForward(const std::vector<uint8_t>& certificate,
                                   const std::vector<unseal::ForwardPeer>& peers) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const unseal::ForwardPeer& p : peers) {
    if (forwards_.size() >= kMaxQueuedForwards) {
      log::Warning(kComponent, "KCTL forward queue full: dropping the oldest");
      forwards_.pop_front();
    }
    ipc::ForwardItem item;
    item.certificate = certificate;
    item.address = p.address;
    item.pin = p.tls_pin;
    forwards_.push_back(std::move(item));
  }
}

ipc::ForwardList UnsealService::PollForwards() {
  std::lock_guard<std::mutex> lock(mu_);
  ipc::ForwardList list;
  while (!forwards_.empty() && list.items.size() < ipc::kMaxForwardItems) {
    list.items.push_back(std::move(forwards_.front()));
    forwards_.pop_front();
  }
  return list;
}

Result<void> UnsealService::ServePeer(ipc::Channel channel) {
  for (;;) {
    auto in = channel.Receive(kForever);
    if (!in.ok()) return in.error();
    ipc::Message reply;
    if (std::holds_alternative<ipc::Hello>(*in)) {
      const auto& h = std::get<ipc::Hello>(*in);
      if (h.role != ipc::Role::kPeer) {
        return MakeError(ErrorCode::kInvalidArgument, "peer channel: Hello from another role");
      }
      reply = ipc::Hello{ipc::Role::kKey, ipc::kProtocolVersion};
    } else if (std::holds_alternative<ipc::UnsealPlanRequest>(*in)) {
      reply = Plan();
    } else if (auto* p = std::get_if<ipc::DerkPrepareRequest>(&*in)) {
      reply = Prepare(*p);
    } else if (auto* r = std::get_if<ipc::DerkResultRequest>(&*in)) {
      reply = Report(*r);
    } else if (std::holds_alternative<ipc::ForwardPollRequest>(*in)) {
      reply = PollForwards();
    } else {
      return MakeError(ErrorCode::kInvalidArgument, "unexpected message on the peer channel");
    }
    ONIONMAIL_RETURN_IF_ERROR(channel.Send(reply));
  }
}

ipc::TkimProofReply UnsealService::TkimProof(const ipc::TkimProofRequest& request,
                                             uint64_t now_unix_seconds) {
  ipc::TkimProofReply reply;
  const std::string own = AsciiLower(state_.config().domain);
  const std::string receiver = AsciiLower(request.receiver_domain);
  if (!mail::IsV3OnionDomain(receiver) || receiver == own) {
    log::Warning(kComponent, "refused a tkim proof: the receiver is not another v3 onion");
    reply.status = ipc::Status::kInvalidArgument;
    return reply;
  }
  if (!mail::IsV3OnionDomain(own)) {
    log::Warning(kComponent, "refused a tkim proof: this server's domain is not a v3 onion");
    reply.status = ipc::Status::kFailedPrecondition;
    return reply;
  }
  auto body = unseal::EncodeTkimBody(unseal::TkimBody{own, receiver, now_unix_seconds});
  if (!body.ok()) {
    reply.status = StatusOf(body.error());
    return reply;
  }
  auto proof = signer_(unseal::Verb::kTkim, request.channel_binding, *body);
  if (!proof.ok()) {
    log::Warning(kComponent, "cannot sign a tkim proof: " + proof.error().message);
    reply.status = StatusOf(proof.error());
    return reply;
  }
  log::Info(kComponent, "tkim proof signed");
  reply.proof = std::move(*proof);
  return reply;
}

ipc::TkimVouchReply UnsealService::TkimVouch(const ipc::TkimVouchRequest& request,
                                             uint64_t now_unix_seconds) {
  ipc::TkimVouchReply reply;
  reply.sender_domain = request.sender_domain;
  const std::string sender = AsciiLower(request.sender_domain);
  if (!mail::IsV3OnionDomain(sender) || sender == AsciiLower(state_.config().domain)) {
    log::Warning(kComponent, "refused a tkim vouch: the sender is not another v3 onion");
    reply.status = ipc::Status::kInvalidArgument;
    return reply;
  }
  if (vouches_ == nullptr) {
    reply.status = ipc::Status::kFailedPrecondition;
    return reply;
  }
  auto vouch = vouches_->Mint(sender, now_unix_seconds);
  if (!vouch.ok()) {
    reply.status = StatusOf(vouch.error());
    return reply;
  }
  reply.vouch = std::move(*vouch);
  return reply;
}

Result<void> UnsealService::ServeRelay(ipc::Channel channel) {
  for (;;) {
    auto in = channel.Receive(kForever);
    if (!in.ok()) return in.error();
    const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    if (const auto* proof = std::get_if<ipc::TkimProofRequest>(&*in)) {
      ONIONMAIL_RETURN_IF_ERROR(channel.Send(TkimProof(*proof, now)));
    } else if (const auto* vouch = std::get_if<ipc::TkimVouchRequest>(&*in)) {
      ONIONMAIL_RETURN_IF_ERROR(channel.Send(TkimVouch(*vouch, now)));
    } else {
      return MakeError(ErrorCode::kInvalidArgument, "unexpected message on the relay channel");
    }
  }
}

std::string UnsealService::StatusText() {
  if (!unsealer_) return "enrolled: no\n";
  unseal::UnsealStatus s = unsealer_->Status();
  std::string out = "enrolled: yes\n";
  out += std::string("sealed: ") + (state_.sealed() ? "yes" : "no") + "\n";
  out += "threshold: " + std::to_string(s.t) + " of " + std::to_string(s.n) +
         " (shares held: " + std::to_string(s.shares_held) + ", the local share included)\n";
  if (!s.last_error.empty()) out += "last error: " + s.last_error + "\n";
  std::map<size_t, PeerCounters> counters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    counters = counters_;
  }
  for (const unseal::PeerStatus& p : s.peers) {
    // Indices only: peer addresses are in the device-sealed enrolment and
    // must not reach the disk in clear (`onionmailctl enrol` printed them).
    out += "peer " + std::to_string(p.index) + ": " + unseal::PeerStateName(p.state);
    if (!p.last_error.empty()) out += " (" + p.last_error + ")";
    if (auto c = counters.find(p.index); c != counters.end()) {
      out += "; credits left " + std::to_string(c->second.credits_left) + ", answered " +
             std::to_string(c->second.answered_total) + " time(s) in all";
    }
    out += "\n";
  }
  out += "updated: " + UtcNow() + "\n";
  return out;
}

void UnsealService::WriteStatus() {
  std::string text = StatusText();
  std::lock_guard<std::mutex> lock(mu_);
  const std::string dir = unseal::UnsealDir(state_.config().state_dir);
  const std::string tmp = state_.config().state_dir + "/tmp";
  auto written = store::WriteFileDurably(
      tmp, dir + "/status",
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      /*replace=*/true);
  if (!written.ok())
    log::Warning(kComponent, "cannot write the status file: " + written.error().message);
}

}  // namespace onionmail::server
