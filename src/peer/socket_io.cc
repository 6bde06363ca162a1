// Plain socket I/O with a deadline (see socket_io.h).
#include "peer/socket_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace onionmail::peer {

namespace {
Error SysError(const char* what, int err) {
  return MakeError(ErrorCode::kUnavailable, std::string(what) + ": " + std::strerror(err));
}
}  // namespace

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

bool IsNumericHost(std::string_view host) {
  if (host.empty() || host.size() > INET6_ADDRSTRLEN) return false;
  std::string h(host);
  in6_addr v6;
  in_addr v4;
  return inet_pton(AF_INET, h.c_str(), &v4) == 1 || inet_pton(AF_INET6, h.c_str(), &v6) == 1;
}

Error AnnotateError(std::string_view step, const Error& error) {
  return MakeError(error.code, std::string(step) + ": " + error.message);
}

Result<void> WaitReady(int fd, bool for_write, Deadline deadline) {
  for (;;) {
    auto now = Clock::now();
    if (now >= deadline) return MakeError(ErrorCode::kDeadlineExceeded, "timed out");
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    int wait = static_cast<int>(std::min<int64_t>(left.count(), 60000));
    struct pollfd p = {fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    int r = ::poll(&p, 1, wait);
    if (r > 0) return Ok();
    if (r < 0 && errno != EINTR) return SysError("poll", errno);
  }
}

Result<UniqueFd> ConnectNumeric(const net::HostPort& where, Deadline deadline) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, where.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(where.port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, where.host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(where.port);
    len = sizeof(*v6);
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "not a numeric IP address");
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0)
    return MakeError(ErrorCode::kInternal, std::string("socket: ") + strerror(errno));
  // A TORM exchange is a string of small writes that each wait for an
  // answer (EHLO, STARTTLS, the TLS Finished then the next command): with
  // Nagle's algorithm the second of two back-to-back writes waits for the
  // peer's delayed ACK, ~40 ms per exchange (bench/unseal.py measured
  // ~50 ms per DERK request on loopback). Best effort: a failure only costs
  // latency.
  const int one = 1;
  (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    if (errno != EINPROGRESS) return SysError("connect", errno);
    ONIONMAIL_RETURN_IF_ERROR(WaitReady(fd.get(), /*for_write=*/true, deadline));
    int err = 0;
    socklen_t err_len = sizeof(err);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) {
      return SysError("getsockopt", errno);
    }
    if (err != 0) return SysError("connect", err);
  }
  return fd;
}

Result<void> SendAll(int fd, std::span<const uint8_t> bytes, Deadline deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return SysError("send", errno);
    ONIONMAIL_RETURN_IF_ERROR(WaitReady(fd, /*for_write=*/true, deadline));
  }
  return Ok();
}

Result<void> RecvExact(int fd, std::span<uint8_t> out, Deadline deadline) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::recv(fd, out.data() + done, out.size() - done, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return MakeError(ErrorCode::kUnavailable, "connection closed by peer");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return SysError("recv", errno);
    ONIONMAIL_RETURN_IF_ERROR(WaitReady(fd, /*for_write=*/false, deadline));
  }
  return Ok();
}

}  // namespace onionmail::peer
