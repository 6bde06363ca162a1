// A VMAT alias asked of the exit gateway, end to end minus the processes:
// the front end's RemoteRelayBackend::AskGateway -> ServeRelayControl /
// ServeRelaySession -> AskGatewayVmat -> MailClient through an in-test
// SOCKS5 proxy -> a real smtp::Session of a gateway (kRemoteOnion) that
// checks this server's TKIM proof and serves SMTP VMAT with a recording
// service. Each refusal of the gateway arrives as its error code.
#include "server/relay_vmat.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mail/tkim.h"
#include "mail/vmat.h"
#include "server/relay_backend.h"
#include "server/relay_session.h"
#include "tests/server/relay_test_util.h"
#include "tests/smtp/fake_server_vmat.h"

namespace onionmail::server {
namespace {

using Bytes = std::vector<uint8_t>;

// The gateway's TKIM service: every proof proves kLocalOnion (or fails).
class ProvingTkim : public mail::TkimService {
 public:
  Result<Bytes> ServerKey() override { return Bytes{1, 2, 3}; }
  Result<std::string> Check(const mail::ChannelBinding&, std::span<const uint8_t> proof) override {
    std::lock_guard<std::mutex> lock(mu);
    proofs.emplace_back(proof.begin(), proof.end());
    if (refuse) return MakeError(ErrorCode::kUnauthenticated, "scripted");
    return std::string(kLocalOnion);
  }
  std::mutex mu;
  std::vector<Bytes> proofs;
  bool refuse = false;
};

using GatewayTable = smtp::FakeServerVmat;  // records each ForServer() call

class RelayVmatTest : public ::testing::Test {
 protected:
  RelayOptions Options(const std::string& proxy) {
    RelayOptions o;
    o.socks5_proxy = proxy;
    o.helo_name = std::string(kLocalOnion);
    o.own_domain = std::string(kLocalOnion);
    o.exit_gateway = std::string(kRemoteOnion);
    o.tkim_proof = [](std::string_view receiver,
                      const mail::ChannelBinding&) -> Result<std::vector<uint8_t>> {
      if (receiver != kRemoteOnion) return MakeError(ErrorCode::kInvalidArgument, "receiver");
      return Bytes{7, 7, 7};
    };
    return o;
  }
  ProvingTkim tkim;
  GatewayTable table;
};

TEST_F(RelayVmatTest, OnShowAndOffReachTheGatewayAfterTheProofAndGiveItsAddress) {
  RemoteServer gateway(25 * 1024 * 1024, &tkim, &table);
  OnionProxy proxy(gateway.port());
  RelayTestRunner runner(Options(proxy.address()));
  auto made = runner.backend().AskGateway(mail::VmatOwnOp::kOn, "dave", "dave.b");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(*made, "dave.b@mx.example.org");
  auto shown = runner.backend().AskGateway(mail::VmatOwnOp::kShow, "dave", "");
  ASSERT_TRUE(shown.ok()) << shown.error().message;
  auto removed = runner.backend().AskGateway(mail::VmatOwnOp::kOff, "dave", "");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  gateway.Backend();  // the sessions are over
  ASSERT_EQ(table.calls.size(), 3u);
  EXPECT_EQ(table.calls[0].op, mail::VmatOwnOp::kOn);
  EXPECT_EQ(table.calls[0].user, "dave");
  EXPECT_EQ(table.calls[0].alias, "dave.b");
  EXPECT_EQ(table.calls[1].op, mail::VmatOwnOp::kShow);
  EXPECT_EQ(table.calls[2].op, mail::VmatOwnOp::kOff);
  EXPECT_EQ(tkim.proofs.size(), 3u) << "a proof on each connection";
  EXPECT_EQ(tkim.proofs[0], (Bytes{7, 7, 7}));
  EXPECT_EQ(proxy.relayed.load(), 3);
}

TEST_F(RelayVmatTest, EachRefusalOfTheGatewayArrivesAsItsCode) {
  const std::vector<ErrorCode> codes = {
      ErrorCode::kNotFound,        ErrorCode::kAlreadyExists,    ErrorCode::kFailedPrecondition,
      ErrorCode::kInvalidArgument, ErrorCode::kPermissionDenied, ErrorCode::kResourceExhausted};
  RemoteServer gateway(25 * 1024 * 1024, &tkim, &table);
  OnionProxy proxy(gateway.port());
  RelayTestRunner runner(Options(proxy.address()));
  for (ErrorCode code : codes) {
    {
      std::lock_guard<std::mutex> lock(table.mu);
      table.error = code;
    }
    auto r = runner.backend().AskGateway(mail::VmatOwnOp::kOn, "dave", "dave.b");
    ASSERT_FALSE(r.ok()) << ErrorCodeName(code);
    EXPECT_EQ(r.error().code, code) << ErrorCodeName(code) << ": " << r.error().message;
  }
  {
    std::lock_guard<std::mutex> lock(table.mu);
    table.error = ErrorCode::kUnavailable;  // the gateway's 451: try again later
  }
  auto r = runner.backend().AskGateway(mail::VmatOwnOp::kShow, "dave", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(RelayVmatTest, ARefusedProofIsUnauthenticatedAndNoVmatIsSent) {
  tkim.refuse = true;
  RemoteServer gateway(25 * 1024 * 1024, &tkim, &table);
  OnionProxy proxy(gateway.port());
  RelayTestRunner runner(Options(proxy.address()));
  auto r = runner.backend().AskGateway(mail::VmatOwnOp::kOn, "dave", "dave.b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated) << r.error().message;
  gateway.Backend();
  EXPECT_TRUE(table.calls.empty());
}

TEST_F(RelayVmatTest, AServerThatOffersNoVmatIsPermissionDenied) {
  RemoteServer plain(25 * 1024 * 1024, &tkim);  // TKIM, but not a gateway
  OnionProxy proxy(plain.port());
  RelayTestRunner runner(Options(proxy.address()));
  auto r = runner.backend().AskGateway(mail::VmatOwnOp::kShow, "dave", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().message;
}

TEST_F(RelayVmatTest, AnUnreachableGatewayIsUnavailable) {
  RemoteServer gateway(25 * 1024 * 1024, &tkim, &table);
  OnionProxy proxy(gateway.port(), /*refuse=*/true);
  RelayTestRunner runner(Options(proxy.address()));
  auto r = runner.backend().AskGateway(mail::VmatOwnOp::kShow, "dave", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().message;
}

TEST_F(RelayVmatTest, WithoutAnExitGatewayNothingIsConnected) {
  RemoteServer gateway(25 * 1024 * 1024, &tkim, &table);
  OnionProxy proxy(gateway.port());
  RelayOptions options = Options(proxy.address());
  options.exit_gateway.clear();
  RelayTestRunner runner(options);
  auto r = runner.backend().AskGateway(mail::VmatOwnOp::kShow, "dave", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_EQ(proxy.accepted(), 0);
}

TEST_F(RelayVmatTest, OnWithoutAnAliasOrAUserOutOfBoundsIsRefusedBeforeConnecting) {
  RemoteServer gateway(25 * 1024 * 1024, &tkim, &table);
  OnionProxy proxy(gateway.port());
  RelayTestRunner runner(Options(proxy.address()));
  auto no_alias = runner.backend().AskGateway(mail::VmatOwnOp::kOn, "dave", "");
  ASSERT_FALSE(no_alias.ok());
  EXPECT_EQ(no_alias.error().code, ErrorCode::kInvalidArgument);
  auto long_user = runner.backend().AskGateway(mail::VmatOwnOp::kShow, std::string(65, 'd'), "");
  ASSERT_FALSE(long_user.ok());
  EXPECT_EQ(long_user.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(proxy.accepted(), 0);
}

}  // namespace
}  // namespace onionmail::server
