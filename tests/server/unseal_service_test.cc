// UnsealService (the key role's side of the boot-time unseal) end to end in
// one process, without sockets: a real state directory (file key store),
// enrolled with unseal::Enrol against three real peers (each a PartnerStore
// over its own file key store behind a TormHandler), then unsealed by
// carrying Prepare()'s signed DERK requests to the peers' handlers and their
// replies back to Report(), as the peer role does over TLS.
#include "server/unseal_service.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "hsm/key_store.h"
#include "net/remote_key.h"
#include "server/state.h"
#include "server/torm_handler.h"
#include "tests/store/test_util.h"
#include "unseal/master_key.h"
#include "unseal/partner_store.h"
#include "unseal/torm_wire.h"

namespace onionmail::server {
namespace {

using mail::TormOutcome;
using onionmail::testing::TempDir;

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

struct Peer {
  std::string address;
  std::unique_ptr<hsm::KeyStore> keys;
  std::unique_ptr<unseal::PartnerStore> store;
  std::unique_ptr<TormHandler> handler;
};

mail::ChannelBinding Binding(uint8_t b) {
  mail::ChannelBinding cb;
  cb.fill(b);
  return cb;
}

class UnsealServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.state_dir = dir_.path() + "/state";
    config_.argon2_t_cost = 1;
    config_.argon2_m_cost_kib = 8192;
    config_.smtp_auth_cache_seconds = 0;
    ASSERT_TRUE(InitState(config_).ok());
    for (int i = 0; i < 3; ++i) {
      Peer p;
      p.address = "127.0.0.1:" + std::to_string(2601 + i);
      auto keys = hsm::CreateFileKeyStore(dir_.path() + "/peer" + std::to_string(i) + ".key");
      ASSERT_TRUE(keys.ok());
      p.keys = std::move(*keys);
      auto store =
          unseal::PartnerStore::Open(dir_.path() + "/partners" + std::to_string(i), *p.keys, {});
      ASSERT_TRUE(store.ok());
      p.store = std::move(*store);
      p.handler = std::make_unique<TormHandler>(*p.store, KctlForwarder());
      peers_.push_back(std::move(p));
    }
    // Enrol 3-of-4 (three peers and the local share) through real PUSHes.
    auto state = State::Open(config_);
    ASSERT_TRUE(state.ok());
    auto signer = SignerFor(**state);
    std::vector<unseal::EnrolPeer> enrolled;
    for (size_t i = 0; i < peers_.size(); ++i) {
      unseal::PushBody body;
      body.t = 3;
      body.n = 4;
      body.peer_id = peers_[i].address;
      body.kctl_pub.fill(7);
      body.credits_requested = 10;
      auto encoded = unseal::EncodePushBody(body);
      ASSERT_TRUE(encoded.ok());
      auto request = signer(unseal::Verb::kPush, Binding(1), *encoded);
      ASSERT_TRUE(request.ok()) << request.error().message;
      auto answer = peers_[i].handler->Handle(mail::TormVerb::kPush, Binding(1), *request);
      ASSERT_TRUE(answer.ok());
      ASSERT_EQ(answer->outcome, TormOutcome::kOk);
      auto reply = unseal::ParsePushReply(answer->reply);
      ASSERT_TRUE(reply.ok());
      unseal::EnrolPeer e;
      e.peer_id = peers_[i].address;
      e.tls_pin.fill(static_cast<uint8_t>(i));
      e.S = reply->S;
      enrolled.push_back(e);
    }
    auto summary = unseal::Enrol(config_.state_dir, (*state)->device_keys(), unseal::NewMasterKey(),
                                 3, enrolled);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
  }

  // Signs like key_main.cc: the server key through State::ServerPrivateRaw.
  RequestSigner SignerFor(State& state) {
    auto spki = state.ServerPublicKey();
    EXPECT_TRUE(spki.ok());
    auto key = net::MakeRemoteRsaKey(
        *spki, [&state](std::span<const uint8_t> in) { return state.ServerPrivateRaw(in); });
    EXPECT_TRUE(key.ok());
    std::shared_ptr<EVP_PKEY> owned(*key, EVP_PKEY_free);
    return [owned](unseal::Verb verb, const mail::ChannelBinding& cb,
                   std::span<const uint8_t> body) -> Result<std::vector<uint8_t>> {
      auto req = unseal::SignRequestWithKey(owned.get(), verb, cb, body);
      if (!req.ok()) return req.error();
      return unseal::EncodeSignedRequest(*req);
    };
  }

  // Opens the (enrolled) state and its UnsealService, as the key role does.
  void Boot() {
    auto state = State::Open(config_);
    ASSERT_TRUE(state.ok()) << state.error().message;
    state_ = std::move(*state);
    auto unsealer = unseal::Unsealer::Load(config_.state_dir, state_->device_keys());
    ASSERT_TRUE(unsealer.ok()) << unsealer.error().message;
    service_ = std::make_unique<UnsealService>(*state_, std::move(*unsealer), SignerFor(*state_));
  }

  // What the peer role does for one target over one "connection".
  ipc::UnsealProgress Ask(size_t peer, uint8_t connection) {
    ipc::DerkPrepareRequest prep{static_cast<uint16_t>(peer), Binding(connection)};
    auto prepared = service_->Prepare(prep);
    EXPECT_EQ(prepared.status, ipc::Status::kOk);
    auto answer =
        peers_[peer].handler->Handle(mail::TormVerb::kDerk, Binding(connection), prepared.blob);
    EXPECT_TRUE(answer.ok());
    ipc::DerkResultRequest result;
    result.index = static_cast<uint16_t>(peer);
    result.reached = true;
    result.outcome = answer->outcome;
    result.reply = answer->reply;
    return service_->Report(result);
  }

  ipc::UnsealProgress Unreachable(size_t peer) {
    ipc::DerkResultRequest result;
    result.index = static_cast<uint16_t>(peer);
    result.reached = false;
    result.detail = "connect: refused";
    return service_->Report(result);
  }

  TempDir dir_;
  config::Config config_;
  std::vector<Peer> peers_;
  std::unique_ptr<State> state_;
  std::unique_ptr<UnsealService> service_;
};

TEST_F(UnsealServiceTest, EnrolledStateBootsSealedAndRefusesUserOperations) {
  Boot();
  EXPECT_TRUE(state_->enrolled());
  EXPECT_TRUE(state_->sealed());
  auto created = state_->keys().CreateUser("alice", Pw("a-smtp"), Pw("a-pop3"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kSealed);
  auto checked = state_->delivery().CheckRecipient("alice", 0, "");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::kSealed);
  auto opened = state_->mailboxes().Open("alice", Pw("a-pop3"));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kSealed);
  ipc::UnsealPlan plan = service_->Plan();
  EXPECT_TRUE(plan.enrolled);
  EXPECT_TRUE(plan.sealed);
  ASSERT_EQ(plan.targets.size(), 3u);
  EXPECT_EQ(plan.targets[1].address, "127.0.0.1:2602");
}

TEST_F(UnsealServiceTest, TwoPeersPlusTheLocalShareUnsealWithOneDown) {
  Boot();
  EXPECT_TRUE(Unreachable(0).sealed);
  auto p = Ask(1, 10);
  EXPECT_TRUE(p.sealed);
  EXPECT_EQ(p.shares_held, 2);
  EXPECT_EQ(p.threshold, 3);
  p = Ask(2, 11);
  EXPECT_EQ(p.status, ipc::Status::kOk);
  EXPECT_FALSE(p.sealed);
  EXPECT_FALSE(state_->sealed());
  EXPECT_TRUE(service_->Plan().targets.empty());
  ASSERT_TRUE(state_->keys().CreateUser("alice", Pw("a-smtp"), Pw("a-pop3")).ok());
  EXPECT_TRUE(state_->delivery().CheckRecipient("alice", 0, "").ok());
  std::string status = service_->StatusText();
  EXPECT_NE(status.find("sealed: no"), std::string::npos) << status;
  EXPECT_NE(status.find("unreachable (unreachable: connect: refused)"), std::string::npos)
      << status;
}

TEST_F(UnsealServiceTest, OnlyOnePeerKeepsItSealedAndSaysWhy) {
  Boot();
  Unreachable(0);
  Unreachable(2);
  auto p = Ask(1, 10);
  EXPECT_TRUE(p.sealed);
  EXPECT_EQ(p.shares_held, 2);
  std::string status = service_->StatusText();
  EXPECT_NE(status.find("sealed: yes"), std::string::npos) << status;
  EXPECT_NE(status.find("shares held: 2"), std::string::npos) << status;
  // What the peer said of this server: 10 credits granted at PUSH, one spent.
  EXPECT_NE(status.find("peer 1: answered; credits left 9, answered 1 time(s) in all"),
            std::string::npos)
      << status;
  // The peers that did not answer stay in the plan: a later round retries them.
  ipc::UnsealPlan plan = service_->Plan();
  ASSERT_EQ(plan.targets.size(), 2u);
  EXPECT_EQ(plan.targets[0].index, 0);
  EXPECT_EQ(plan.targets[1].index, 2);
  // ... and when one comes back, the server unseals without a restart.
  EXPECT_FALSE(Ask(2, 12).sealed);
}

TEST_F(UnsealServiceTest, UserDataWrittenAfterUnsealIsReadableAfterTheNextUnsealOnly) {
  Boot();
  Ask(0, 10);
  Ask(1, 11);
  ASSERT_FALSE(state_->sealed());
  ASSERT_TRUE(state_->keys().CreateUser("bob", Pw("b-smtp"), Pw("b-pop3")).ok());
  // Reboot: sealed again, bob unknown to the sealed server, known after unseal.
  service_.reset();
  state_.reset();
  Boot();
  EXPECT_EQ(state_->keys().LookupUser("bob").error().code, ErrorCode::kSealed);
  Ask(1, 20);
  Ask(2, 21);
  ASSERT_FALSE(state_->sealed());
  EXPECT_TRUE(state_->keys().LookupUser("bob").ok());
  EXPECT_TRUE(state_->keys().VerifySmtpPassword("bob", Pw("b-smtp")).ok());
}

TEST_F(UnsealServiceTest, ARefusingPeerIsRecordedAndOthersStillUnseal) {
  Boot();
  // Peer 0's operator disabled this server with KCTL: its refusal arrives.
  ipc::DerkResultRequest refused;
  refused.index = 0;
  refused.reached = true;
  refused.outcome = TormOutcome::kDisabled;
  EXPECT_TRUE(service_->Report(refused).sealed);
  EXPECT_NE(service_->StatusText().find("refused: disabled"), std::string::npos);
  Ask(1, 10);
  EXPECT_FALSE(Ask(2, 11).sealed);
}

TEST_F(UnsealServiceTest, AWrongAnswerIsReportedAsDataLossAndNotRetried) {
  Boot();
  auto prepared = service_->Prepare(ipc::DerkPrepareRequest{0, Binding(10)});
  ASSERT_EQ(prepared.status, ipc::Status::kOk);
  // Peer 1 answers peer 0's request: a valid point, but the wrong one.
  auto parsed = unseal::ParseSignedRequest(prepared.blob);
  ASSERT_TRUE(parsed.ok());
  auto body = unseal::ParseDerkBody(parsed->body);
  ASSERT_TRUE(body.ok());
  unseal::DerkReply wrong;
  wrong.Y = body->X;  // Y = X: what a peer with s = 1 would say
  auto encoded = unseal::EncodeDerkReply(wrong);
  ASSERT_TRUE(encoded.ok());
  ipc::DerkResultRequest result;
  result.index = 0;
  result.reached = true;
  result.outcome = TormOutcome::kOk;
  result.reply = *encoded;
  auto p = service_->Report(result);
  EXPECT_EQ(p.status, ipc::Status::kDataLoss);
  EXPECT_TRUE(p.sealed);
  EXPECT_NE(service_->StatusText().find("peer 0: wrong"), std::string::npos)
      << service_->StatusText();
  ipc::UnsealPlan plan = service_->Plan();
  ASSERT_EQ(plan.targets.size(), 2u);
  EXPECT_EQ(plan.targets[0].index, 1);
  Ask(1, 11);
  EXPECT_FALSE(Ask(2, 12).sealed);
}

TEST_F(UnsealServiceTest, EachPrepareSendsADifferentBlindedPoint) {
  Boot();
  std::vector<unseal::Point> seen;
  for (uint8_t c = 0; c < 4; ++c) {
    auto prepared = service_->Prepare(ipc::DerkPrepareRequest{1, Binding(c)});
    ASSERT_EQ(prepared.status, ipc::Status::kOk);
    auto parsed = unseal::ParseSignedRequest(prepared.blob);
    auto body = unseal::ParseDerkBody(parsed->body);
    ASSERT_TRUE(body.ok());
    for (const auto& x : seen) EXPECT_NE(x, body->X);
    seen.push_back(body->X);
  }
}

TEST_F(UnsealServiceTest, StatusFileIsWrittenAndHoldsNoSecret) {
  Boot();
  Ask(0, 10);
  Ask(1, 11);
  auto bytes = onionmail::testing::ReadFileBytes(config_.state_dir + "/unseal/status");
  std::string text(bytes.begin(), bytes.end());
  EXPECT_NE(text.find("sealed: no"), std::string::npos) << text;
  EXPECT_NE(text.find("threshold: 3 of 4"), std::string::npos) << text;
  EXPECT_EQ(text.find("127.0.0.1"), std::string::npos) << "no peer address on disk: " << text;
}

TEST_F(UnsealServiceTest, ForwardsAreHandedOutOnce) {
  Boot();
  unseal::ForwardPeer a{"127.0.0.1:1", {}};
  unseal::ForwardPeer b{"127.0.0.1:2", {}};
  service_->EnqueueForward({1, 2, 3}, {a, b});
  auto list = service_->PollForwards();
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[1].address, "127.0.0.1:2");
  EXPECT_EQ(list.items[0].certificate, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_TRUE(service_->PollForwards().items.empty());
}

}  // namespace
}  // namespace onionmail::server
