// TKIM in the relay role, end to end minus the processes: the front end's
// RemoteRelayBackend::CheckTkim -> ServeRelayControl / ServeRelaySession ->
// CheckTkim -> MailClient through an in-test SOCKS5 proxy -> a real
// smtp::Session answering `TKIM KEY` for the sender's onion (kRemoteOnion).
// And the sending side: a relayed transaction to a remote that offers TKIM
// sends a proof the remote can check for its own side of the TLS connection.
#include "server/relay_tkim.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ipc/bounds.h"
#include "ipc/channel.h"
#include "mail/tkim.h"
#include "server/relay_backend.h"
#include "server/relay_session.h"
#include "tests/server/relay_test_util.h"
#include "tests/unseal/torm_test_keys.h"
#include "unseal/tkim_wire.h"

namespace onionmail::server {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

// The remote's TKIM service: its key is the RSA test key; records the proofs.
class FakeTkim : public mail::TkimService {
 public:
  Result<Bytes> ServerKey() override { return unseal::SpkiOf(unseal::ServerKey()); }
  Result<std::string> Check(const mail::ChannelBinding& cb,
                            std::span<const uint8_t> proof) override {
    std::lock_guard<std::mutex> lock(mu);
    checks.push_back({cb, Bytes(proof.begin(), proof.end())});
    return std::string(kLocalOnion);
  }
  std::mutex mu;
  std::vector<std::pair<mail::ChannelBinding, Bytes>> checks;
};

uint64_t Now() { return static_cast<uint64_t>(std::time(nullptr)); }

mail::ChannelBinding Cb(uint8_t fill) {
  mail::ChannelBinding cb{};
  cb.fill(fill);
  return cb;
}

// A proof by `key` that `sender` relays to `receiver`, for `cb`.
Bytes Proof(std::string sender, std::string receiver, const mail::ChannelBinding& cb,
            EVP_PKEY* key = unseal::ServerKey(), uint64_t when = Now()) {
  auto body = unseal::EncodeTkimBody({std::move(sender), std::move(receiver), when});
  EXPECT_TRUE(body.ok());
  auto request = unseal::SignRequestWithKey(key, unseal::Verb::kTkim, cb, *body);
  EXPECT_TRUE(request.ok());
  return unseal::EncodeSignedRequest(*request).value();
}

RelayOptions Options(std::string proxy) {
  RelayOptions o;
  o.socks5_proxy = std::move(proxy);
  o.helo_name = "mx.example";               // the EHLO name may differ from the domain
  o.own_domain = std::string(kLocalOnion);  // this relay role serves kLocalOnion
  o.connect_timeout = 10000ms;
  o.command_timeout = 10000ms;
  o.data_block_timeout = 10000ms;
  o.final_timeout = 10000ms;
  o.session_idle_timeout = 20000ms;
  return o;
}

class Relay {
 public:
  explicit Relay(const RelayOptions& options) {
    ClearTkimKeyCacheForTest();
    auto pair = ipc::Channel::CreatePair();
    EXPECT_TRUE(pair.ok());
    backend_.emplace(std::move(pair->first), RelayWaits{30000ms, 30000ms, 30000ms});
    control_.emplace(std::move(pair->second));
    thread_ = std::thread([this, options] { (void)ServeRelayControl(*control_, options, &stop_); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
  }
  RemoteRelayBackend& backend() { return *backend_; }

 private:
  std::optional<RemoteRelayBackend> backend_;
  std::optional<ipc::Channel> control_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

const std::string kSender(kRemoteOnion);   // the relaying server being checked
const std::string kReceiver(kLocalOnion);  // this server

TEST(RelayTkimTest, ProofIsCheckedAgainstTheKeyTheSendersOnionGivesAndTheKeyIsRemembered) {
  FakeTkim fake;
  RemoteServer sender_server(25 << 20, &fake);
  OnionProxy proxy(sender_server.port());
  Relay relay(Options(proxy.address()));
  auto proven = relay.backend().CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(1)));
  ASSERT_TRUE(proven.ok()) << proven.error().message;
  EXPECT_EQ(proven->sender_domain, kSender);
  EXPECT_TRUE(proven->vouch.empty()) << "no key role to vouch";
  EXPECT_EQ(proxy.relayed, 1);
  auto again = relay.backend().CheckTkim(Cb(2), Proof(kSender, kReceiver, Cb(2)));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(proxy.relayed, 1) << "the sender's key was remembered";
}

TEST(RelayTkimTest, ProofWithAnotherKeyThanTheRememberedOneAsksTheOnionAgain) {
  FakeTkim fake;
  RemoteServer sender_server(25 << 20, &fake);
  OnionProxy proxy(sender_server.port());
  Relay relay(Options(proxy.address()));
  ASSERT_TRUE(relay.backend().CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(1))).ok());
  EXPECT_EQ(proxy.relayed, 1);
  auto r =
      relay.backend().CheckTkim(Cb(2), Proof(kSender, kReceiver, Cb(2), unseal::OtherServerKey()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(proxy.relayed, 2) << "asked again, still the old key";
  ASSERT_TRUE(relay.backend().CheckTkim(Cb(3), Proof(kSender, kReceiver, Cb(3))).ok());
  EXPECT_EQ(proxy.relayed, 2) << "the key it gave is remembered";
}

TEST(RelayTkimTest, ProofSignedByAnotherKeyIsUnauthenticated) {
  FakeTkim fake;
  RemoteServer sender_server(25 << 20, &fake);
  OnionProxy proxy(sender_server.port());
  Relay relay(Options(proxy.address()));
  auto r =
      relay.backend().CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(1), unseal::OtherServerKey()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(proxy.relayed, 1);
}

TEST(RelayTkimTest, SenderOnionWithoutTkimIsUnauthenticated) {
  RemoteServer sender_server;  // no TKIM service
  OnionProxy proxy(sender_server.port());
  Relay relay(Options(proxy.address()));
  auto r = relay.backend().CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(1)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

TEST(RelayTkimTest, UnreachableSenderOnionIsUnavailable) {
  FakeTkim fake;
  RemoteServer sender_server(25 << 20, &fake);
  OnionProxy proxy(sender_server.port(), /*refuse=*/true);
  Relay relay(Options(proxy.address()));
  auto r = relay.backend().CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(1)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(RelayTkimTest, ProofForAnotherChannelReceiverOrTimeIsRefusedWithoutCallingBack) {
  FakeTkim fake;
  RemoteServer sender_server(25 << 20, &fake);
  OnionProxy proxy(sender_server.port());
  Relay relay(Options(proxy.address()));
  auto& backend = relay.backend();
  EXPECT_EQ(backend.CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(2))).error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(backend.CheckTkim(Cb(1), Proof(kSender, "other.onion", Cb(1))).error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(
      backend.CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(1), unseal::ServerKey(), Now() - 3600))
          .error()
          .code,
      ErrorCode::kUnauthenticated);
  EXPECT_EQ(backend.CheckTkim(Cb(1), Proof("not-an-onion.example", kReceiver, Cb(1))).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(backend.CheckTkim(Cb(1), Bytes{1, 2, 3}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(proxy.relayed, 0);
}

TEST(RelayTkimTest, AProvenSenderComesWithTheKeyRolesVouchAndARefusedOneAsksForNone) {
  FakeTkim fake;
  RemoteServer sender_server(25 << 20, &fake);
  OnionProxy proxy(sender_server.port());
  RelayOptions o = Options(proxy.address());
  std::mutex mu;
  std::vector<std::string> asked;
  o.tkim_vouch = [&](std::string_view sender) {
    std::lock_guard<std::mutex> lock(mu);
    asked.emplace_back(sender);
    return Result<Bytes>(Bytes(ipc::kTkimVouchBytes, 0x5a));
  };
  Relay relay(o);
  auto proven = relay.backend().CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(1)));
  ASSERT_TRUE(proven.ok()) << proven.error().message;
  EXPECT_EQ(proven->sender_domain, kSender);
  EXPECT_EQ(proven->vouch, Bytes(ipc::kTkimVouchBytes, 0x5a));
  EXPECT_FALSE(relay.backend().CheckTkim(Cb(2), Proof(kSender, kReceiver, Cb(3))).ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(asked, std::vector<std::string>{kSender});
}

TEST(RelayTkimTest, AKeyRoleThatGivesNoVouchLeavesTheSenderProvenWithoutOne) {
  FakeTkim fake;
  RemoteServer sender_server(25 << 20, &fake);
  OnionProxy proxy(sender_server.port());
  RelayOptions o = Options(proxy.address());
  o.tkim_vouch = [](std::string_view) {
    return Result<Bytes>(MakeError(ErrorCode::kDeadlineExceeded, "no answer"));
  };
  Relay relay(o);
  auto proven = relay.backend().CheckTkim(Cb(1), Proof(kSender, kReceiver, Cb(1)));
  ASSERT_TRUE(proven.ok()) << proven.error().message;
  EXPECT_EQ(proven->sender_domain, kSender);
  EXPECT_TRUE(proven->vouch.empty());
}

TEST(RelayTkimTest, RelayedTransactionSendsAProofTheRemoteCanCheckForItsSideOfTls) {
  FakeTkim fake;  // the remote (kRemoteOnion) records the proof it gets
  RemoteServer remote(25 << 20, &fake);
  OnionProxy proxy(remote.port());
  RelayOptions o = Options(proxy.address());
  std::atomic<int> asked{0};
  o.tkim_proof = [&asked](std::string_view receiver, const mail::ChannelBinding& cb) {
    ++asked;
    return Result<Bytes>(Proof(std::string(kLocalOnion), std::string(receiver), cb));
  };
  Relay relay(o);
  auto begun = relay.backend().Begin(kRemoteOnion, "alice@" + std::string(kLocalOnion), {});
  ASSERT_TRUE(begun.ok()) << begun.error().message;
  EXPECT_EQ(begun->mail_reply.code, 250);
  begun->transaction.reset();
  (void)remote.Backend();  // waits for the remote's session to end
  EXPECT_EQ(asked, 1);
  std::lock_guard<std::mutex> lock(fake.mu);
  ASSERT_EQ(fake.checks.size(), 1u);
  auto proof =
      unseal::CheckTkimRequest(fake.checks[0].second, fake.checks[0].first, kRemoteOnion, Now());
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  EXPECT_EQ(proof->sender_domain, kLocalOnion);
}

}  // namespace
}  // namespace onionmail::server
