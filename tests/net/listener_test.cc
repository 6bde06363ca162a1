// Tests for address parsing and listening sockets.
#include "net/listener.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace onionmail::net {
namespace {

TEST(ListenerTest, ParsesIpv4AndIpv6AndLocalhost) {
  auto a = ParseHostPort("127.0.0.1:2525");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 2525);
  auto b = ParseHostPort("[::1]:110");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  auto c = ParseHostPort("localhost:25");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "127.0.0.1");
}

TEST(ListenerTest, RejectsMalformedAddresses) {
  EXPECT_FALSE(ParseHostPort("127.0.0.1").ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:").ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:65536").ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:25x").ok());
  EXPECT_FALSE(ParseHostPort("[::1]25").ok());
}

TEST(ListenerTest, ListensOnAnEphemeralLoopbackPort) {
  auto fd = Listen(HostPort{"127.0.0.1", 0});
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  auto port = BoundPort(*fd);
  ASSERT_TRUE(port.ok());
  EXPECT_NE(*port, 0);
  ::close(*fd);
}

TEST(ListenerTest, NonNumericHostIsRejectedClearly) {
  auto fd = Listen(HostPort{"mail.example", 25});
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().message.find("numeric"), std::string::npos);
}

}  // namespace
}  // namespace onionmail::net
