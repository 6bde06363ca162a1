// The key role's side of TKIM (docs/PROTOCOL.md, "TKIM") over a real state
// directory (file key store), signing as key_main.cc does (the server key
// through State::ServerPrivateRaw): the server key a front end's session
// gets for `TKIM KEY` (KeyRoleServer, ServerKeyRequest), and the proofs the
// relay role asks for on its channel (UnsealService::TkimProof/ServeRelay),
// checked with the receiver's own code (unseal::CheckTkimRequest), and the
// vouches it asks for on the same channel (UnsealService::TkimVouch).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.h"
#include "ipc/channel.h"
#include "net/remote_key.h"
#include "server/key_service_role.h"
#include "server/state.h"
#include "server/tkim_vouch.h"
#include "server/tls_identity.h"
#include "server/unseal_service.h"
#include "tests/store/test_util.h"
#include "unseal/tkim_wire.h"
#include "unseal/torm_wire.h"

// As remote_backend_fixture.h: OpenSSL's per-thread state of the key role's
// detached session threads is still there when the test process exits.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcrypto.so\n"; }

namespace onionmail::server {
namespace {

using onionmail::testing::TempDir;

// v3 onion names of the TKIM test vectors (docs/PROTOCOL.md).
constexpr char kOwn[] = "c5j427vx2jqfswevlixlr6xoshvaojzfnfyq2verfqys43ddjyim56qd.onion";
constexpr char kReceiver[] = "hb53jwwf6mybde3jqmx4xys74nsvw3esiswtyhegofrgmexlfqx7gpid.onion";
constexpr std::chrono::seconds kWait{10};

mail::ChannelBinding Binding(uint8_t b) {
  mail::ChannelBinding cb;
  cb.fill(b);
  return cb;
}

uint64_t Now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

class TkimKeyRoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.state_dir = dir_.path() + "/state";
    config_.domain = kOwn;
    config_.argon2_t_cost = 1;
    config_.argon2_m_cost_kib = 8192;
    ASSERT_TRUE(InitState(config_).ok());
    auto state = State::Open(config_);
    ASSERT_TRUE(state.ok()) << state.error().message;
    state_ = std::move(*state);
    auto spki = state_->ServerPublicKey();
    ASSERT_TRUE(spki.ok());
    spki_ = *spki;
    auto key = net::MakeRemoteRsaKey(spki_, [st = state_.get()](std::span<const uint8_t> in) {
      return st->ServerPrivateRaw(in);
    });
    ASSERT_TRUE(key.ok());
    std::shared_ptr<EVP_PKEY> owned(*key, EVP_PKEY_free);
    service_ = std::make_unique<UnsealService>(
        *state_, nullptr,
        [owned](unseal::Verb verb, const mail::ChannelBinding& cb,
                std::span<const uint8_t> body) -> Result<std::vector<uint8_t>> {
          auto req = unseal::SignRequestWithKey(owned.get(), verb, cb, body);
          if (!req.ok()) return req.error();
          return unseal::EncodeSignedRequest(*req);
        });
  }

  ipc::TkimProofReply Ask(std::string receiver, uint8_t cb) {
    return service_->TkimProof(ipc::TkimProofRequest{std::move(receiver), Binding(cb)}, Now());
  }

  TempDir dir_;
  config::Config config_;
  std::unique_ptr<State> state_;
  std::vector<uint8_t> spki_;
  std::unique_ptr<UnsealService> service_;
};

TEST_F(TkimKeyRoleTest, ProofForAV3OnionIsAcceptedByTheReceiverAndNamesTheServerKey) {
  const auto reply = Ask(kReceiver, 7);
  ASSERT_EQ(reply.status, ipc::Status::kOk);
  auto proof = unseal::CheckTkimRequest(reply.proof, Binding(7), kReceiver, Now());
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  EXPECT_EQ(proof->sender_domain, kOwn);
  EXPECT_EQ(proof->key_id, unseal::PartnerIdOf(spki_));
}

TEST_F(TkimKeyRoleTest, ProofIsBoundToItsChannelBinding) {
  const auto reply = Ask(kReceiver, 7);
  ASSERT_EQ(reply.status, ipc::Status::kOk);
  auto other = unseal::CheckTkimRequest(reply.proof, Binding(8), kReceiver, Now());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(TkimKeyRoleTest, ProofCarriesTheSignersClock) {
  const auto reply = service_->TkimProof(ipc::TkimProofRequest{kReceiver, Binding(1)}, 1798761600);
  ASSERT_EQ(reply.status, ipc::Status::kOk);
  auto request = unseal::ParseSignedRequest(reply.proof);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->verb, unseal::Verb::kTkim);
  auto body = unseal::ParseTkimBody(request->body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, (unseal::TkimBody{kOwn, kReceiver, 1798761600}));
  EXPECT_EQ(request->spki_der, spki_);
}

TEST_F(TkimKeyRoleTest, UpperCaseReceiverIsSignedInLowerCase) {
  std::string upper = kReceiver;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto reply = Ask(upper, 3);
  ASSERT_EQ(reply.status, ipc::Status::kOk);
  EXPECT_TRUE(unseal::CheckTkimRequest(reply.proof, Binding(3), kReceiver, Now()).ok());
}

TEST_F(TkimKeyRoleTest, NonOnionReceiverIsRefused) {
  for (const char* receiver : {"example.com", "localhost.onion", "", "aaaa.onion"}) {
    const auto reply = Ask(receiver, 1);
    EXPECT_EQ(reply.status, ipc::Status::kInvalidArgument) << receiver;
    EXPECT_TRUE(reply.proof.empty());
  }
}

TEST_F(TkimKeyRoleTest, OwnDomainAsReceiverIsRefused) {
  const auto reply = Ask(kOwn, 1);
  EXPECT_EQ(reply.status, ipc::Status::kInvalidArgument);
  EXPECT_TRUE(reply.proof.empty());
}

TEST_F(TkimKeyRoleTest, ServerWhoseDomainIsNotAV3OnionSignsNoProof) {
  config_.domain = "mail.example.org";
  // The service reads the domain from the state's config: a state opened
  // with the other domain.
  auto state = State::Open(config_);
  ASSERT_TRUE(state.ok());
  UnsealService service(**state, nullptr,
                        [](unseal::Verb, const mail::ChannelBinding&,
                           std::span<const uint8_t>) -> Result<std::vector<uint8_t>> {
                          ADD_FAILURE() << "signed";
                          return std::vector<uint8_t>{};
                        });
  const auto reply = service.TkimProof(ipc::TkimProofRequest{kReceiver, Binding(1)}, Now());
  EXPECT_EQ(reply.status, ipc::Status::kFailedPrecondition);
  EXPECT_TRUE(reply.proof.empty());
}

TEST_F(TkimKeyRoleTest, RelayChannelAnswersRequestsInOrderUntilItCloses) {
  auto pair = ipc::Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  Result<void> served = Ok();
  std::thread server([&, ch = std::move(pair->second)]() mutable {
    served = service_->ServeRelay(std::move(ch));
  });
  std::optional<ipc::Channel> relay(std::move(pair->first));
  ASSERT_TRUE(relay->Send(ipc::TkimProofRequest{kReceiver, Binding(5)}).ok());
  ASSERT_TRUE(relay->Send(ipc::TkimProofRequest{"example.com", Binding(6)}).ok());
  auto first = relay->Receive(kWait);
  ASSERT_TRUE(first.ok());
  const auto& ok = std::get<ipc::TkimProofReply>(*first);
  ASSERT_EQ(ok.status, ipc::Status::kOk);
  EXPECT_TRUE(unseal::CheckTkimRequest(ok.proof, Binding(5), kReceiver, Now()).ok());
  auto second = relay->Receive(kWait);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(std::get<ipc::TkimProofReply>(*second).status, ipc::Status::kInvalidArgument);
  relay.reset();
  server.join();
  ASSERT_FALSE(served.ok());
  EXPECT_EQ(served.error().code, ErrorCode::kUnavailable);
}

TEST_F(TkimKeyRoleTest, AnyOtherMessageOnTheRelayChannelEndsServingIt) {
  auto pair = ipc::Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  Result<void> served = Ok();
  std::thread server([&, ch = std::move(pair->second)]() mutable {
    served = service_->ServeRelay(std::move(ch));
  });
  ASSERT_TRUE(pair->first.Send(ipc::ServerKeyRequest{}).ok());
  server.join();
  ASSERT_FALSE(served.ok());
  EXPECT_EQ(served.error().code, ErrorCode::kInvalidArgument);
  // Nothing was answered, and the key role's end is closed.
  auto after = pair->first.Receive(kWait);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
}

TEST_F(TkimKeyRoleTest, RelayChannelVouchesForAnotherOnionThatTheSameVouchesCheck) {
  TkimVouches vouches;
  service_->set_vouches(&vouches);
  auto pair = ipc::Channel::CreatePair();
  ASSERT_TRUE(pair.ok());
  Result<void> served = Ok();
  std::thread server([&, ch = std::move(pair->second)]() mutable {
    served = service_->ServeRelay(std::move(ch));
  });
  std::optional<ipc::Channel> relay(std::move(pair->first));
  std::string upper = kReceiver;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // Proofs and vouches share the channel, answered in order.
  ASSERT_TRUE(relay->Send(ipc::TkimVouchRequest{upper}).ok());
  ASSERT_TRUE(relay->Send(ipc::TkimProofRequest{kReceiver, Binding(5)}).ok());
  ASSERT_TRUE(relay->Send(ipc::TkimVouchRequest{kOwn}).ok());
  ASSERT_TRUE(relay->Send(ipc::TkimVouchRequest{"example.com"}).ok());
  auto first = relay->Receive(kWait);
  ASSERT_TRUE(first.ok());
  const auto& vouch = std::get<ipc::TkimVouchReply>(*first);
  ASSERT_EQ(vouch.status, ipc::Status::kOk);
  EXPECT_EQ(vouch.sender_domain, upper) << "the request's name, to match it";
  auto expiry = vouches.Check(kReceiver, vouch.vouch, Now());
  ASSERT_TRUE(expiry.ok()) << expiry.error().message;
  EXPECT_GE(*expiry, Now() + kTkimVouchLifetime - 5);
  EXPECT_FALSE(vouches.Check(kOwn, vouch.vouch, Now()).ok());
  auto second = relay->Receive(kWait);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(std::get<ipc::TkimProofReply>(*second).status, ipc::Status::kOk);
  for (int i = 0; i < 2; ++i) {  // this server itself; not an onion
    auto refused = relay->Receive(kWait);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(std::get<ipc::TkimVouchReply>(*refused).status, ipc::Status::kInvalidArgument);
    EXPECT_TRUE(std::get<ipc::TkimVouchReply>(*refused).vouch.empty());
  }
  relay.reset();
  server.join();
  EXPECT_EQ(served.error().code, ErrorCode::kUnavailable);
}

TEST_F(TkimKeyRoleTest, WithoutVouchesTheRelayRoleGetsNone) {
  const auto reply = service_->TkimVouch(ipc::TkimVouchRequest{kReceiver}, Now());
  EXPECT_EQ(reply.status, ipc::Status::kFailedPrecondition);
  EXPECT_TRUE(reply.vouch.empty());
}

// ServerKeyRequest on an SMTP session link, as the front end asks for `TKIM KEY`.
class ServerKeyTest : public TkimKeyRoleTest {
 protected:
  // Serves one SMTP control channel and returns the reply to one
  // ServerKeyRequest on a session. The server lives until the process exits
  // (its session threads are detached, as in the key role).
  ipc::ServerKeyReply AskServerKey(bool with_key) {
    auto tls = LoadTlsIdentity(*state_);
    EXPECT_TRUE(tls.ok());
    // Kept reachable for LeakSanitizer: never destroyed, as in the key role.
    static auto* kept = new std::vector<std::pair<std::unique_ptr<State>, KeyRoleServer*>>;
    auto* server = new KeyRoleServer(*state_, std::move(*tls), 8);
    kept->emplace_back(std::move(state_), server);
    if (with_key) server->set_server_key(spki_);
    auto control = ipc::Channel::CreatePair();
    EXPECT_TRUE(control.ok());
    std::thread([server, ch = std::move(control->second)]() mutable {
      (void)server->ServeControl(std::move(ch), FrontEnd::kSmtp);
    }).detach();
    auto session = ipc::Channel::CreatePair();
    EXPECT_TRUE(session.ok());
    EXPECT_TRUE(control->first.SendFd(ipc::NewSession{}, session->second.fd()).ok());
    EXPECT_TRUE(session->first.Send(ipc::ServerKeyRequest{}).ok());
    auto reply = session->first.Receive(kWait);
    EXPECT_TRUE(reply.ok());
    if (!reply.ok() || !std::holds_alternative<ipc::ServerKeyReply>(*reply)) return {};
    return std::get<ipc::ServerKeyReply>(*reply);
  }
};

TEST_F(ServerKeyTest, SmtpSessionGetsTheKeyThatSignsProofs) {
  const auto proof = Ask(kReceiver, 9);
  ASSERT_EQ(proof.status, ipc::Status::kOk);
  service_.reset();  // the state moves to the server below
  const auto reply = AskServerKey(true);
  ASSERT_EQ(reply.status, ipc::Status::kOk);
  EXPECT_EQ(reply.spki_der, spki_);
  auto checked = unseal::CheckTkimRequest(proof.proof, Binding(9), kReceiver, Now());
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->key_id, unseal::PartnerIdOf(reply.spki_der));
}

TEST_F(ServerKeyTest, WithoutAServerKeyTheAnswerIsNotFound) {
  service_.reset();
  const auto reply = AskServerKey(false);
  EXPECT_EQ(reply.status, ipc::Status::kNotFound);
  EXPECT_TRUE(reply.spki_der.empty());
}

}  // namespace
}  // namespace onionmail::server
