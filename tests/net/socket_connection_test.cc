// Tests for SocketConnection over a socketpair (plaintext paths; the TLS
// paths are exercised end to end by tests/integration).
#include "net/socket_connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace onionmail::net {
namespace {

class SocketConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    Timeouts t;
    t.idle = std::chrono::milliseconds(200);
    t.session = std::chrono::milliseconds(5000);
    conn_ = std::make_unique<SocketConnection>(fds[0], nullptr, t);
    peer_ = fds[1];
  }
  void TearDown() override {
    if (peer_ >= 0) ::close(peer_);
  }
  void Send(const std::string& s) {
    ASSERT_EQ(::write(peer_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  std::unique_ptr<SocketConnection> conn_;
  int peer_ = -1;
};

TEST_F(SocketConnectionTest, ReadLineReportsCrLfAndBareLf) {
  Send("EHLO a\r\nNOOP\nx\r\r\n");
  auto a = conn_->ReadLine(100);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->text, "EHLO a");
  EXPECT_EQ(a->ending, LineEnding::kCrLf);
  auto b = conn_->ReadLine(100);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->text, "NOOP");
  EXPECT_EQ(b->ending, LineEnding::kBareLf);
  auto c = conn_->ReadLine(100);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "x\r");  // a bare CR is kept for the session to judge
  EXPECT_EQ(c->ending, LineEnding::kCrLf);
}

TEST_F(SocketConnectionTest, OverlongLineWithoutNewlineIsTooLong) {
  Send(std::string(5000, 'a'));
  auto r = conn_->ReadLine(1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ending, LineEnding::kTooLong);
}

TEST_F(SocketConnectionTest, OverlongTerminatedLineIsTooLong) {
  Send(std::string(300, 'a') + "\r\nNOOP\r\n");
  auto r = conn_->ReadLine(100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ending, LineEnding::kTooLong);
}

TEST_F(SocketConnectionTest, SilentPeerHitsTheIdleTimeout) {
  auto r = conn_->ReadLine(100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
}

TEST_F(SocketConnectionTest, ClosedPeerIsUnavailable) {
  Send("partial");
  ::close(peer_);
  peer_ = -1;
  auto r = conn_->ReadLine(100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(SocketConnectionTest, WritesAreBufferedUntilFlush) {
  ASSERT_TRUE(conn_->Write("220 hi\r\n").ok());
  ASSERT_TRUE(conn_->Flush().ok());
  char buf[64];
  ssize_t n = ::read(peer_, buf, sizeof(buf));
  ASSERT_EQ(n, 8);
  EXPECT_EQ(std::string(buf, 8), "220 hi\r\n");
}

TEST_F(SocketConnectionTest, ReadLineSendsBufferedRepliesBeforeItWaitsForInput) {
  // A client that waits for the reply before it sends its next command (no
  // pipelining) must get it although the session did not call Flush().
  ASSERT_TRUE(conn_->Write("250 ok\r\n").ok());
  std::string seen;
  std::thread client([&] {
    timeval tv{2, 0};
    ::setsockopt(peer_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64];
    ssize_t n = ::read(peer_, buf, sizeof buf);
    if (n > 0) seen.assign(buf, static_cast<size_t>(n));
    if (seen == "250 ok\r\n") Send("NOOP\r\n");
  });
  auto line = conn_->ReadLine(100);
  client.join();
  EXPECT_EQ(seen, "250 ok\r\n");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->text, "NOOP");
}

TEST_F(SocketConnectionTest, ReadLineKeepsRepliesBufferedWhileACompleteLineIsBuffered) {
  Send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
  ASSERT_TRUE(conn_->ReadLine(100).ok());
  ASSERT_TRUE(conn_->Write("250 a\r\n").ok());
  ASSERT_TRUE(conn_->ReadLine(100).ok());  // buffered: no flush, no wait
  char buf[64];
  EXPECT_EQ(::recv(peer_, buf, sizeof buf, MSG_DONTWAIT), -1);
  ASSERT_TRUE(conn_->Write("250 c\r\n").ok());
  ASSERT_TRUE(conn_->Flush().ok());
  ssize_t n = ::read(peer_, buf, sizeof buf);
  ASSERT_EQ(n, 14);
  EXPECT_EQ(std::string(buf, 14), "250 a\r\n250 c\r\n");  // both at the Flush
}

TEST_F(SocketConnectionTest, BufferedCountsUnreadPipelinedBytes) {
  Send("NOOP\r\nNOOP\r\n");
  ASSERT_TRUE(conn_->ReadLine(100).ok());
  EXPECT_EQ(conn_->Buffered(), 6u);
}

TEST_F(SocketConnectionTest, StartTlsWithoutContextFailsCleanly) {
  auto r = conn_->StartTls();
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(conn_->IsTls());
}

}  // namespace
}  // namespace onionmail::net
