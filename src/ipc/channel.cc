// ipc::Channel over AF_UNIX SOCK_SEQPACKET; contract in ipc/channel.h.
#include "ipc/channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/secret_bytes.h"
#include "ipc/codec.h"

namespace onionmail::ipc {

namespace {

Error SysError(ErrorCode code, const char* what) {
  return MakeError(code, std::string("ipc: ") + what + ": " + std::strerror(errno));
}

bool PeerGone(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

}  // namespace

void OwnedFd::Reset() {
  if (fd_ >= 0) (void)::close(fd_);
  fd_ = -1;
}

bool ParseInheritedFd(const char* text, int* fd) {
  if (text[0] < '0' || text[0] > '9') return false;  // strtol would skip spaces, take signs
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 3 || v > 65535) return false;
  *fd = static_cast<int>(v);
  return true;
}

Result<Channel> Channel::FromFd(int raw) {
  OwnedFd fd(raw);
  int domain = 0, type = 0;
  socklen_t len = sizeof(domain);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    return SysError(ErrorCode::kInvalidArgument, "not a socket");
  }
  len = sizeof(type);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
    return SysError(ErrorCode::kInvalidArgument, "getsockopt(SO_TYPE)");
  }
  if (domain != AF_UNIX || type != SOCK_SEQPACKET) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ipc: channel needs an AF_UNIX SOCK_SEQPACKET socket");
  }
  return Channel(std::move(fd));
}

Result<std::pair<Channel, Channel>> Channel::CreatePair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return SysError(ErrorCode::kInternal, "socketpair");
  }
  return std::pair<Channel, Channel>(Channel(OwnedFd(sv[0])), Channel(OwnedFd(sv[1])));
}

Channel::~Channel() {
  WipeMemory(send_buf_.data(), send_buf_.size());
  // A moved-from channel keeps last_recv_size_ but not the buffer.
  WipeMemory(recv_buf_.data(), std::min(last_recv_size_, recv_buf_.size()));
}

Result<void> Channel::Send(const Message& msg) { return SendFrame(msg, -1); }

Result<void> Channel::SendFd(const Message& msg, int fd) {
  if (fd < 0) return MakeError(ErrorCode::kInvalidArgument, "ipc: SendFd needs a valid fd");
  return SendFrame(msg, fd);
}

Result<void> Channel::SendFrame(const Message& msg, int pass_fd) {
  if (!fd_.valid()) return MakeError(ErrorCode::kFailedPrecondition, "ipc: channel closed");
  ONIONMAIL_RETURN_IF_ERROR(EncodeInto(msg, send_buf_));

  struct iovec iov = {send_buf_.data(), send_buf_.size()};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    mh.msg_control = control;
    mh.msg_controllen = sizeof(control);
    struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = ::sendmsg(fd_.get(), &mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  WipeMemory(send_buf_.data(), send_buf_.size());
  if (n < 0) {
    errno = err;
    return SysError(PeerGone(err) ? ErrorCode::kUnavailable : ErrorCode::kInternal, "send");
  }
  // SOCK_SEQPACKET sends the whole datagram or fails.
  ONIONMAIL_CHECK(static_cast<size_t>(n) == send_buf_.size());
  return Ok();
}

Result<Message> Channel::Receive(std::chrono::milliseconds timeout) {
  return ReceiveFrame(timeout, nullptr);
}

Result<MessageWithFd> Channel::ReceiveFd(std::chrono::milliseconds timeout) {
  OwnedFd fd;
  auto msg = ReceiveFrame(timeout, &fd);
  if (!msg.ok()) return msg.error();
  return MessageWithFd{std::move(msg).value(), std::move(fd)};
}

Result<Message> Channel::ReceiveFrame(std::chrono::milliseconds timeout, OwnedFd* fd_out) {
  using Clock = std::chrono::steady_clock;
  if (!fd_.valid()) return MakeError(ErrorCode::kFailedPrecondition, "ipc: channel closed");
  const auto deadline = Clock::now() + timeout;

  for (;;) {
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
    }
    struct pollfd pfd = {fd_.get(), POLLIN, 0};
    int pr = ::poll(&pfd, 1, wait_ms);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return SysError(ErrorCode::kInternal, "poll");
    if (pr == 0) return MakeError(ErrorCode::kDeadlineExceeded, "ipc: receive timed out");

    // The buffer grows to the largest datagram seen (peeked without its fds,
    // which MSG_PEEK would duplicate), not to kMaxFrameBytes at once: most
    // frames are small, and zero-filling and unmapping 1 MiB per connection
    // was a third of the SMTP front end's CPU (bench/).
    ssize_t want;
    do {
      want = ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    } while (want < 0 && errno == EINTR);
    if (want < 0 && errno == EAGAIN) continue;
    if (want < 0) {
      return SysError(PeerGone(errno) ? ErrorCode::kUnavailable : ErrorCode::kInternal, "recv");
    }
    const size_t need = std::clamp<size_t>(static_cast<size_t>(want), 1, kMaxFrameBytes + 1);
    if (recv_buf_.size() < need) recv_buf_.resize(need);

    struct iovec iov = {recv_buf_.data(), recv_buf_.size()};
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    // Room for a few fds so that a peer sending several is detected, not truncated.
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    mh.msg_control = control;
    mh.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd_.get(), &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      return SysError(PeerGone(errno) ? ErrorCode::kUnavailable : ErrorCode::kInternal, "recv");
    }

    // Take ownership of every fd that arrived, wanted or not.
    std::vector<OwnedFd> fds;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int one;
        std::memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.emplace_back(one);
      }
    }

    if (n == 0) return MakeError(ErrorCode::kUnavailable, "ipc: peer closed the channel");
    size_t got = std::min(static_cast<size_t>(n), recv_buf_.size());
    last_recv_size_ = got;
    if ((mh.msg_flags & MSG_TRUNC) != 0 || static_cast<size_t>(n) > kMaxFrameBytes) {
      WipeMemory(recv_buf_.data(), got);
      return MakeError(ErrorCode::kInvalidArgument, "ipc: frame too large");
    }
    auto msg = Decode(std::span<const uint8_t>(recv_buf_.data(), got));
    WipeMemory(recv_buf_.data(), got);
    if (!msg.ok()) return msg.error();
    if ((mh.msg_flags & MSG_CTRUNC) != 0) {
      return MakeError(ErrorCode::kInvalidArgument, "ipc: too many fds attached");
    }
    if (fd_out == nullptr) {
      if (!fds.empty()) return MakeError(ErrorCode::kInvalidArgument, "ipc: unexpected fd");
    } else {
      if (fds.size() != 1) return MakeError(ErrorCode::kInvalidArgument, "ipc: expected one fd");
      *fd_out = std::move(fds[0]);
    }
    return msg;
  }
}

}  // namespace onionmail::ipc
