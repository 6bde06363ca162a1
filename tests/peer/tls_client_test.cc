// TlsClient against the real server-side code (net::SocketConnection with a
// net::TlsContext) on loopback: pinned TLS 1.3, the RFC 9266 binding equal on
// both ends, pin mismatch refused inside the handshake, the any-key mode and
// the peer's pin, no TLS 1.2, no plaintext injection after STARTTLS, overlong
// lines and deadlines.
#include "peer/tls_client.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <mutex>
#include <optional>

#include "net/socket_connection.h"
#include "peer/socket_io.h"
#include "tests/peer/peer_test_util.h"

namespace onionmail::peer {
namespace {

using namespace std::chrono_literals;

// Server side: "220 go", TLS, "250 hi", then echoes one line.
struct TlsEchoServer {
  explicit TlsEchoServer(std::shared_ptr<net::TlsContext> tls)
      : tls_(std::move(tls)), server([this](int fd) { Serve(fd); }) {}

  void Serve(int fd) {
    net::SocketConnection conn(fd, tls_, net::Timeouts{5000ms, 10000ms});
    if (!conn.Write(greeting).ok() || !conn.Flush().ok()) return;
    if (!conn.StartTls().ok()) {
      handshake_failed = true;
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      auto b = conn.TlsExporterBinding();
      if (b.ok()) binding = *b;
    }
    if (!conn.Write("250 hi\r\n").ok() || !conn.Flush().ok()) return;
    auto line = conn.ReadLine(1000);
    if (!line.ok()) return;
    lines_after_tls += 1;
    (void)conn.Write("echo " + line->text + "\r\n");
    (void)conn.Flush();
  }

  std::shared_ptr<net::TlsContext> tls_;
  std::string greeting = "220 go\r\n";
  std::mutex mu;
  std::optional<mail::ChannelBinding> binding;
  std::atomic<bool> handshake_failed{false};
  std::atomic<int> lines_after_tls{0};
  LoopbackServer server;
};

std::unique_ptr<TlsClient> Connect(uint16_t port, std::chrono::milliseconds timeout = 5000ms) {
  Deadline deadline = Clock::now() + timeout;
  auto fd = ConnectNumeric({"127.0.0.1", port}, deadline);
  EXPECT_TRUE(fd.ok()) << (fd.ok() ? "" : fd.error().message);
  if (!fd.ok()) return nullptr;
  return std::make_unique<TlsClient>(std::move(*fd), deadline);
}

TEST(TlsClientTest, PinnedHandshakeGivesTheSameExporterBindingAsTheServer) {
  TestIdentity id = MakeTestIdentity();
  TlsEchoServer peer(id.tls);
  auto client = Connect(peer.server.port());
  ASSERT_NE(client, nullptr);
  auto greeting = client->ReadLine(100);
  ASSERT_TRUE(greeting.ok());
  EXPECT_EQ(*greeting, "220 go");
  EXPECT_FALSE(client->ExporterBinding().ok()) << "no binding before TLS";
  auto tls = client->StartTls(id.pin);
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  EXPECT_TRUE(client->IsTls());
  auto hi = client->ReadLine(100);
  ASSERT_TRUE(hi.ok()) << hi.error().message;
  EXPECT_EQ(*hi, "250 hi");
  auto binding = client->ExporterBinding();
  ASSERT_TRUE(binding.ok());
  ASSERT_TRUE(client->Write("ping\r\n").ok());
  auto echo = client->ReadLine(100);
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(*echo, "echo ping");
  std::lock_guard<std::mutex> lock(peer.mu);
  ASSERT_TRUE(peer.binding.has_value());
  EXPECT_EQ(*binding, *peer.binding);
  EXPECT_NE(*binding, mail::ChannelBinding{});
}

TEST(TlsClientTest, AnyKeyHandshakeAcceptsAnUnpinnedKeyAndReportsItsPin) {
  TestIdentity id = MakeTestIdentity();
  TlsEchoServer peer(id.tls);
  auto client = Connect(peer.server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  auto before = client->PeerPin();
  ASSERT_FALSE(before.ok()) << "no pin before TLS";
  EXPECT_EQ(before.error().code, ErrorCode::kFailedPrecondition);
  auto tls = client->StartTlsAnyKey();
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  EXPECT_TRUE(client->IsTls());
  auto pin = client->PeerPin();
  ASSERT_TRUE(pin.ok());
  EXPECT_EQ(*pin, id.pin);
  auto hi = client->ReadLine(100);
  ASSERT_TRUE(hi.ok()) << hi.error().message;
  EXPECT_EQ(*hi, "250 hi");
  ASSERT_TRUE(client->Write("ping\r\n").ok());
  auto echo = client->ReadLine(100);
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(*echo, "echo ping");
  EXPECT_FALSE(client->StartTlsAnyKey().ok()) << "TLS already active";
}

TEST(TlsClientTest, PinnedHandshakeReportsThePinnedKeyAsPeerPin) {
  TestIdentity id = MakeTestIdentity();
  TlsEchoServer peer(id.tls);
  auto client = Connect(peer.server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  ASSERT_TRUE(client->StartTls(id.pin).ok());
  auto pin = client->PeerPin();
  ASSERT_TRUE(pin.ok());
  EXPECT_EQ(*pin, id.pin);
}

TEST(TlsClientTest, AnyKeyHandshakeStillRequiresTls13) {
  TestIdentity id = MakeTestIdentity();
  ASSERT_EQ(SSL_CTX_set_max_proto_version(id.tls->get(), TLS1_2_VERSION), 1);
  TlsEchoServer peer(id.tls);
  auto client = Connect(peer.server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  auto tls = client->StartTlsAnyKey();
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(tls.error().message.find("TLS 1.3"), std::string::npos) << tls.error().message;
  EXPECT_FALSE(client->PeerPin().ok());
}

TEST(TlsClientTest, AnyKeyHandshakeRefusesPlaintextAfterTheStartTlsReply) {
  TestIdentity id = MakeTestIdentity();
  TlsEchoServer peer(id.tls);
  peer.greeting = "220 go\r\n250 injected\r\n";
  auto client = Connect(peer.server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  for (int i = 0; i < 100 && client->Buffered() == 0; ++i) std::this_thread::sleep_for(1ms);
  auto tls = client->StartTlsAnyKey();
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(tls.error().message.find("plaintext"), std::string::npos);
}

TEST(TlsClientTest, BindingDiffersBetweenConnections) {
  TestIdentity id = MakeTestIdentity();
  TlsEchoServer peer(id.tls);
  std::vector<mail::ChannelBinding> seen;
  for (int i = 0; i < 2; ++i) {
    auto client = Connect(peer.server.port());
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->ReadLine(100).ok());
    ASSERT_TRUE(client->StartTls(id.pin).ok());
    auto b = client->ExporterBinding();
    ASSERT_TRUE(b.ok());
    seen.push_back(*b);
  }
  EXPECT_NE(seen[0], seen[1]);
}

TEST(TlsClientTest, WrongPinIsPermissionDeniedAndNoApplicationDataIsSent) {
  TestIdentity id = MakeTestIdentity();
  TlsEchoServer peer(id.tls);
  SpkiPin wrong = id.pin;
  wrong[31] ^= 0x01;
  {
    auto client = Connect(peer.server.port());
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->ReadLine(100).ok());
    auto tls = client->StartTls(wrong);
    ASSERT_FALSE(tls.ok());
    EXPECT_EQ(tls.error().code, ErrorCode::kPermissionDenied);
    EXPECT_EQ(tls.error().message, "peer key does not match the pin");
    EXPECT_FALSE(client->IsTls());
    EXPECT_FALSE(client->ExporterBinding().ok());
  }
  peer.server.Stop();
  EXPECT_TRUE(peer.handshake_failed) << "the server saw the handshake aborted";
  EXPECT_EQ(peer.lines_after_tls, 0);
}

TEST(TlsClientTest, PinOfAnotherKeyWithTheSameNameIsRefused) {
  TestIdentity id = MakeTestIdentity("same.test");
  TestIdentity other = MakeTestIdentity("same.test");
  TlsEchoServer peer(id.tls);
  auto client = Connect(peer.server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  auto tls = client->StartTls(other.pin);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, ErrorCode::kPermissionDenied);
}

TEST(TlsClientTest, ServerWithoutTls13IsRefused) {
  TestIdentity id = MakeTestIdentity();
  ASSERT_EQ(SSL_CTX_set_max_proto_version(id.tls->get(), TLS1_2_VERSION), 1);
  TlsEchoServer peer(id.tls);
  auto client = Connect(peer.server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  auto tls = client->StartTls(id.pin);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(tls.error().message.find("TLS 1.3"), std::string::npos) << tls.error().message;
  EXPECT_FALSE(client->IsTls());
}

TEST(TlsClientTest, PlaintextPipelinedAfterTheStartTlsReplyIsRefused) {
  TestIdentity id = MakeTestIdentity();
  TlsEchoServer peer(id.tls);
  peer.greeting = "220 go\r\n250 injected\r\n";
  auto client = Connect(peer.server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  // Both lines arrive in one segment on loopback; make sure of it.
  for (int i = 0; i < 100 && client->Buffered() == 0; ++i) std::this_thread::sleep_for(1ms);
  auto tls = client->StartTls(id.pin);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(tls.error().message.find("plaintext"), std::string::npos);
}

TEST(TlsClientTest, LineLongerThanTheLimitIsRefused) {
  LoopbackServer server([](int fd) {
    (void)WriteAll(fd, std::string(30000, 'a') + "\r\n");
    ::close(fd);
  });
  auto client = Connect(server.port());
  ASSERT_NE(client, nullptr);
  auto line = client->ReadLine(20480);
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(line.error().message, "line too long");
}

TEST(TlsClientTest, LineAtTheLimitIsAcceptedAndBareLfEndsALine) {
  LoopbackServer server([](int fd) {
    (void)WriteAll(fd, std::string(20480, 'b') + "\r\nshort\n");
    ::close(fd);
  });
  auto client = Connect(server.port());
  ASSERT_NE(client, nullptr);
  auto line = client->ReadLine(20480);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->size(), 20480u);
  auto second = client->ReadLine(20480);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, "short");
  auto eof = client->ReadLine(20480);
  ASSERT_FALSE(eof.ok());
  EXPECT_EQ(eof.error().code, ErrorCode::kUnavailable);
}

TEST(TlsClientTest, SilentServerHitsTheDeadline) {
  std::atomic<bool> done{false};
  LoopbackServer server([&](int fd) {
    while (!done) std::this_thread::sleep_for(5ms);
    ::close(fd);
  });
  auto start = Clock::now();
  auto client = Connect(server.port(), 300ms);
  ASSERT_NE(client, nullptr);
  auto line = client->ReadLine(100);
  auto elapsed = Clock::now() - start;
  done = true;
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3000ms);
}

TEST(TlsClientTest, SilentServerDuringTheHandshakeHitsTheDeadline) {
  TestIdentity id = MakeTestIdentity();
  std::atomic<bool> done{false};
  LoopbackServer server([&](int fd) {
    (void)WriteAll(fd, "220 go\r\n");
    while (!done) std::this_thread::sleep_for(5ms);
    ::close(fd);
  });
  auto client = Connect(server.port(), 300ms);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  auto tls = client->StartTls(id.pin);
  done = true;
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, ErrorCode::kDeadlineExceeded);
}

TEST(TlsClientTest, WritingToAPeerThatHasGoneIsAnErrorNotSigpipe) {
  // SIGPIPE is not ignored in this test process (and blocked only on the
  // server thread): a write() to the dead socket would kill the test.
  TestIdentity id = MakeTestIdentity();
  LoopbackServer server([&](int fd) {
    net::SocketConnection conn(fd, id.tls, net::Timeouts{5000ms, 10000ms});
    if (!conn.Write("220 go\r\n").ok() || !conn.Flush().ok()) return;
    (void)conn.StartTls();
    // The connection closes here (abruptly enough: no reads).
  });
  auto client = Connect(server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->ReadLine(100).ok());
  ASSERT_TRUE(client->StartTls(id.pin).ok());
  server.Stop();
  Result<void> w = Ok();
  for (int i = 0; i < 200 && w.ok(); ++i) {
    w = client->Write(std::string(4096, 'z'));
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::kUnavailable);
}

TEST(TlsClientTest, PinOfCertificatePemIsTheSha256OfItsSpki) {
  TestIdentity id = MakeTestIdentity();
  auto pin = SpkiPinOfCertificatePem(id.cert_pem);
  ASSERT_TRUE(pin.ok());
  EXPECT_EQ(*pin, id.pin);
  EXPECT_FALSE(SpkiPinOfCertificatePem("not a certificate").ok());
}

TEST(TlsClientTest, ConnectToAClosedPortIsUnavailable) {
  auto fd = net::Listen({"127.0.0.1", 0});
  ASSERT_TRUE(fd.ok());
  auto port = net::BoundPort(*fd);
  ASSERT_TRUE(port.ok());
  ::close(*fd);
  auto c = ConnectNumeric({"127.0.0.1", *port}, Clock::now() + 2000ms);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(c.error().message.find("refused"), std::string::npos) << c.error().message;
}

TEST(TlsClientTest, ConnectNumericRefusesHostNames) {
  auto c = ConnectNumeric({"peer.example", 25}, Clock::now() + 1000ms);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(IsNumericHost("127.0.0.1"));
  EXPECT_TRUE(IsNumericHost("::1"));
  EXPECT_FALSE(IsNumericHost("localhost"));
  EXPECT_FALSE(IsNumericHost("abc.onion"));
  EXPECT_FALSE(IsNumericHost(""));
}

}  // namespace
}  // namespace onionmail::peer
