// Acceptor::IsLoopback (server/acceptor.h): which client addresses count as
// loopback (an enter gateway's Tor side) and which as the Internet.
#include "server/acceptor.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace onionmail::server {
namespace {

bool V4(const char* text) {
  sockaddr_storage ss = {};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, text, &in.sin_addr), 1) << text;
  return Acceptor::IsLoopback(ss, sizeof(sockaddr_in));
}

bool V6(const char* text) {
  sockaddr_storage ss = {};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
  in6.sin6_family = AF_INET6;
  EXPECT_EQ(inet_pton(AF_INET6, text, &in6.sin6_addr), 1) << text;
  return Acceptor::IsLoopback(ss, sizeof(sockaddr_in6));
}

TEST(AcceptorTest, LoopbackAddressesAreLoopback) {
  EXPECT_TRUE(V4("127.0.0.1"));
  EXPECT_TRUE(V4("127.255.3.4"));
  EXPECT_TRUE(V6("::1"));
  EXPECT_TRUE(V6("::ffff:127.0.0.1"));
}

TEST(AcceptorTest, EverythingElseIsNot) {
  EXPECT_FALSE(V4("10.0.0.1"));
  EXPECT_FALSE(V4("192.168.1.127"));
  EXPECT_FALSE(V4("0.0.0.0"));
  EXPECT_FALSE(V4("128.0.0.1"));
  EXPECT_FALSE(V6("::"));
  EXPECT_FALSE(V6("fe80::1"));
  EXPECT_FALSE(V6("2001:db8::127"));
  EXPECT_FALSE(V6("::ffff:10.0.0.127"));
  EXPECT_FALSE(V6("::127.0.0.1"));  // IPv4-compatible, deprecated: not loopback
}

TEST(AcceptorTest, AShortOrUnknownAddressIsNot) {
  sockaddr_storage ss = {};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(0x7f000001);
  EXPECT_TRUE(Acceptor::IsLoopback(ss, sizeof(sockaddr_in)));
  EXPECT_FALSE(Acceptor::IsLoopback(ss, 2));
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(Acceptor::IsLoopback(ss, sizeof(ss)));
}

}  // namespace
}  // namespace onionmail::server
