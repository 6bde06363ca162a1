// Tests for ipc/channel.h over real socketpairs.
#include "ipc/channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "base/secret_bytes.h"
#include "ipc/codec.h"

namespace onionmail::ipc {
namespace {

using std::chrono::milliseconds;

std::pair<Channel, Channel> Pair() {
  auto p = Channel::CreatePair();
  ONIONMAIL_CHECK(p.ok());
  return std::move(p).value();
}

bool AllZero(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t c) { return c == 0; });
}

// Gives fd a send buffer that takes one datagram of `bytes` (Linux refuses a
// datagram over the buffer less 32 bytes with EMSGSIZE). SO_SNDBUF is capped
// by net.core.wmem_max (about 208 KiB on a default Debian: a machine-dependent
// result); SO_SNDBUFFORCE, for root (CAP_NET_ADMIN), is not.
::testing::AssertionResult SendBufferTakes(int fd, size_t bytes) {
  int want = static_cast<int>(bytes) + 65536;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want) != 0) {
    return ::testing::AssertionFailure() << "setsockopt SO_SNDBUF failed";
  }
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len) != 0) {
    return ::testing::AssertionFailure() << "getsockopt SO_SNDBUF failed";
  }
  if (got < 32 || static_cast<size_t>(got) - 32 < bytes) {
    return ::testing::AssertionFailure()
           << "the send buffer is " << got << " bytes, too small for one datagram of " << bytes
           << ": run as root (SO_SNDBUFFORCE) or raise net.core.wmem_max";
  }
  return ::testing::AssertionSuccess();
}

TEST(IpcChannelTest, MessageSentOnOneEndIsReceivedOnTheOther) {
  auto [a, b] = Pair();
  ASSERT_TRUE(a.Send(LookupUserRequest{"dave"}).ok());
  auto got = b.Receive(milliseconds(1000));
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(std::holds_alternative<LookupUserRequest>(*got));
  EXPECT_EQ(std::get<LookupUserRequest>(*got).user, "dave");

  ASSERT_TRUE(b.Send(OpenInboxReply{Status::kOk, 99}).ok());
  auto reply = a.Receive(milliseconds(1000));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(std::get<OpenInboxReply>(*reply).session_id, 99u);
}

TEST(IpcChannelTest, SecretsAreWipedFromSendAndReceiveBuffers) {
  auto [a, b] = Pair();
  SecretBytes pw(SecretAccess::Grant(), std::string_view("correct horse battery"));
  ASSERT_TRUE(a.Send(Message(OpenInboxRequest{"erin", std::move(pw)})).ok());
  ASSERT_FALSE(a.SendBufferForTesting().empty());
  EXPECT_TRUE(AllZero(a.SendBufferForTesting()));

  auto got = b.Receive(milliseconds(1000));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::get<OpenInboxRequest>(*got).password.RevealString(SecretAccess::Grant()),
            "correct horse battery");
  ASSERT_FALSE(b.LastReceiveBytesForTesting().empty());
  EXPECT_TRUE(AllZero(b.LastReceiveBytesForTesting()));
}

TEST(IpcChannelTest, PeerClosedIsUnavailable) {
  auto [a, b] = Pair();
  { Channel gone = std::move(b); }
  auto got = a.Receive(milliseconds(1000));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kUnavailable);
  auto sent = a.Send(Shutdown{});
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kUnavailable);
}

TEST(IpcChannelTest, NothingWithinTimeoutIsDeadlineExceeded) {
  auto [a, b] = Pair();
  auto start = std::chrono::steady_clock::now();
  auto got = a.Receive(milliseconds(50));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(45));
}

TEST(IpcChannelTest, ReceiveWaitsForALateMessage) {
  auto [a, b] = Pair();
  // An init-capture: clang before 16 cannot capture a structured binding.
  std::thread sender([&ch = a] {
    std::this_thread::sleep_for(milliseconds(30));
    ASSERT_TRUE(ch.Send(Shutdown{}).ok());
  });
  auto got = b.Receive(milliseconds(-1));
  sender.join();
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(std::holds_alternative<Shutdown>(*got));
}

TEST(IpcChannelTest, PassedPipeFdWritesIntoTheSamePipe) {
  auto [a, b] = Pair();
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  ASSERT_TRUE(a.SendFd(AcceptedConnection{3}, p[1]).ok());
  close(p[1]);  // the receiver's copy keeps the pipe open

  auto got = b.ReceiveFd(milliseconds(1000));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(std::get<AcceptedConnection>(got->message).listener_id, 3);
  ASSERT_TRUE(got->fd.valid());
  EXPECT_NE(fcntl(got->fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_EQ(write(got->fd.get(), "via fd", 6), 6);
  got->fd.Reset();
  char buf[16] = {};
  ASSERT_EQ(read(p[0], buf, sizeof(buf)), 6);
  EXPECT_EQ(std::string(buf, 6), "via fd");
  EXPECT_EQ(read(p[0], buf, sizeof(buf)), 0);  // the passed fd was the last writer
  close(p[0]);
}

TEST(IpcChannelTest, UnexpectedFdIsRejectedAndClosed) {
  auto [a, b] = Pair();
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  ASSERT_TRUE(a.SendFd(Shutdown{}, p[1]).ok());
  close(p[1]);
  auto got = b.Receive(milliseconds(1000));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
  char c;
  EXPECT_EQ(read(p[0], &c, 1), 0);  // the receiver closed the stray write end
  close(p[0]);
}

TEST(IpcChannelTest, ReceiveFdWithoutAnFdIsRejected) {
  auto [a, b] = Pair();
  ASSERT_TRUE(a.Send(AcceptedConnection{1}).ok());
  auto got = b.ReceiveFd(milliseconds(1000));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
}

TEST(IpcChannelTest, MalformedDatagramIsInvalidArgument) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  auto ch = Channel::FromFd(sv[1]);
  ASSERT_TRUE(ch.ok());
  const uint8_t junk[] = {0, 0, 0, 4, 0x7f, 0x7f, 0, 1};  // unknown type
  ASSERT_EQ(send(sv[0], junk, sizeof(junk), 0), static_cast<ssize_t>(sizeof(junk)));
  auto got = ch->Receive(milliseconds(1000));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
  close(sv[0]);
}

TEST(IpcChannelTest, FramesOfGrowingAndShrinkingSizeArriveWhole) {
  // The receive buffer grows to the largest datagram seen; a full chunk after
  // a small frame, then a small one again, must all decode intact.
  auto [a, b] = Pair();
  std::vector<uint8_t> chunk(kMaxChunkBytes);
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<uint8_t>(i * 7 + 1);
  ASSERT_TRUE(a.Send(LookupUserRequest{"x"}).ok());
  ASSERT_TRUE(a.Send(AppendRequest{chunk}).ok());
  ASSERT_TRUE(a.Send(LookupUserRequest{"yy"}).ok());
  auto first = b.Receive(milliseconds(1000));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(std::get<LookupUserRequest>(*first).user, "x");
  auto second = b.Receive(milliseconds(1000));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(std::get<AppendRequest>(*second).data, chunk);
  EXPECT_TRUE(AllZero(b.LastReceiveBytesForTesting()));
  auto third = b.Receive(milliseconds(1000));
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_EQ(std::get<LookupUserRequest>(*third).user, "yy");
}

TEST(IpcChannelTest, DatagramOverTheFrameLimitIsRejectedAndTheNextOneArrives) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  std::vector<uint8_t> huge(kMaxFrameBytes + 100, 0);
  ASSERT_TRUE(SendBufferTakes(sv[0], huge.size()));
  auto ch = Channel::FromFd(sv[1]);
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(send(sv[0], huge.data(), huge.size(), 0), static_cast<ssize_t>(huge.size()));
  auto got = ch->Receive(milliseconds(1000));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(got.error().message.find("too large"), std::string::npos);

  auto sender = Channel::FromFd(sv[0]);
  ASSERT_TRUE(sender.ok());
  ASSERT_TRUE(sender->Send(LookupUserRequest{"after"}).ok());
  auto next = ch->Receive(milliseconds(1000));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(std::get<LookupUserRequest>(*next).user, "after");
}

TEST(IpcChannelTest, InheritedFdArgumentIsADecimalAboveTheStandardStreams) {
  int fd = -1;
  EXPECT_TRUE(ParseInheritedFd("3", &fd));
  EXPECT_EQ(fd, 3);
  EXPECT_TRUE(ParseInheritedFd("65535", &fd));
  EXPECT_EQ(fd, 65535);
  for (const char* bad : {"", "2", "0", "-4", "65536", "7x", "x7", " 7", "99999999999999999999"}) {
    fd = -1;
    EXPECT_FALSE(ParseInheritedFd(bad, &fd)) << bad;
    EXPECT_EQ(fd, -1) << bad;
  }
}

TEST(IpcChannelTest, FromFdRefusesStreamSockets) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  auto ch = Channel::FromFd(sv[0]);
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(fcntl(sv[0], F_GETFD), -1);  // ownership was taken: closed
  close(sv[1]);
}

TEST(IpcChannelTest, InvalidMessageIsNotSent) {
  auto [a, b] = Pair();
  auto sent = a.Send(LookupUserRequest{""});
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(b.Receive(milliseconds(20)).error().code, ErrorCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace onionmail::ipc
