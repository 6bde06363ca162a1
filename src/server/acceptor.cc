// Acceptor implementation.
#include "server/acceptor.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "base/log.h"

namespace onionmail::server {
namespace {

// The log line of a refused Internet client (never its address).
const char* RefusalText(ClientLimits::Refusal refusal) {
  switch (refusal) {
    case ClientLimits::Refusal::kPerAddress:
      return "connection refused: too many from one Internet address";
    case ClientLimits::Refusal::kRate:
      return "connection refused: one Internet address connecting too often";
    case ClientLimits::Refusal::kTotal:
    case ClientLimits::Refusal::kNone:
      break;
  }
  return "connection refused: too many Internet clients";
}

}  // namespace

Acceptor::Acceptor(std::string name, int listen_fd, uint32_t max_connections,
                   std::string busy_reply, Handler handler, OutsideClients outside)
    : name_(std::move(name)),
      listen_fd_(listen_fd),
      max_connections_(max_connections),
      busy_reply_(std::move(busy_reply)),
      handler_(std::move(handler)),
      outside_(std::move(outside)),
      active_(std::make_shared<std::atomic<uint32_t>>(0)) {}

Acceptor::~Acceptor() { ::close(listen_fd_); }

bool Acceptor::IsLoopback(const struct sockaddr_storage& addr, size_t len) {
  if (addr.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
  }
  if (addr.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) && in6.sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

void Acceptor::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    struct pollfd p = {listen_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 500);
    if (r <= 0) continue;
    struct sockaddr_storage peer = {};
    socklen_t peer_len = sizeof(peer);
    int fd =
        ::accept4(listen_fd_, reinterpret_cast<struct sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        log::Warning(name_, std::string("accept failed: ") + std::strerror(errno));
        // EMFILE and friends: back off instead of spinning.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    // Replies are small and each one is flushed on purpose: without
    // TCP_NODELAY, Nagle's algorithm holds them back ~40 ms (measured by
    // bench/: the first reply after the TLS handshake stalled).
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (active_->load() >= max_connections_) {
      (void)!::send(fd, busy_reply_.data(), busy_reply_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      log::Warning(name_, "connection refused: too many concurrent connections");
      continue;
    }
    const bool loopback = IsLoopback(peer, peer_len);
    std::shared_ptr<const void> slot;  // an outside client's, given back when its session ends
    if (!loopback && outside_.limits != nullptr) {
      ClientLimits::Admission admission = outside_.limits->Admit(peer, peer_len);
      if (admission.slot == nullptr) {
        (void)!::send(fd, outside_.busy_reply.data(), outside_.busy_reply.size(),
                      MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        log::Warning(name_, RefusalText(admission.refusal));
        continue;
      }
      slot = std::move(admission.slot);
    }
    std::string tag = name_ + "#" + std::to_string(next_id_++);
    active_->fetch_add(1);
    connection_threads_.Run(
        [handler = handler_, active = active_, fd, tag, loopback, slot]() mutable {
          handler(fd, tag, loopback);
          slot.reset();
          active->fetch_sub(1);
        });
  }
}

}  // namespace onionmail::server
