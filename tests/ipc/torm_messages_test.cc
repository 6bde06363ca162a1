// Codec tests for the TORM messages (TormRequest, TormReply) and the peer
// role's messages (UnsealPlan ... ForwardList) of src/ipc/messages.h: exact layout, bounds on both
// sides, refusal of unknown verbs and outcomes, truncation and trailing bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "ipc/codec.h"
#include "ipc/messages.h"
#include "tests/ipc/message_round_trip.h"

namespace onionmail::ipc {
namespace {

using mail::ChannelBinding;
using mail::TormOutcome;
using mail::TormVerb;

ChannelBinding Binding() {
  ChannelBinding cb{};
  for (size_t i = 0; i < cb.size(); ++i) cb[i] = static_cast<uint8_t>(0xa0 + i);
  return cb;
}

void ExpectInvalid(const std::vector<uint8_t>& frame) {
  auto d = Decode(frame);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
}

TEST(TormMessagesTest, RequestLayoutIsVerbBindingThenBlob) {
  auto bytes = Encode(TormRequest{TormVerb::kDerk, Binding(), {7, 8, 9}});
  ASSERT_TRUE(bytes.ok());
  std::vector<uint8_t> payload = {0, 2};
  for (uint8_t b : Binding()) payload.push_back(b);
  for (uint8_t b : std::vector<uint8_t>{0, 3, 7, 8, 9}) payload.push_back(b);
  EXPECT_EQ(*bytes, Frame(MsgType::kTormRequest, payload));
  auto back = Decode(*bytes);
  ASSERT_TRUE(back.ok());
  const auto& m = std::get<TormRequest>(*back);
  EXPECT_EQ(m.verb, TormVerb::kDerk);
  EXPECT_EQ(m.channel_binding, Binding());
  EXPECT_EQ(m.blob, (std::vector<uint8_t>{7, 8, 9}));
}

TEST(TormMessagesTest, RequestBlobIsBoundedOnBothSides) {
  EXPECT_FALSE(Encode(TormRequest{TormVerb::kPush, Binding(), {}}).ok());
  EXPECT_FALSE(Encode(TormRequest{TormVerb::kPush, Binding(),
                                  std::vector<uint8_t>(mail::kMaxTormBlobBytes + 1)})
                   .ok());
  auto max = Encode(
      TormRequest{TormVerb::kKctl, Binding(), std::vector<uint8_t>(mail::kMaxTormBlobBytes, 1)});
  ASSERT_TRUE(max.ok());
  EXPECT_TRUE(Decode(*max).ok());
  std::vector<uint8_t> over = {0, 1};
  for (uint8_t b : Binding()) over.push_back(b);
  size_t n = mail::kMaxTormBlobBytes + 1;
  over.push_back(static_cast<uint8_t>(n >> 8));
  over.push_back(static_cast<uint8_t>(n));
  over.resize(over.size() + n, 1);
  ExpectInvalid(Frame(MsgType::kTormRequest, over));
}

TEST(TormMessagesTest, UnknownVerbIsRefusedByEncoderAndDecoder) {
  EXPECT_FALSE(Encode(TormRequest{static_cast<TormVerb>(0), Binding(), {1}}).ok());
  EXPECT_FALSE(Encode(TormRequest{static_cast<TormVerb>(5), Binding(), {1}}).ok());
  for (uint16_t verb : {0, 5, 0x100 + 1}) {
    std::vector<uint8_t> p = {static_cast<uint8_t>(verb >> 8), static_cast<uint8_t>(verb)};
    for (uint8_t b : Binding()) p.push_back(b);
    for (uint8_t b : std::vector<uint8_t>{0, 1, 1}) p.push_back(b);
    ExpectInvalid(Frame(MsgType::kTormRequest, p));
  }
}

TEST(TormMessagesTest, ReplyCarriesOutcomeAndOptionalBlob) {
  auto ok = Encode(TormReply{TormOutcome::kOk, {1, 2}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, Frame(MsgType::kTormReply, {0, 0, 0, 2, 1, 2}));
  auto refused = Encode(TormReply{TormOutcome::kNoCredits, {}});
  ASSERT_TRUE(refused.ok());
  auto back = Decode(*refused);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<TormReply>(*back).outcome, TormOutcome::kNoCredits);
  EXPECT_TRUE(std::get<TormReply>(*back).blob.empty());
  EXPECT_FALSE(Encode(TormReply{static_cast<TormOutcome>(mail::kMaxTormOutcome + 1), {}}).ok());
  ExpectInvalid(Frame(MsgType::kTormReply, {0, mail::kMaxTormOutcome + 1, 0, 0}));
}

TEST(TormMessagesTest, TruncatedOrExtendedFramesAreRefused) {
  for (const Message& m : {Message{TormRequest{TormVerb::kStat, Binding(), {5}}},
                           Message{TormReply{TormOutcome::kOk, {6, 7}}}}) {
    auto good = Encode(m);
    ASSERT_TRUE(good.ok());
    std::vector<uint8_t> payload(good->begin() + kFrameHeaderBytes, good->end());
    for (size_t n = 0; n < payload.size(); ++n) {
      ExpectInvalid(Frame(TypeOf(m), std::vector<uint8_t>(payload.begin(), payload.begin() + n)));
    }
    payload.push_back(0);
    ExpectInvalid(Frame(TypeOf(m), payload));
  }
}

// ---- peer role <-> key role (UnsealPlan, DerkPrepare, DerkResult, Forward) ----

UnsealTarget Target(uint16_t index, std::string address) {
  UnsealTarget t;
  t.index = index;
  t.address = std::move(address);
  t.pin.fill(static_cast<uint8_t>(index));
  return t;
}

TEST(PeerRoleMessagesTest, UnsealPlanRoundTripsAndBoundsItsTargets) {
  UnsealPlan plan{true, true, {Target(0, "127.0.0.1:2601"), Target(3, "x.onion:25")}};
  auto got = RoundTrip(plan);
  EXPECT_TRUE(got.enrolled);
  EXPECT_TRUE(got.sealed);
  ASSERT_EQ(got.targets.size(), 2u);
  EXPECT_EQ(got.targets[1].index, 3);
  EXPECT_EQ(got.targets[1].address, "x.onion:25");
  EXPECT_EQ(got.targets[1].pin, plan.targets[1].pin);
  EXPECT_TRUE(RoundTrip(UnsealPlan{false, false, {}}).targets.empty());
  UnsealPlan over{true, true, std::vector<UnsealTarget>(kMaxUnsealTargets + 1, Target(1, "a:1"))};
  EXPECT_FALSE(Encode(over).ok());
  EXPECT_FALSE(Encode(UnsealPlan{true, true, {Target(1, "")}}).ok());
  EXPECT_FALSE(Encode(UnsealPlan{true, true, {Target(1, std::string(256, 'a'))}}).ok());
  EXPECT_FALSE(Encode(UnsealPlan{true, true, {Target(1, "bad\naddress")}}).ok());
  // A boolean must be 0 or 1.
  ExpectInvalid(Frame(MsgType::kUnsealPlan, {0, 2, 0, 1, 0, 0}));
}

TEST(PeerRoleMessagesTest, DerkPrepareAndResultRoundTrip) {
  auto prep = RoundTrip(DerkPrepareRequest{7, Binding()});
  EXPECT_EQ(prep.index, 7);
  EXPECT_EQ(prep.channel_binding, Binding());
  auto reply = RoundTrip(DerkPrepareReply{Status::kOk, {1, 2, 3}});
  EXPECT_EQ(reply.blob, (std::vector<uint8_t>{1, 2, 3}));
  DerkResultRequest result;
  result.index = 2;
  result.reached = true;
  result.outcome = TormOutcome::kNoCredits;
  result.detail = "no-credits";
  auto got = RoundTrip(result);
  EXPECT_TRUE(got.reached);
  EXPECT_EQ(got.outcome, TormOutcome::kNoCredits);
  EXPECT_EQ(got.detail, "no-credits");
  result.detail.assign(kMaxDetailBytes + 1, 'd');
  EXPECT_FALSE(Encode(result).ok());
  result.detail.clear();
  result.outcome = static_cast<TormOutcome>(mail::kMaxTormOutcome + 1);
  EXPECT_FALSE(Encode(result).ok());
  auto progress = RoundTrip(UnsealProgress{Status::kDataLoss, true, 2, 3});
  EXPECT_EQ(progress.status, Status::kDataLoss);
  EXPECT_EQ(progress.shares_held, 2);
  EXPECT_EQ(progress.threshold, 3);
}

TEST(PeerRoleMessagesTest, ForwardListRoundTripsAndBoundsCertificates) {
  ForwardItem item;
  item.certificate.assign(126, 0x5a);
  item.address = "127.0.0.1:2602";
  item.pin.fill(9);
  auto got = RoundTrip(ForwardList{{item, item}});
  ASSERT_EQ(got.items.size(), 2u);
  EXPECT_EQ(got.items[0].certificate, item.certificate);
  EXPECT_EQ(got.items[1].pin, item.pin);
  item.certificate.assign(kMaxKctlCertBytes + 1, 1);
  EXPECT_FALSE(Encode(ForwardList{{item}}).ok());
  item.certificate.clear();
  EXPECT_FALSE(Encode(ForwardList{{item}}).ok());
  EXPECT_FALSE(Encode(ForwardList{std::vector<ForwardItem>(kMaxForwardItems + 1)}).ok());
}

TEST(PeerRoleMessagesTest, PeerRoleHelloIsValid) {
  auto h = RoundTrip(Hello{Role::kPeer, kProtocolVersion});
  EXPECT_EQ(h.role, Role::kPeer);
}

TEST(PeerRoleMessagesTest, TruncatedOrExtendedFramesAreRefused) {
  ForwardItem item;
  item.certificate = {1};
  item.address = "a:1";
  for (const Message& m :
       {Message{UnsealPlan{true, false, {Target(1, "a:1")}}},
        Message{DerkPrepareRequest{1, Binding()}}, Message{DerkPrepareReply{Status::kOk, {4}}},
        Message{DerkResultRequest{1, true, TormOutcome::kOk, {5}, "x"}},
        Message{UnsealProgress{Status::kOk, false, 3, 3}}, Message{ForwardList{{item}}}}) {
    auto good = Encode(m);
    ASSERT_TRUE(good.ok());
    std::vector<uint8_t> payload(good->begin() + kFrameHeaderBytes, good->end());
    for (size_t n = 0; n < payload.size(); ++n) {
      ExpectInvalid(Frame(TypeOf(m), std::vector<uint8_t>(payload.begin(), payload.begin() + n)));
    }
    payload.push_back(0);
    ExpectInvalid(Frame(TypeOf(m), payload));
  }
}

TEST(TormMessagesTest, EveryOutcomeHasADistinctKeyword) {
  std::vector<std::string_view> seen;
  for (uint8_t v = 0; v <= mail::kMaxTormOutcome; ++v) {
    std::string_view k = mail::TormOutcomeKeyword(static_cast<TormOutcome>(v));
    EXPECT_NE(k, "unknown");
    for (std::string_view s : seen) EXPECT_NE(s, k);
    seen.push_back(k);
  }
}

}  // namespace
}  // namespace onionmail::ipc
