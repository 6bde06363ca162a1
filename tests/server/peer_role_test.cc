// Tests of PeerRole (src/server/peer_role.h) against a scripted key role on
// the other end of a real ipc::Channel pair, with an injected fake TormCall
// (records each call and runs the builder as the real client does) and an
// injected sleep that keeps a virtual clock. The whole role under its
// seccomp policy, with the real TORM client and a real peer server, is in
// peer_role_sandbox_test.cc.
#include "server/peer_role.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "ipc/channel.h"
#include "ipc/messages.h"
#include "tests/server/peer_role_fakes.h"

namespace onionmail::server {
namespace {

using namespace std::chrono_literals;
using namespace ::onionmail::server::testing;
using mail::TormOutcome;
using mail::TormVerb;

// Runs a PeerRole until the virtual clock reaches `run_for` (or `stop_when`).
class Harness {
 public:
  explicit Harness(KeyRoleScript script) : key(std::move(script)), torm(now_ms_) {}

  Result<void> Run(std::chrono::milliseconds run_for) {
    peer::ClientOptions options;
    options.socks5_proxy = "127.0.0.1:9050";
    PeerRole role(
        key.role_end(), options, torm.Fn(),
        [this, run_for](std::chrono::milliseconds d) {
          sleeps.push_back(d);
          now_ms_ += d.count();
          if (now_ms_.load() >= run_for.count()) stop_ = true;
        },
        10s);
    auto r = role.Run(stop_);
    key.Finish();
    return r;
  }

  int Count(ipc::MsgType type) const {
    return static_cast<int>(std::count(key.types.begin(), key.types.end(), type));
  }

  FakeKeyRole key;
  FakeTorm torm;
  std::vector<std::chrono::milliseconds> sleeps;

 private:
  std::atomic<int64_t> now_ms_{0};
  std::atomic<bool> stop_{false};
};

peer::TormResponse Answer(TormOutcome outcome, Bytes reply = {}) {
  return peer::TormResponse{outcome, std::move(reply)};
}

// ---------------------------------------------------------------------------

TEST(PeerRoleTest, RoundWithOneAnsweringAndOneUnreachablePeerReportsBoth) {
  KeyRoleScript script;
  script.plan = [](int) {
    return SealedPlan({Target(1, "192.0.2.1:25"), Target(2, "peer2.onion:25")});
  };
  script.result = [](const ipc::DerkResultRequest& r) {
    return ipc::UnsealProgress{ipc::Status::kOk, true, static_cast<uint16_t>(r.reached ? 2 : 1), 3};
  };
  Harness h(script);
  h.torm.Script("192.0.2.1:25", {Answer(TormOutcome::kOk, {0xAA, 0xBB})});
  ASSERT_TRUE(h.Run(1ms).ok());

  // Hello, the plan, then per peer: prepare (inside the call), result.
  ASSERT_GE(h.key.types.size(), 6u);
  EXPECT_EQ(std::vector<ipc::MsgType>(h.key.types.begin(), h.key.types.begin() + 6),
            (std::vector<ipc::MsgType>{
                ipc::MsgType::kHello, ipc::MsgType::kUnsealPlanRequest,
                ipc::MsgType::kDerkPrepareRequest, ipc::MsgType::kDerkResultRequest,
                ipc::MsgType::kDerkPrepareRequest, ipc::MsgType::kDerkResultRequest}));

  auto calls = h.torm.Calls(TormVerb::kDerk);
  ASSERT_EQ(calls.size(), 2u);
  ASSERT_EQ(h.key.prepares.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const uint16_t index = static_cast<uint16_t>(i + 1);
    EXPECT_EQ(calls[i].pin, Pin(static_cast<uint8_t>(index)));
    EXPECT_EQ(h.key.prepares[i].index, index);
    EXPECT_EQ(h.key.prepares[i].channel_binding, calls[i].binding)
        << "the key role signs for this very connection's binding";
    EXPECT_EQ(calls[i].request, BlobFor(index, calls[i].binding)) << "the key role's blob is sent";
  }
  EXPECT_EQ(calls[0].address, "192.0.2.1:25");
  EXPECT_EQ(calls[1].address, "peer2.onion:25");
  EXPECT_EQ(calls[0].proxy, "127.0.0.1:9050") << "the options reach the client";

  ASSERT_EQ(h.key.results.size(), 2u);
  const auto& ok = h.key.results[0];
  EXPECT_EQ(ok.index, 1);
  EXPECT_TRUE(ok.reached);
  EXPECT_EQ(ok.outcome, TormOutcome::kOk);
  EXPECT_EQ(ok.reply, (Bytes{0xAA, 0xBB}));
  EXPECT_EQ(ok.detail, "ok");
  const auto& down = h.key.results[1];
  EXPECT_EQ(down.index, 2);
  EXPECT_FALSE(down.reached);
  EXPECT_TRUE(down.reply.empty());
  EXPECT_EQ(down.detail, "connect: Connection refused");
}

TEST(PeerRoleTest, RefusalIsReportedAsReachedWithItsKeyword) {
  KeyRoleScript script;
  script.plan = [](int) { return SealedPlan({Target(4, "192.0.2.4:25")}); };
  Harness h(script);
  h.torm.Script("192.0.2.4:25", {Answer(TormOutcome::kNoCredits)});
  ASSERT_TRUE(h.Run(1ms).ok());
  ASSERT_EQ(h.key.results.size(), 1u);
  EXPECT_TRUE(h.key.results[0].reached);
  EXPECT_EQ(h.key.results[0].outcome, TormOutcome::kNoCredits);
  EXPECT_EQ(h.key.results[0].detail, "no-credits");
}

TEST(PeerRoleTest, DerkPrepareErrorMeansNothingIsSentToThatPeer) {
  KeyRoleScript script;
  script.plan = [](int) {
    return SealedPlan({Target(1, "192.0.2.1:25"), Target(2, "192.0.2.2:25")});
  };
  script.prepare = [](const ipc::DerkPrepareRequest& r) {
    if (r.index == 1) return ipc::DerkPrepareReply{ipc::Status::kFailedPrecondition, {}};
    return ipc::DerkPrepareReply{ipc::Status::kOk, BlobFor(r.index, r.channel_binding)};
  };
  Harness h(script);
  h.torm.Script("192.0.2.1:25", {Answer(TormOutcome::kOk, {1})});
  h.torm.Script("192.0.2.2:25", {Answer(TormOutcome::kOk, {2})});
  ASSERT_TRUE(h.Run(1ms).ok());
  auto calls = h.torm.Calls(TormVerb::kDerk);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_FALSE(calls[0].sent) << "the builder failed: no TORM line for peer 1";
  EXPECT_TRUE(calls[1].sent);
  ASSERT_EQ(h.key.results.size(), 1u) << "no result for the refused peer";
  EXPECT_EQ(h.key.results[0].index, 2);
  EXPECT_EQ(h.key.results[0].reply, Bytes{2});
}

TEST(PeerRoleTest, StillSealedRoundsBackOffDoublingUpToFiveMinutes) {
  KeyRoleScript script;
  script.plan = [](int) { return SealedPlan({Target(1, "192.0.2.1:25")}); };
  Harness h(script);  // the peer is never reachable
  ASSERT_TRUE(h.Run(1500s).ok());
  auto calls = h.torm.Calls(TormVerb::kDerk);
  ASSERT_GE(calls.size(), 9u);
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < calls.size(); ++i) gaps.push_back(calls[i].at_ms - calls[i - 1].at_ms);
  EXPECT_EQ(std::vector<int64_t>(gaps.begin(), gaps.begin() + 8),
            (std::vector<int64_t>{5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000}));
  // The plan and the forwarding queue are still polled every 5 s meanwhile.
  for (auto d : h.sleeps) EXPECT_LE(d, kForwardPollInterval);
  EXPECT_GE(h.Count(ipc::MsgType::kForwardPollRequest), 1500 / 5);
}

TEST(PeerRoleTest, UnsealedProgressEndsTheRoundAndSwitchesToForwarding) {
  std::atomic<bool> unsealed{false};
  KeyRoleScript script;
  script.plan = [&unsealed](int) {
    return unsealed.load() ? UnsealedPlan()
                           : SealedPlan({Target(1, "192.0.2.1:25"), Target(2, "192.0.2.2:25")});
  };
  script.result = [&unsealed](const ipc::DerkResultRequest&) {
    unsealed = true;
    return ipc::UnsealProgress{ipc::Status::kOk, false, 3, 3};
  };
  script.forwards = [](int call) {
    ipc::ForwardList list;
    if (call == 3) list.items.push_back({Bytes{0xC0, 0xDE}, "192.0.2.9:25", Pin(9)});
    return list;
  };
  Harness h(script);
  h.torm.Script("192.0.2.1:25", {Answer(TormOutcome::kOk, {7})});
  h.torm.Script("192.0.2.9:25", {Answer(TormOutcome::kOk)});
  ASSERT_TRUE(h.Run(60s).ok());
  auto derk = h.torm.Calls(TormVerb::kDerk);
  ASSERT_EQ(derk.size(), 1u) << "peer 2 is not asked once the key is unsealed, nor anyone later";
  EXPECT_EQ(h.key.results.size(), 1u);
  auto kctl = h.torm.Calls(TormVerb::kKctl);
  ASSERT_EQ(kctl.size(), 1u);
  EXPECT_EQ(kctl[0].request, (Bytes{0xC0, 0xDE}));
  EXPECT_EQ(h.Count(ipc::MsgType::kForwardPollRequest), 12) << "every 5 s for 60 s";
}

TEST(PeerRoleTest, ForwardItemsAreSentWithKctlAndTheCertificateBytes) {
  KeyRoleScript script;  // never enrolled
  script.forwards = [](int call) {
    ipc::ForwardList list;
    if (call == 0) {
      list.items.push_back({Bytes(126, 0x11), "192.0.2.5:25", Pin(5)});
      list.items.push_back({Bytes(126, 0x22), "peer6.onion:25", Pin(6)});
    }
    return list;
  };
  Harness h(script);
  h.torm.Script("192.0.2.5:25", {Answer(TormOutcome::kOk)});
  h.torm.Script("peer6.onion:25", {Answer(TormOutcome::kReplayed)});
  ASSERT_TRUE(h.Run(20s).ok());
  EXPECT_TRUE(h.torm.Calls(TormVerb::kDerk).empty());
  EXPECT_EQ(h.Count(ipc::MsgType::kDerkPrepareRequest), 0);
  auto kctl = h.torm.Calls(TormVerb::kKctl);
  ASSERT_EQ(kctl.size(), 2u) << "a refusal (replayed) is final: not sent again";
  EXPECT_EQ(kctl[0].address, "192.0.2.5:25");
  EXPECT_EQ(kctl[0].pin, Pin(5));
  EXPECT_EQ(kctl[0].request, Bytes(126, 0x11));
  EXPECT_EQ(kctl[1].address, "peer6.onion:25");
  EXPECT_EQ(kctl[1].pin, Pin(6));
  EXPECT_EQ(kctl[1].request, Bytes(126, 0x22));
}

TEST(PeerRoleTest, ForwardThatFailedOnTheWayIsRetriedWithBackoff) {
  KeyRoleScript script;
  script.forwards = [](int call) {
    ipc::ForwardList list;
    if (call == 0) list.items.push_back({Bytes{0x33}, "192.0.2.7:25", Pin(7)});
    return list;
  };
  Harness h(script);
  h.torm.Script("192.0.2.7:25", {MakeError(ErrorCode::kDeadlineExceeded, "greeting: timed out"),
                                 Answer(TormOutcome::kTemporary), Answer(TormOutcome::kOk)});
  ASSERT_TRUE(h.Run(120s).ok());
  auto kctl = h.torm.Calls(TormVerb::kKctl);
  ASSERT_EQ(kctl.size(), 3u) << "timeout, temporary, then delivered; never again";
  EXPECT_EQ(kctl[1].at_ms - kctl[0].at_ms, 5000);
  EXPECT_EQ(kctl[2].at_ms - kctl[1].at_ms, 10000);
}

TEST(PeerRoleTest, ForwardToAnAddressThatCannotWorkIsNotRetried) {
  KeyRoleScript script;
  script.forwards = [](int call) {
    ipc::ForwardList list;
    if (call == 0) list.items.push_back({Bytes{0x44}, "192.0.2.8:25", Pin(8)});
    return list;
  };
  Harness h(script);
  h.torm.Script("192.0.2.8:25", {MakeError(ErrorCode::kFailedPrecondition,
                                           "EHLO in TLS: peer does not offer TORM")});
  ASSERT_TRUE(h.Run(60s).ok());
  EXPECT_EQ(h.torm.Calls(TormVerb::kKctl).size(), 1u);
}

TEST(PeerRoleTest, ForwardIsRetriedAtMostTheMaximumNumberOfTimes) {
  KeyRoleScript script;
  script.forwards = [](int call) {
    ipc::ForwardList list;
    if (call == 0) list.items.push_back({Bytes{0x55}, "192.0.2.9:25", Pin(9)});
    return list;
  };
  Harness h(script);  // always unreachable
  ASSERT_TRUE(h.Run(4h).ok());
  EXPECT_EQ(h.torm.Calls(TormVerb::kKctl).size(), static_cast<size_t>(kMaxForwardAttempts));
}

TEST(PeerRoleTest, SealedAgainAfterUnsealRestartsAtOnceWithTheShortBackoff) {
  // Sealed (round fails, back-off grows), then unsealed for a while, then
  // sealed again (the key role restarted): the next round starts at once.
  KeyRoleScript script;
  script.plan = [](int call) {
    if (call >= 20 && call < 30) return UnsealedPlan();
    return SealedPlan({Target(1, "192.0.2.1:25")});
  };
  Harness h(script);
  ASSERT_TRUE(h.Run(200s).ok());
  auto calls = h.torm.Calls(TormVerb::kDerk);
  // Plans are fetched every 5 s: sealed until 95 s, unsealed 100..145 s.
  std::vector<int64_t> at;
  for (const auto& c : calls) at.push_back(c.at_ms / 1000);
  ASSERT_GE(at.size(), 7u);
  EXPECT_EQ(std::vector<int64_t>(at.begin(), at.begin() + 7),
            (std::vector<int64_t>{0, 5, 15, 35, 75, 150, 155}));
}

TEST(PeerRoleTest, HandshakeSkipsStaleRepliesOfAPreviousIncarnation) {
  KeyRoleScript script;
  script.stale_replies_before_hello = 2;
  Harness h(script);
  EXPECT_TRUE(h.Run(1ms).ok());
  EXPECT_EQ(h.Count(ipc::MsgType::kUnsealPlanRequest), 1);
}

TEST(PeerRoleTest, TooManyStaleRepliesBeforeHelloEndRunWithAnError) {
  KeyRoleScript script;
  script.stale_replies_before_hello = static_cast<int>(kMaxStaleReplies) + 1;
  Harness h(script);
  auto r = h.Run(1ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(h.Count(ipc::MsgType::kUnsealPlanRequest), 0);
}

TEST(PeerRoleTest, HelloFromAnotherRoleEndsRunWithAnError) {
  KeyRoleScript script;
  script.hello_role = ipc::Role::kSmtp;
  Harness h(script);
  auto r = h.Run(1ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(h.Count(ipc::MsgType::kUnsealPlanRequest), 0);
}

TEST(PeerRoleTest, UnexpectedReplyTypeEndsRunWithAnError) {
  KeyRoleScript script;
  script.answer_plan_with_wrong_type = true;
  Harness h(script);
  auto r = h.Run(60s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(h.sleeps.empty());
}

TEST(PeerRoleTest, KeyRoleThatDoesNotAnswerEndsRunWithDeadlineExceeded) {
  auto pair = ipc::Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  std::atomic<int64_t> now{0};
  FakeTorm torm(now);
  PeerRole role(
      pair->first, peer::ClientOptions{}, torm.Fn(), [](std::chrono::milliseconds) {}, 200ms);
  std::atomic<bool> stop{false};
  auto r = role.Run(stop);  // nobody reads pair->second
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
}

TEST(PeerRoleTest, LongOrControlCharacterErrorsAreCleanedForTheDetailField) {
  KeyRoleScript script;
  script.plan = [](int) { return SealedPlan({Target(1, "192.0.2.1:25")}); };
  Harness h(script);
  h.torm.Script("192.0.2.1:25", {MakeError(ErrorCode::kUnavailable,
                                           "TORM reply: bad\r\nline" + std::string(300, 'x'))});
  ASSERT_TRUE(h.Run(1ms).ok());
  ASSERT_EQ(h.key.results.size(), 1u) << "the codec accepted the detail";
  const std::string& d = h.key.results[0].detail;
  EXPECT_EQ(d.size(), ipc::kMaxDetailBytes);
  EXPECT_EQ(d.substr(0, 20), "TORM reply: bad??lin");
}

}  // namespace
}  // namespace onionmail::server
