// The relay role's second destination (docs/gateways.md, "The exit
// direction"): a transaction begun for mail::kSmarthostDomain goes to
// RelayOptions::smarthost directly (never through the SOCKS5 proxy), greets
// it with the exit domain and sends no TKIM proof, even to a smarthost that
// offers TKIM; without a smarthost configured it is refused before any
// connection. The smarthost is a real smtp::Session over TLS on loopback
// (RemoteServer); the front end's side is RemoteRelayBackend.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ipc/channel.h"
#include "mail/relay.h"
#include "mail/tkim.h"
#include "server/relay_backend.h"
#include "server/relay_session.h"
#include "tests/server/relay_test_util.h"
#include "tests/unseal/torm_test_keys.h"

namespace onionmail::server {
namespace {

using namespace std::chrono_literals;

const std::string kAlias = "alice@mail.example.org";
const std::string kBob = "bob@" + std::string(kRemoteOnion);  // a user the test smarthost has

// The smarthost offers TKIM (it is an onionmaild session): the relay role
// must not answer it. Any proof would be recorded here.
class OfferedTkim : public mail::TkimService {
 public:
  Result<std::vector<uint8_t>> ServerKey() override { return unseal::SpkiOf(unseal::ServerKey()); }
  Result<std::string> Check(const mail::ChannelBinding&, std::span<const uint8_t>) override {
    ++checked;
    return MakeError(ErrorCode::kUnauthenticated, "no proof expected");
  }
  std::atomic<int> checked{0};
};

RelayOptions Options(std::string proxy, std::string smarthost, std::atomic<int>* proofs) {
  RelayOptions o;
  o.socks5_proxy = std::move(proxy);
  o.helo_name = std::string(kLocalOnion);
  o.own_domain = std::string(kLocalOnion);
  o.smarthost = std::move(smarthost);
  o.exit_domain = "mail.example.org";
  o.connect_timeout = 10000ms;
  o.command_timeout = 10000ms;
  o.data_block_timeout = 10000ms;
  o.final_timeout = 10000ms;
  o.session_idle_timeout = 20000ms;
  o.tkim_proof = [proofs](std::string_view, const mail::ChannelBinding&) {
    ++*proofs;
    return Result<std::vector<uint8_t>>(std::vector<uint8_t>{1, 2, 3});
  };
  return o;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(RelaySmarthostTest, SmarthostClientOptionsAreDirectAndGreetWithTheExitDomain) {
  std::atomic<int> proofs{0};
  const RelayOptions o = Options("127.0.0.1:9050", "127.0.0.1:2525", &proofs);
  const peer::MailClientOptions onion = OnionClientOptions(o);
  const peer::MailClientOptions smarthost = SmarthostClientOptions(o);
  EXPECT_EQ(onion.socks5_proxy, "127.0.0.1:9050");
  EXPECT_EQ(onion.helo_name, std::string(kLocalOnion));
  EXPECT_EQ(smarthost.socks5_proxy, "");
  EXPECT_EQ(smarthost.helo_name, "mail.example.org");
  EXPECT_EQ(smarthost.connect_timeout, o.connect_timeout);
  EXPECT_EQ(smarthost.final_timeout, o.final_timeout);
}

TEST(RelaySmarthostTest, MailGoesToTheSmarthostDirectlyWithoutTkimAndArrivesByteExact) {
  OfferedTkim tkim;
  RemoteServer smarthost(25 << 20, &tkim);
  RemoteServer onion_remote;
  OnionProxy proxy(onion_remote.port());  // would carry anything sent over Tor
  std::atomic<int> proofs{0};
  RelayTestRunner relay(
      Options(proxy.address(), "127.0.0.1:" + std::to_string(smarthost.port()), &proofs));
  const std::string body = "From: <" + kAlias + ">\r\nSubject: to the Internet\r\n\r\nhi\r\n";
  auto begun = relay.backend().Begin(mail::kSmarthostDomain, kAlias, {body.size()});
  ASSERT_TRUE(begun.ok()) << begun.error().message;
  EXPECT_EQ(begun->mail_reply.code, 250);
  auto t = std::move(begun->transaction);
  ASSERT_NE(t, nullptr);
  auto rcpt = t->Rcpt(kBob);
  ASSERT_TRUE(rcpt.ok()) << rcpt.error().message;
  EXPECT_EQ(rcpt->code, 250);
  ASSERT_TRUE(t->Data().ok());
  ASSERT_TRUE(t->Append(Bytes(body)).ok());
  auto end = t->End();
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(end->code, 250);
  t.reset();
  EXPECT_EQ(proxy.accepted(), 0) << "the smarthost is not reached over Tor";
  EXPECT_EQ(proofs, 0) << "no TKIM proof to the smarthost";
  EXPECT_EQ(tkim.checked, 0);
  auto& delivered = smarthost.Backend().delivered;
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].envelope.reverse_path, kAlias);
  EXPECT_EQ(WithoutTraceHeaders(delivered[0].bytes), body);
}

TEST(RelaySmarthostTest, APinnedSmarthostIsUsedOnlyWithThePinnedKey) {
  RemoteServer smarthost;
  std::atomic<int> proofs{0};
  RelayOptions o = Options("", "127.0.0.1:" + std::to_string(smarthost.port()), &proofs);
  o.smarthost_pin = smarthost.pin();
  {
    RelayTestRunner relay(o);
    auto begun = relay.backend().Begin(mail::kSmarthostDomain, kAlias, {0});
    ASSERT_TRUE(begun.ok()) << begun.error().message;
    EXPECT_EQ(begun->mail_reply.code, 250);
  }
  peer::SpkiPin other = smarthost.pin();
  other[0] ^= 1;
  o.smarthost_pin = other;
  RelayTestRunner relay(o);
  auto begun = relay.backend().Begin(mail::kSmarthostDomain, kAlias, {0});
  ASSERT_FALSE(begun.ok());
  // kUnauthenticated: the front end's 451 4.4.2 (not kPermissionDenied, a
  // remote's refusal of 8-bit mail at MAIL).
  EXPECT_EQ(begun.error().code, ErrorCode::kUnauthenticated) << begun.error().message;
  EXPECT_EQ(smarthost.accepted(), 2);
  EXPECT_TRUE(smarthost.Backend().delivered.empty());
}

TEST(RelaySmarthostTest, WithoutASmarthostTheExitIsRefusedWithoutAConnection) {
  RemoteServer onion_remote;
  OnionProxy proxy(onion_remote.port());
  std::atomic<int> proofs{0};
  RelayTestRunner relay(Options(proxy.address(), "", &proofs));
  auto begun = relay.backend().Begin(mail::kSmarthostDomain, kAlias, {0});
  ASSERT_FALSE(begun.ok());
  EXPECT_EQ(begun.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(proxy.accepted(), 0);
  EXPECT_EQ(onion_remote.accepted(), 0);
}

TEST(RelaySmarthostTest, ASmarthostThatIsDownIsUnavailableAndTorIsNotTried) {
  RemoteServer onion_remote;
  OnionProxy proxy(onion_remote.port());
  std::atomic<int> proofs{0};
  // A port nothing listens on: taken from a server that has stopped.
  uint16_t closed_port = 0;
  {
    RemoteServer gone;
    closed_port = gone.port();
    (void)gone.Backend();
  }
  RelayTestRunner relay(
      Options(proxy.address(), "127.0.0.1:" + std::to_string(closed_port), &proofs));
  auto begun = relay.backend().Begin(mail::kSmarthostDomain, kAlias, {0});
  ASSERT_FALSE(begun.ok());
  EXPECT_EQ(begun.error().code, ErrorCode::kUnavailable) << begun.error().message;
  EXPECT_EQ(proxy.accepted(), 0);
}

}  // namespace
}  // namespace onionmail::server
