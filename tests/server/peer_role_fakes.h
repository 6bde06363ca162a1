// Test doubles for PeerRole (src/server/peer_role.h): a scripted key role on
// the other end of a real ipc::Channel pair (its own thread, records every
// message), and a fake peer::TormCall that runs the builder as the real
// client does and answers from a per-address script. Shared by
// peer_role_test.cc and peer_role_sandbox_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ipc/channel.h"
#include "ipc/messages.h"
#include "server/peer_role.h"

namespace onionmail::server::testing {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

inline peer::SpkiPin Pin(uint8_t fill) {
  peer::SpkiPin pin;
  pin.fill(fill);
  return pin;
}

inline ipc::UnsealTarget Target(uint16_t index, const std::string& address) {
  return ipc::UnsealTarget{index, address, Pin(static_cast<uint8_t>(index))};
}

inline ipc::UnsealPlan SealedPlan(std::vector<ipc::UnsealTarget> targets) {
  ipc::UnsealPlan plan;
  plan.enrolled = true;
  plan.sealed = true;
  plan.targets = std::move(targets);
  return plan;
}

inline ipc::UnsealPlan UnsealedPlan() {
  ipc::UnsealPlan plan;
  plan.enrolled = true;
  return plan;
}

// The blob the scripted key role "signs" for a peer and a binding.
inline Bytes BlobFor(uint16_t index, const mail::ChannelBinding& binding) {
  Bytes blob = {0xB1, static_cast<uint8_t>(index)};
  blob.insert(blob.end(), binding.begin(), binding.end());
  return blob;
}

// What the key role would do; every function runs on the key role's thread.
struct KeyRoleScript {
  std::function<ipc::UnsealPlan(int call)> plan = [](int) { return ipc::UnsealPlan{}; };
  std::function<ipc::DerkPrepareReply(const ipc::DerkPrepareRequest&)> prepare =
      [](const ipc::DerkPrepareRequest& r) {
        return ipc::DerkPrepareReply{ipc::Status::kOk, BlobFor(r.index, r.channel_binding)};
      };
  std::function<ipc::UnsealProgress(const ipc::DerkResultRequest&)> result =
      [](const ipc::DerkResultRequest&) {
        return ipc::UnsealProgress{ipc::Status::kOk, true, 1, 3};
      };
  std::function<ipc::ForwardList(int call)> forwards = [](int) { return ipc::ForwardList{}; };
  // Replies sent before the Hello reply, as left by a previous incarnation
  // of the role that died mid-call (UnsealProgress and ForwardList in turn).
  int stale_replies_before_hello = 0;
  ipc::Role hello_role = ipc::Role::kKey;
  bool answer_plan_with_wrong_type = false;
};

// The scripted key role, on its own thread. Records every message; read the
// records only after Finish().
class FakeKeyRole {
 public:
  explicit FakeKeyRole(KeyRoleScript script) : script_(std::move(script)) {
    auto pair = ipc::Channel::CreatePair();
    if (!pair.ok()) std::abort();
    role_end_.emplace(std::move(pair->first));
    thread_ = std::thread([this, ch = std::move(pair->second)]() mutable { Serve(ch); });
  }
  ~FakeKeyRole() { Finish(); }

  ipc::Channel& role_end() { return *role_end_; }
  // Closes the role's end and waits for the key role's thread.
  void Finish() {
    role_end_.reset();
    if (thread_.joinable()) thread_.join();
  }

  std::vector<ipc::MsgType> types;
  std::vector<ipc::DerkPrepareRequest> prepares;
  std::vector<ipc::DerkResultRequest> results;

 private:
  void Serve(ipc::Channel& ch) {
    int plans = 0, polls = 0;
    for (;;) {
      auto in = ch.Receive(30s);
      if (!in.ok()) return;  // the role's end closed
      types.push_back(ipc::TypeOf(*in));
      Result<void> sent = Ok();
      if (auto* h = std::get_if<ipc::Hello>(&*in)) {
        EXPECT_EQ(h->role, ipc::Role::kPeer);
        for (int i = 0; i < script_.stale_replies_before_hello; ++i) {
          EXPECT_TRUE(
              (i % 2 == 0 ? ch.Send(ipc::UnsealProgress{}) : ch.Send(ipc::ForwardList{})).ok());
        }
        sent = ch.Send(ipc::Hello{script_.hello_role, ipc::kProtocolVersion});
        // With more stale replies than the role skips, it may give up and
        // close its end before this Hello goes out: then the send fails.
        if (static_cast<size_t>(script_.stale_replies_before_hello) > kMaxStaleReplies) {
          continue;
        }
      } else if (std::holds_alternative<ipc::UnsealPlanRequest>(*in)) {
        if (script_.answer_plan_with_wrong_type) {
          sent = ch.Send(ipc::ForwardList{});
        } else {
          sent = ch.Send(script_.plan(plans++));
        }
      } else if (auto* p = std::get_if<ipc::DerkPrepareRequest>(&*in)) {
        prepares.push_back(*p);
        sent = ch.Send(script_.prepare(*p));
      } else if (auto* r = std::get_if<ipc::DerkResultRequest>(&*in)) {
        results.push_back(*r);
        sent = ch.Send(script_.result(*r));
      } else if (std::holds_alternative<ipc::ForwardPollRequest>(*in)) {
        sent = ch.Send(script_.forwards(polls++));
      } else {
        ADD_FAILURE() << "unexpected message type " << static_cast<int>(ipc::TypeOf(*in));
        return;
      }
      EXPECT_TRUE(sent.ok());
    }
  }

  KeyRoleScript script_;
  std::optional<ipc::Channel> role_end_;
  std::thread thread_;
};

// A recorded TormCall.
struct TormRecord {
  std::string address;
  peer::SpkiPin pin{};
  mail::TormVerb verb = mail::TormVerb::kStat;
  mail::ChannelBinding binding{};
  bool sent = false;  // the builder gave a request
  Bytes request;
  int64_t at_ms = 0;  // virtual time of the call
  std::string proxy;  // ClientOptions::socks5_proxy
};

// Fake peer::TormCall: runs the builder with a fresh binding (as the real
// client does once TLS is up), records everything and answers from a script
// per address (consumed in order, the last answer repeating). An address
// without a script is unreachable.
class FakeTorm {
 public:
  explicit FakeTorm(const std::atomic<int64_t>& now_ms) : now_ms_(now_ms) {}

  void Script(const std::string& address, std::vector<Result<peer::TormResponse>> answers) {
    answers_[address] = std::move(answers);
  }

  TormCallFn Fn() {
    return [this](const peer::PeerEndpoint& peer, mail::TormVerb verb,
                  const peer::RequestBuilder& build,
                  const peer::ClientOptions& options) -> Result<peer::TormResponse> {
      TormRecord rec;
      rec.proxy = options.socks5_proxy;
      rec.address = peer.address;
      rec.pin = peer.tls_pin;
      rec.verb = verb;
      rec.binding.fill(static_cast<uint8_t>(0x40 + records.size()));
      rec.at_ms = now_ms_.load();
      auto request = build(rec.binding);
      rec.sent = request.ok();
      if (request.ok()) rec.request = *request;
      records.push_back(rec);
      if (!request.ok()) {
        return MakeError(request.error().code,
                         "building the TORM request: " + request.error().message);
      }
      auto it = answers_.find(peer.address);
      if (it == answers_.end() || it->second.empty()) {
        return MakeError(ErrorCode::kUnavailable, "connect: Connection refused");
      }
      size_t& next = next_[peer.address];
      auto answer = it->second[std::min(next, it->second.size() - 1)];
      ++next;
      return answer;
    };
  }

  std::vector<TormRecord> records;
  std::vector<TormRecord> Calls(mail::TormVerb verb) const {
    std::vector<TormRecord> out;
    for (const auto& r : records) {
      if (r.verb == verb) out.push_back(r);
    }
    return out;
  }

 private:
  const std::atomic<int64_t>& now_ms_;
  std::map<std::string, std::vector<Result<peer::TormResponse>>> answers_;
  std::map<std::string, size_t> next_;
};

}  // namespace onionmail::server::testing
