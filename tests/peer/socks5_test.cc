// Socks5Connect against an in-test SOCKS5 proxy on a socketpair: the exact
// request bytes (domain names unresolved, IP literals as ATYP 1/4), every
// reply code as a clear error, refusal of authentication and of non-SOCKS5
// proxies, and nothing read past the proxy's reply.
#include "peer/socks5.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/peer/peer_test_util.h"

namespace onionmail::peer {
namespace {

using namespace std::chrono_literals;

// What the fake proxy saw and how it answers.
struct FakeProxy {
  uint8_t method_reply = kSocks5NoAuth;
  uint8_t version_reply = kSocks5Version;
  uint8_t rep = 0x00;
  std::vector<uint8_t> bound = {kSocks5AtypIpv4, 10, 0, 0, 1, 0x12, 0x34};
  std::string after_reply;  // bytes of the tunnelled stream sent right after the reply

  std::vector<uint8_t> hello;
  std::vector<uint8_t> request;  // VER CMD RSV ATYP ADDR PORT

  void Serve(int fd) {
    hello = ReadN(fd, 3);
    if (hello.size() != 3) return;
    (void)WriteAll(fd, std::vector<uint8_t>{version_reply, method_reply});
    if (method_reply != kSocks5NoAuth || version_reply != kSocks5Version) return;
    request = ReadN(fd, 4);
    if (request.size() != 4) return;
    size_t addr = request[3] == kSocks5AtypIpv4 ? 4 : request[3] == kSocks5AtypIpv6 ? 16 : 0;
    if (request[3] == kSocks5AtypDomain) {
      auto n = ReadN(fd, 1);
      if (n.empty()) return;
      request.push_back(n[0]);
      addr = n[0];
    }
    auto rest = ReadN(fd, addr + 2);
    request.insert(request.end(), rest.begin(), rest.end());
    std::vector<uint8_t> reply = {kSocks5Version, rep, 0x00};
    reply.insert(reply.end(), bound.begin(), bound.end());
    (void)WriteAll(fd, reply);
    if (!after_reply.empty()) (void)WriteAll(fd, after_reply);
  }
};

class Socks5Test : public ::testing::Test {
 protected:
  Result<void> Run(std::string_view host, uint16_t port) {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client_fd_ = UniqueFd(fds[0]);
    EXPECT_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    std::thread proxy([&, fd = fds[1]] {
      proxy_.Serve(fd);
      // Keep the proxy end open until the client is done with it.
      char c;
      while (::read(fd, &c, 1) > 0) {
      }
      ::close(fd);
    });
    auto r = Socks5Connect(client_fd_.get(), host, port, Clock::now() + 2000ms);
    ::shutdown(client_fd_.get(), SHUT_WR);
    proxy.join();
    return r;
  }
  std::vector<uint8_t> ReadRest() {
    int flags = fcntl(client_fd_.get(), F_GETFL);
    (void)fcntl(client_fd_.get(), F_SETFL, flags & ~O_NONBLOCK);
    std::vector<uint8_t> out;
    uint8_t buf[256];
    ssize_t n;
    while ((n = ::read(client_fd_.get(), buf, sizeof(buf))) > 0)
      out.insert(out.end(), buf, buf + n);
    return out;
  }

  FakeProxy proxy_;
  UniqueFd client_fd_;
};

TEST_F(Socks5Test, OnionNameIsSentAsDomainNameWithThePortAndNothingElseIsConsumed) {
  proxy_.after_reply = "220 peer ESMTP\r\n";
  auto r = Run("abcdefghijklmnop.onion", 25);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(proxy_.hello, (std::vector<uint8_t>{5, 1, 0})) << "offers no-auth only";
  std::string name = "abcdefghijklmnop.onion";
  std::vector<uint8_t> want = {5, 1, 0, 3, static_cast<uint8_t>(name.size())};
  want.insert(want.end(), name.begin(), name.end());
  want.push_back(0);
  want.push_back(25);
  EXPECT_EQ(proxy_.request, want);
  std::vector<uint8_t> rest = ReadRest();
  EXPECT_EQ(std::string(rest.begin(), rest.end()), "220 peer ESMTP\r\n");
}

TEST_F(Socks5Test, Ipv4LiteralIsSentAsAtyp1) {
  auto r = Run("192.0.2.7", 2525);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(proxy_.request, (std::vector<uint8_t>{5, 1, 0, 1, 192, 0, 2, 7, 0x09, 0xdd}));
}

TEST_F(Socks5Test, Ipv6LiteralIsSentAsAtyp4) {
  auto r = Run("2001:db8::1", 25);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<uint8_t> want = {5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8};
  want.insert(want.end(), 11, 0);
  want.push_back(1);
  want.push_back(0);
  want.push_back(25);
  EXPECT_EQ(proxy_.request, want);
}

TEST_F(Socks5Test, DomainAndIpv6BoundAddressesInTheReplyAreSkippedExactly) {
  proxy_.bound = {kSocks5AtypDomain, 3, 'a', 'b', 'c', 0, 80};
  proxy_.after_reply = "X";
  ASSERT_TRUE(Run("peer.onion", 25).ok());
  EXPECT_EQ(ReadRest(), (std::vector<uint8_t>{'X'}));

  proxy_ = FakeProxy{};
  proxy_.bound = {kSocks5AtypIpv6};
  proxy_.bound.insert(proxy_.bound.end(), 18, 0);
  proxy_.after_reply = "Y";
  ASSERT_TRUE(Run("peer.onion", 25).ok());
  EXPECT_EQ(ReadRest(), (std::vector<uint8_t>{'Y'}));
}

TEST_F(Socks5Test, EachReplyCodeGivesItsReason) {
  const std::vector<std::pair<uint8_t, std::string>> cases = {
      {0x01, "general SOCKS server failure"},
      {0x02, "connection not allowed by ruleset"},
      {0x03, "network unreachable"},
      {0x04, "host unreachable"},
      {0x05, "connection refused"},
      {0x06, "TTL expired"},
      {0x07, "command not supported"},
      {0x08, "address type not supported"},
      {0xf0, "onion service descriptor not found"},
      {0xf1, "onion service descriptor invalid"},
      {0xf2, "onion service introduction failed"},
      {0xf3, "onion service rendezvous failed"},
      {0xf4, "onion service needs client authorization"},
      {0xf5, "onion service client authorization wrong"},
      {0xf6, "invalid onion address"},
      {0xf7, "onion service introduction timed out"},
      {0x42, "unassigned code"},
  };
  for (const auto& [code, text] : cases) {
    proxy_ = FakeProxy{};
    proxy_.rep = code;
    auto r = Run("peer.onion", 25);
    ASSERT_FALSE(r.ok()) << int{code};
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02x", code);
    EXPECT_NE(r.error().message.find(hex), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("peer.onion"), std::string::npos) << "no host in errors";
  }
}

TEST_F(Socks5Test, ProxyThatWantsAuthenticationIsRefused) {
  proxy_.method_reply = kSocks5NoAcceptableMethod;
  auto r = Run("peer.onion", 25);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("authentication"), std::string::npos) << r.error().message;
  EXPECT_TRUE(proxy_.request.empty()) << "no CONNECT after a failed negotiation";
}

TEST_F(Socks5Test, ProxyChoosingAMethodNotOfferedIsRefused) {
  proxy_.method_reply = 0x02;  // username/password
  auto r = Run("peer.onion", 25);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(proxy_.request.empty());
}

TEST_F(Socks5Test, NonSocks5ProxyIsRefused) {
  proxy_.version_reply = 4;
  auto r = Run("peer.onion", 25);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("not a SOCKS5 proxy"), std::string::npos);
}

TEST_F(Socks5Test, BadHostNamesAreRefusedBeforeAnyByteIsSent) {
  for (std::string host : {std::string(256, 'a'), std::string(""), std::string("a\r\nb"),
                           std::string("a b"), std::string("a\0b", 3)}) {
    proxy_ = FakeProxy{};
    auto r = Run(host, 25);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(proxy_.hello.empty()) << "nothing sent";
  }
  proxy_ = FakeProxy{};
  EXPECT_TRUE(Run(std::string(255, 'a'), 25).ok()) << "255 bytes is the maximum";
}

TEST_F(Socks5Test, ProxyClosingEarlyIsUnavailable) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  UniqueFd client(fds[0]);
  ::close(fds[1]);
  auto r = Socks5Connect(client.get(), "peer.onion", 25, Clock::now() + 1000ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(Socks5Test, SilentProxyHitsTheDeadline) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  UniqueFd client(fds[0]);
  UniqueFd proxy(fds[1]);
  ASSERT_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  auto start = Clock::now();
  auto r = Socks5Connect(client.get(), "peer.onion", 25, start + 200ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, 2000ms);
}

}  // namespace
}  // namespace onionmail::peer
