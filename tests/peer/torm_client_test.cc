// TormCall against the real SMTP server session (smtp::Session over
// net::SocketConnection with a net::TlsContext) on loopback, with a recording
// mail::TormService: real TLS 1.3 and real RFC 9266 exporters on both ends;
// and through an in-test SOCKS5 proxy that relays to that server.
#include "peer/torm_client.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <atomic>
#include <mutex>
#include <optional>

#include "net/socket_connection.h"
#include "peer/socks5.h"
#include "smtp/session.h"
#include "tests/peer/peer_test_util.h"
#include "tests/smtp/fake_backend.h"

namespace onionmail::peer {
namespace {

using namespace std::chrono_literals;
using mail::TormOutcome;
using mail::TormVerb;

struct RecordingTorm : mail::TormService {
  struct Call {
    TormVerb verb;
    mail::ChannelBinding binding;
    std::vector<uint8_t> request;
  };
  Result<mail::TormAnswer> Handle(TormVerb verb, const mail::ChannelBinding& binding,
                                  std::span<const uint8_t> request) override {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back({verb, binding, {request.begin(), request.end()}});
    return answer;
  }
  std::vector<Call> Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  std::mutex mu;
  std::vector<Call> calls;
  mail::TormAnswer answer{TormOutcome::kOk, {0xde, 0xad, 0xbe, 0xef}};
};

// A real onionmaild SMTP session per accepted connection.
class PeerServer {
 public:
  explicit PeerServer(bool serve_torm = true, bool tls13 = true)
      : id(MakeTestIdentity()), serve_torm_(serve_torm) {
    if (!tls13) {
      EXPECT_EQ(SSL_CTX_set_max_proto_version(id.tls->get(), TLS1_2_VERSION), 1);
    }
    cfg_.domain = "peer.onion";
    cfg_.hostname = "peer.onion";
    cfg_.log_tag = "peer-test";
    server_ = std::make_unique<LoopbackServer>([this](int fd) {
      net::SocketConnection conn(fd, id.tls, net::Timeouts{5000ms, 20000ms});
      smtp::Session session(conn, backend_, cfg_, serve_torm_ ? &service : nullptr);
      session.Run();
    });
  }
  std::string address() const { return server_->address(); }
  uint16_t port() const { return server_->port(); }
  PeerEndpoint endpoint() const { return {address(), id.pin}; }

  TestIdentity id;
  RecordingTorm service;

 private:
  bool serve_torm_;
  smtp::SessionConfig cfg_;
  smtp::FakeDeliveryBackend backend_;
  std::unique_ptr<LoopbackServer> server_;
};

// A builder that records the binding it got and returns `request`.
struct Builder {
  std::vector<uint8_t> request = {1, 2, 3, 4, 5};
  int calls = 0;
  std::optional<mail::ChannelBinding> binding;
  RequestBuilder Fn() {
    return [this](const mail::ChannelBinding& cb) -> Result<std::vector<uint8_t>> {
      ++calls;
      binding = cb;
      return request;
    };
  }
};

ClientOptions Options(std::chrono::milliseconds timeout = 10000ms) {
  ClientOptions o;
  o.timeout = timeout;
  o.helo_name = "client.onion";
  return o;
}

TEST(TormClientTest, RequestAndBindingReachTheServiceAndTheReplyIsDecoded) {
  PeerServer peer;
  Builder b;
  auto r = TormCall(peer.endpoint(), TormVerb::kDerk, b.Fn(), Options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, TormOutcome::kOk);
  EXPECT_EQ(r->reply, (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(b.calls, 1);
  auto calls = peer.service.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].verb, TormVerb::kDerk);
  EXPECT_EQ(calls[0].request, b.request);
  ASSERT_TRUE(b.binding.has_value());
  EXPECT_EQ(calls[0].binding, *b.binding) << "both ends computed the same tls-exporter";
  EXPECT_NE(*b.binding, mail::ChannelBinding{});
}

TEST(TormClientTest, LargestRequestAndReplyRoundTripUnchanged) {
  PeerServer peer;
  Builder b;
  b.request.resize(mail::kMaxTormBlobBytes);
  uint32_t x = 88172645u;  // xorshift32: no short period hides a repeat
  for (uint8_t& byte : b.request) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<uint8_t>(x);
  }
  peer.service.answer.reply.assign(mail::kMaxTormBlobBytes, 0xa5);
  auto r = TormCall(peer.endpoint(), TormVerb::kPush, b.Fn(), Options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->reply, peer.service.answer.reply);
  auto calls = peer.service.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].request, b.request);
}

TEST(TormClientTest, EachVerbIsSentUnderItsName) {
  PeerServer peer;
  for (TormVerb verb : {TormVerb::kPush, TormVerb::kDerk, TormVerb::kStat, TormVerb::kKctl}) {
    Builder b;
    auto r = TormCall(peer.endpoint(), verb, b.Fn(), Options());
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  auto calls = peer.service.Calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].verb, TormVerb::kPush);
  EXPECT_EQ(calls[1].verb, TormVerb::kDerk);
  EXPECT_EQ(calls[2].verb, TormVerb::kStat);
  EXPECT_EQ(calls[3].verb, TormVerb::kKctl);
  EXPECT_NE(calls[0].binding, calls[1].binding) << "a fresh binding per connection";
}

TEST(TormClientTest, EachRefusalKeywordMapsToItsOutcome) {
  PeerServer peer;
  for (uint8_t v = 1; v <= mail::kMaxTormOutcome; ++v) {
    auto outcome = static_cast<TormOutcome>(v);
    peer.service.answer = {outcome, {}};
    Builder b;
    auto r = TormCall(peer.endpoint(), TormVerb::kDerk, b.Fn(), Options());
    ASSERT_TRUE(r.ok()) << mail::TormOutcomeKeyword(outcome) << ": " << r.error().message;
    EXPECT_EQ(r->outcome, outcome) << mail::TormOutcomeKeyword(outcome);
    EXPECT_TRUE(r->reply.empty());
  }
}

TEST(TormClientTest, WrongPinIsPermissionDeniedAndTheBuilderIsNeverCalled) {
  PeerServer peer;
  PeerEndpoint endpoint = peer.endpoint();
  endpoint.tls_pin[0] ^= 0x80;
  Builder b;
  auto r = TormCall(endpoint, TormVerb::kDerk, b.Fn(), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("peer key does not match the pin"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(b.calls, 0);
  EXPECT_TRUE(peer.service.Calls().empty());
}

TEST(TormClientTest, ServerWithoutTormIsFailedPrecondition) {
  PeerServer peer(/*serve_torm=*/false);
  Builder b;
  auto r = TormCall(peer.endpoint(), TormVerb::kStat, b.Fn(), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("peer does not offer TORM"), std::string::npos);
  EXPECT_EQ(b.calls, 0);
}

TEST(TormClientTest, ServerLimitedToTls12IsRefusedBeforeTheBuilder) {
  PeerServer peer(/*serve_torm=*/true, /*tls13=*/false);
  Builder b;
  auto r = TormCall(peer.endpoint(), TormVerb::kDerk, b.Fn(), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error().message;
  EXPECT_EQ(b.calls, 0);
  EXPECT_TRUE(peer.service.Calls().empty());
}

TEST(TormClientTest, BuilderErrorIsReturnedAndNoTormCommandIsSent) {
  PeerServer peer;
  int calls = 0;
  auto r = TormCall(
      peer.endpoint(), TormVerb::kDerk,
      [&](const mail::ChannelBinding&) -> Result<std::vector<uint8_t>> {
        ++calls;
        return MakeError(ErrorCode::kUnavailable, "key role busy");
      },
      Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("key role busy"), std::string::npos);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(peer.service.Calls().empty());
}

TEST(TormClientTest, EmptyOrOversizedRequestIsRefusedLocally) {
  PeerServer peer;
  for (size_t size : {size_t{0}, mail::kMaxTormBlobBytes + 1}) {
    Builder b;
    b.request.assign(size, 1);
    auto r = TormCall(peer.endpoint(), TormVerb::kPush, b.Fn(), Options());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(peer.service.Calls().empty());
}

TEST(TormClientTest, ConnectionRefusedIsUnavailable) {
  auto fd = net::Listen({"127.0.0.1", 0});
  ASSERT_TRUE(fd.ok());
  auto port = net::BoundPort(*fd);
  ASSERT_TRUE(port.ok());
  ::close(*fd);
  Builder b;
  auto r = TormCall({"127.0.0.1:" + std::to_string(*port), {}}, TormVerb::kDerk, b.Fn(), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message.rfind("connect: ", 0), 0u) << r.error().message;
  EXPECT_EQ(b.calls, 0);
}

TEST(TormClientTest, SilentServerGivesDeadlineExceededWithinTheTimeout) {
  std::atomic<bool> done{false};
  LoopbackServer silent([&](int fd) {
    while (!done) std::this_thread::sleep_for(5ms);
    ::close(fd);
  });
  Builder b;
  auto start = Clock::now();
  auto r = TormCall({silent.address(), {}}, TormVerb::kDerk, b.Fn(), Options(400ms));
  auto elapsed = Clock::now() - start;
  done = true;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(r.error().message.rfind("greeting: ", 0), 0u) << r.error().message;
  EXPECT_GE(elapsed, 350ms);
  EXPECT_LT(elapsed, 3000ms);
}

TEST(TormClientTest, HostNameWithoutProxyIsRefusedWithoutDns) {
  Builder b;
  auto r = TormCall({"peer.example.onion:25", {}}, TormVerb::kDerk, b.Fn(), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("SOCKS5"), std::string::npos);
}

TEST(TormClientTest, BadArgumentsAreInvalidArgument) {
  Builder b;
  ClientOptions bad_helo = Options();
  bad_helo.helo_name = "a b\r\nRCPT";
  ClientOptions no_time = Options();
  no_time.timeout = 0ms;
  ClientOptions bad_proxy = Options();
  bad_proxy.socks5_proxy = "tor.local:9050";
  struct Case {
    std::string address;
    ClientOptions options;
  };
  for (const Case& c : {Case{"127.0.0.1", Options()}, Case{"127.0.0.1:0", Options()},
                        Case{"127.0.0.1:25", bad_helo}, Case{"127.0.0.1:25", no_time},
                        Case{"peer.onion:25", bad_proxy}}) {
    auto r = TormCall({c.address, {}}, TormVerb::kDerk, b.Fn(), c.options);
    ASSERT_FALSE(r.ok()) << c.address;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
  }
  auto r = TormCall({"127.0.0.1:25", {}}, static_cast<TormVerb>(9), b.Fn(), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(b.calls, 0);
}

// A SOCKS5 proxy for one target name: checks the CONNECT carries the name
// unresolved, then relays bytes to the real server (or answers `rep`).
class RelayProxy {
 public:
  RelayProxy(std::string name, uint16_t name_port, uint16_t real_port, uint8_t rep = 0)
      : name_(std::move(name)),
        name_port_(name_port),
        real_port_(real_port),
        rep_(rep),
        server_([this](int fd) { Serve(fd); }) {}
  std::string address() const { return server_.address(); }
  std::atomic<int> good_requests{0};
  std::atomic<int> bad_requests{0};

 private:
  void Serve(int fd) {
    auto hello = ReadN(fd, 3);
    if (hello != std::vector<uint8_t>{5, 1, 0}) return (void)::close(fd);
    (void)WriteAll(fd, std::vector<uint8_t>{5, 0});
    auto head = ReadN(fd, 5);  // VER CMD RSV ATYP LEN
    std::vector<uint8_t> want = {5, 1, 0, kSocks5AtypDomain, static_cast<uint8_t>(name_.size())};
    auto rest = head.size() == 5 ? ReadN(fd, head[4] + 2u) : std::vector<uint8_t>{};
    std::vector<uint8_t> want_rest(name_.begin(), name_.end());
    want_rest.push_back(static_cast<uint8_t>(name_port_ >> 8));
    want_rest.push_back(static_cast<uint8_t>(name_port_ & 0xff));
    if (head != want || rest != want_rest) {
      ++bad_requests;
      (void)WriteAll(fd, std::vector<uint8_t>{5, 4, 0, 1, 0, 0, 0, 0, 0, 0});
      return (void)::close(fd);
    }
    ++good_requests;
    (void)WriteAll(fd, std::vector<uint8_t>{5, rep_, 0, 1, 0, 0, 0, 0, 0, 0});
    if (rep_ != 0) return (void)::close(fd);
    int upstream = ConnectLoopback(real_port_);
    Relay(fd, upstream);
    ::close(upstream);
    ::close(fd);
  }
  static void Relay(int a, int b) {
    if (b < 0) return;
    char buf[16384];
    for (;;) {
      struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, 10000) <= 0) return;
      for (int i = 0; i < 2; ++i) {
        if (p[i].revents == 0) continue;
        ssize_t n = ::read(p[i].fd, buf, sizeof(buf));
        if (n <= 0) return;
        if (!WriteAll(p[1 - i].fd, std::string_view(buf, static_cast<size_t>(n)))) return;
      }
    }
  }
  std::string name_;
  uint16_t name_port_;
  uint16_t real_port_;
  uint8_t rep_;
  LoopbackServer server_;
};

TEST(TormClientTest, OnionPeerThroughSocks5ProxyGetsTheNameUnresolvedAndWorks) {
  PeerServer peer;
  const std::string onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";
  RelayProxy proxy(onion, 25, peer.port());
  ClientOptions o = Options();
  o.socks5_proxy = proxy.address();
  Builder b;
  auto r = TormCall({onion + ":25", peer.id.pin}, TormVerb::kDerk, b.Fn(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, TormOutcome::kOk);
  EXPECT_EQ(r->reply, (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(proxy.good_requests, 1);
  EXPECT_EQ(proxy.bad_requests, 0);
  auto calls = peer.service.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].binding, *b.binding);
  EXPECT_EQ(calls[0].request, b.request);
}

TEST(TormClientTest, Socks5RefusalIsAClearUnavailableError) {
  PeerServer peer;
  RelayProxy proxy("gone.onion", 25, peer.port(), /*rep=*/0xf0);
  ClientOptions o = Options();
  o.socks5_proxy = proxy.address();
  Builder b;
  auto r = TormCall({"gone.onion:25", peer.id.pin}, TormVerb::kDerk, b.Fn(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("onion service descriptor not found"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(b.calls, 0);
}

TEST(TormClientTest, UnreachableProxyIsUnavailable) {
  auto fd = net::Listen({"127.0.0.1", 0});
  ASSERT_TRUE(fd.ok());
  auto port = net::BoundPort(*fd);
  ASSERT_TRUE(port.ok());
  ::close(*fd);
  ClientOptions o = Options();
  o.socks5_proxy = "127.0.0.1:" + std::to_string(*port);
  Builder b;
  auto r = TormCall({"peer.onion:25", {}}, TormVerb::kDerk, b.Fn(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("SOCKS5 proxy"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace onionmail::peer
