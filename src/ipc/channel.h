// ipc::Channel: a blocking, typed message channel between two roles over a
// connected AF_UNIX SOCK_SEQPACKET socket (one frame per datagram, so there
// is no framing ambiguity and a short read cannot happen).
//
// Contract:
//  - Send() encodes (ipc/codec.h) into the channel's send buffer, sends it as
//    one datagram and wipes the buffer. Receive() reads one datagram into the
//    receive buffer, decodes it and wipes the bytes it received. Secrets thus
//    exist only in SecretBytes and transiently in the kernel.
//  - Receive errors: peer closed -> kUnavailable; no datagram within the
//    timeout -> kDeadlineExceeded; datagram over kMaxFrameBytes, malformed
//    frame, or an unexpected fd attached -> kInvalidArgument (fatal to the
//    receiver: the caller drops the channel / exits).
//  - SendFd()/ReceiveFd() pass one fd (SCM_RIGHTS) together with a message,
//    e.g. AcceptedConnection; ReceiveFd() without an fd is kInvalidArgument.
//    Received fds are close-on-exec; Receive() closes any fd it did not ask for.
//  - Not thread-safe: one thread per Channel end.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "base/result.h"
#include "ipc/messages.h"

namespace onionmail::ipc {

// Owns a file descriptor; closes it on destruction.
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  ~OwnedFd() { Reset(); }
  OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset();

 private:
  int fd_ = -1;
};

struct MessageWithFd {
  Message message;
  OwnedFd fd;
};

// Parses the number of an inherited channel fd given on a role's command line
// ("--control-fd 5"): a decimal in 3..65535 (0..2 are the standard streams).
bool ParseInheritedFd(const char* text, int* fd);

class Channel {
 public:
  // Wraps a connected AF_UNIX SOCK_SEQPACKET socket (takes ownership; the fd
  // is closed even on error). Anything else is kInvalidArgument.
  static Result<Channel> FromFd(int fd);
  // socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC).
  static Result<std::pair<Channel, Channel>> CreatePair();

  Channel(Channel&&) noexcept = default;
  Channel& operator=(Channel&&) noexcept = default;
  ~Channel();

  int fd() const { return fd_.get(); }

  // Peer gone -> kUnavailable; bad message (sender bug) -> kInvalidArgument.
  Result<void> Send(const Message& msg);
  Result<void> SendFd(const Message& msg, int fd);

  // timeout < 0 waits forever.
  Result<Message> Receive(std::chrono::milliseconds timeout);
  Result<MessageWithFd> ReceiveFd(std::chrono::milliseconds timeout);

  // For tests: the send buffer after Send (must be all zero) and the bytes
  // of the receive buffer that the last Receive filled (must be all zero).
  std::span<const uint8_t> SendBufferForTesting() const { return send_buf_; }
  std::span<const uint8_t> LastReceiveBytesForTesting() const {
    return std::span<const uint8_t>(recv_buf_).first(last_recv_size_);
  }

 private:
  explicit Channel(OwnedFd fd) : fd_(std::move(fd)) {}
  Result<void> SendFrame(const Message& msg, int fd);
  Result<Message> ReceiveFrame(std::chrono::milliseconds timeout, OwnedFd* fd_out);

  OwnedFd fd_;
  std::vector<uint8_t> send_buf_;
  std::vector<uint8_t> recv_buf_;
  size_t last_recv_size_ = 0;
};

}  // namespace onionmail::ipc
