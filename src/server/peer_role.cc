// The loop of onionmail-peer; see peer_role.h.
#include "server/peer_role.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>
#include <variant>

#include "base/log.h"

namespace onionmail::server {
namespace {

constexpr const char* kLog = "peer";

// A DerkResultRequest detail: non-control ASCII, at most kMaxDetailBytes.
std::string Detail(std::string_view text) {
  std::string out(text.substr(0, ipc::kMaxDetailBytes));
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = '?';
  }
  return out;
}

std::string Seconds(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

std::string PeerName(uint16_t index, const std::string& address) {
  return "peer " + std::to_string(index) + " (" + address + ")";
}

// A call that failed on the way and may work later (not a bad address, no
// proxy for a host name, a peer that does not offer TORM).
bool TransientError(const Error& e) {
  return e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kDeadlineExceeded;
}

bool TransientOutcome(mail::TormOutcome o) {
  return o == mail::TormOutcome::kTemporary || o == mail::TormOutcome::kRateLimited;
}

}  // namespace

void RealSleep(std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); }

PeerRole::PeerRole(ipc::Channel& key, peer::ClientOptions options, TormCallFn call, SleepFn sleep,
                   std::chrono::milliseconds key_timeout)
    : key_(key),
      options_(std::move(options)),
      call_(std::move(call)),
      sleep_(std::move(sleep)),
      key_timeout_(key_timeout) {}

template <typename Reply>
Result<Reply> PeerRole::Call(const ipc::Message& request) {
  ONIONMAIL_RETURN_IF_ERROR(key_.Send(request));
  auto reply = key_.Receive(key_timeout_);
  if (!reply.ok()) return reply.error();
  if (!std::holds_alternative<Reply>(*reply)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the key role sent message type " +
                         std::to_string(static_cast<int>(ipc::TypeOf(*reply))) + " instead of " +
                         std::to_string(static_cast<int>(Reply::kType)));
  }
  return std::get<Reply>(std::move(*reply));
}

Result<void> PeerRole::Handshake() {
  ONIONMAIL_RETURN_IF_ERROR(key_.Send(ipc::Hello{ipc::Role::kPeer, ipc::kProtocolVersion}));
  for (size_t skipped = 0; skipped <= kMaxStaleReplies; ++skipped) {
    auto m = key_.Receive(key_timeout_);
    if (!m.ok()) return m.error();
    if (const auto* hello = std::get_if<ipc::Hello>(&*m)) {
      if (hello->role != ipc::Role::kKey || hello->version != ipc::kProtocolVersion) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "the control channel's Hello is not the key role's");
      }
      return Ok();
    }
  }
  return MakeError(ErrorCode::kInvalidArgument, "no Hello from the key role");
}

void PeerRole::NoteState(KeyState state, size_t targets) {
  if (state == state_) return;
  state_ = state;
  switch (state) {
    case KeyState::kNotEnrolled:
      log::Info(kLog, "not enrolled with unseal peers: nothing to unseal");
      break;
    case KeyState::kSealed:
      log::Info(kLog, "master key sealed: asking " + std::to_string(targets) + " peers");
      break;
    case KeyState::kUnsealed:
      log::Info(kLog, "master key unsealed");
      break;
    case KeyState::kUnknown:
      break;
  }
}

Result<bool> PeerRole::UnsealRound(const ipc::UnsealPlan& plan, const std::atomic<bool>& stop) {
  for (const ipc::UnsealTarget& target : plan.targets) {
    if (stop.load()) return false;
    const std::string who = PeerName(target.index, target.address);
    bool refused = false;
    ipc::Status refusal = ipc::Status::kOk;
    std::optional<Error> channel_error;
    peer::RequestBuilder builder =
        [&](const mail::ChannelBinding& binding) -> Result<std::vector<uint8_t>> {
      auto prepared = Call<ipc::DerkPrepareReply>(ipc::DerkPrepareRequest{target.index, binding});
      if (!prepared.ok()) {
        channel_error = prepared.error();
        return MakeError(ErrorCode::kUnavailable, "the key role did not answer");
      }
      if (prepared->status != ipc::Status::kOk) {
        refused = true;
        refusal = prepared->status;
        return MakeError(ErrorCode::kFailedPrecondition, "the key role refused to prepare it");
      }
      return std::move(prepared->blob);
    };
    auto response = call_(peer::PeerEndpoint{target.address, target.pin}, mail::TormVerb::kDerk,
                          builder, options_);
    if (channel_error.has_value()) return *channel_error;
    if (refused) {
      log::Warning(kLog, who + ": not asked: the key role refused the request (status " +
                             std::to_string(static_cast<int>(refusal)) + ")");
      continue;
    }
    ipc::DerkResultRequest result;
    result.index = target.index;
    std::string outcome_text;
    if (response.ok()) {
      result.reached = true;
      result.outcome = response->outcome;
      result.reply = std::move(response->reply);
      result.detail = std::string(mail::TormOutcomeKeyword(response->outcome));
      outcome_text =
          response->outcome == mail::TormOutcome::kOk ? "answered" : "refused: " + result.detail;
    } else {
      result.reached = false;
      result.outcome = mail::TormOutcome::kTemporary;
      result.detail = Detail(response.error().message);
      outcome_text = "unreachable: " + result.detail;
    }
    auto progress = Call<ipc::UnsealProgress>(result);
    if (!progress.ok()) return progress.error();
    std::string line = who + ": " + outcome_text + "; shares " +
                       std::to_string(progress->shares_held) + " of " +
                       std::to_string(progress->threshold);
    if (progress->status == ipc::Status::kDataLoss) {
      log::Warning(kLog, line + "; its answer was WRONG (the share did not decrypt)");
    } else if (progress->status != ipc::Status::kOk) {
      log::Warning(kLog, line + "; the key role could not use it (status " +
                             std::to_string(static_cast<int>(progress->status)) + ")");
    } else if (response.ok() && response->outcome == mail::TormOutcome::kOk) {
      log::Info(kLog, line);
    } else {
      log::Warning(kLog, line);
    }
    if (!progress->sealed) {
      state_ = KeyState::kUnsealed;
      log::Info(kLog, "master key unsealed with " + std::to_string(progress->shares_held) + " of " +
                          std::to_string(progress->threshold) + " shares");
      return true;
    }
  }
  return false;
}

Result<void> PeerRole::PollForwards() {
  auto list = Call<ipc::ForwardList>(ipc::ForwardPollRequest{});
  if (!list.ok()) return list.error();
  for (ipc::ForwardItem& item : list->items) {
    if (forwards_.size() >= kMaxPendingForwards) {
      log::Warning(kLog, "KCTL certificate to " + forwards_.front().item.address +
                             " dropped: too many certificates waiting");
      forwards_.pop_front();
    }
    forwards_.push_back(PendingForward{std::move(item), 0, now_, kForwardPollInterval});
  }
  return Ok();
}

void PeerRole::SendDueForwards(const std::atomic<bool>& stop) {
  for (auto it = forwards_.begin(); it != forwards_.end() && !stop.load();) {
    if (it->due > now_) {
      ++it;
      continue;
    }
    const std::vector<uint8_t>& certificate = it->item.certificate;
    peer::RequestBuilder builder =
        [&certificate](const mail::ChannelBinding&) -> Result<std::vector<uint8_t>> {
      return certificate;
    };
    auto response = call_(peer::PeerEndpoint{it->item.address, it->item.pin}, mail::TormVerb::kKctl,
                          builder, options_);
    ++it->attempts;
    const std::string who = "KCTL certificate to " + it->item.address;
    bool retry = false;
    std::string text;
    if (response.ok()) {
      retry = TransientOutcome(response->outcome);
      text = response->outcome == mail::TormOutcome::kOk
                 ? "delivered"
                 : "refused: " + std::string(mail::TormOutcomeKeyword(response->outcome));
    } else {
      retry = TransientError(response.error());
      text = "not delivered: " + Detail(response.error().message);
    }
    if (retry && it->attempts < kMaxForwardAttempts) {
      log::Warning(kLog, who + ": " + text + " (attempt " + std::to_string(it->attempts) + " of " +
                             std::to_string(kMaxForwardAttempts) + "; next in " +
                             Seconds(it->wait) + ")");
      it->due = now_ + it->wait;
      it->wait = std::min(it->wait * 2, kUnsealBackoffMax);
      ++it;
      continue;
    }
    if (response.ok() && response->outcome == mail::TormOutcome::kOk) {
      log::Info(kLog, who + ": " + text);
    } else {
      log::Warning(kLog, who + ": " + text + (retry ? " (giving up)" : ""));
    }
    it = forwards_.erase(it);
  }
}

Result<void> PeerRole::Run(const std::atomic<bool>& stop) {
  ONIONMAIL_RETURN_IF_ERROR(Handshake());
  log::Info(kLog, std::string("connected to the key role; peers reached ") +
                      (options_.socks5_proxy.empty() ? "directly (no SOCKS5 proxy)"
                                                     : "through the SOCKS5 proxy"));
  std::chrono::milliseconds backoff = kUnsealBackoffInitial;
  std::chrono::milliseconds next_round = now_;
  while (!stop.load()) {
    auto plan = Call<ipc::UnsealPlan>(ipc::UnsealPlanRequest{});
    if (!plan.ok()) return plan.error();
    if (!plan->enrolled) {
      NoteState(KeyState::kNotEnrolled, 0);
    } else if (!plan->sealed) {
      NoteState(KeyState::kUnsealed, 0);
    } else {
      if (state_ != KeyState::kSealed) {
        backoff = kUnsealBackoffInitial;  // newly sealed (boot, key role restart)
        next_round = now_;
      }
      NoteState(KeyState::kSealed, plan->targets.size());
      if (now_ >= next_round) {
        auto unsealed = plan->targets.empty() ? Result<bool>(false) : UnsealRound(*plan, stop);
        if (!unsealed.ok()) return unsealed.error();
        if (!*unsealed && !stop.load()) {
          log::Warning(kLog, std::string(plan->targets.empty() ? "no peer left to ask"
                                                               : "still sealed after this round") +
                                 "; next round in " + Seconds(backoff));
          next_round = now_ + backoff;
          backoff = std::min(backoff * 2, kUnsealBackoffMax);
        }
      }
    }
    if (stop.load()) break;
    ONIONMAIL_RETURN_IF_ERROR(PollForwards());
    SendDueForwards(stop);
    if (stop.load()) break;
    std::chrono::milliseconds nap = kForwardPollInterval;
    if (state_ == KeyState::kSealed && next_round > now_) {
      nap = std::min(nap, next_round - now_);
    }
    sleep_(nap);
    now_ += nap;
  }
  return Ok();
}

}  // namespace onionmail::server
