// Plain socket I/O with one absolute deadline, for the client side of the
// peer protocol (TORM, docs/PROTOCOL.md). Works inside the seccomp sandbox of
// a role: only socket, connect, poll, getsockopt, recv, send and close; no
// name resolution, no file access.
//
// Contract:
//  - Every call takes the same absolute Deadline (steady clock) and fails with
//    kDeadlineExceeded "timed out" when it passes; other failures are
//    kUnavailable. Messages are generic (no address, no data): the caller
//    prefixes the step it was in (AnnotateError).
//  - ConnectNumeric() accepts only IPv4/IPv6 literals (IsNumericHost) and
//    returns a connected, non-blocking, close-on-exec socket owned by the
//    caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/listener.h"

namespace onionmail::peer {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// The socket fd, closed on destruction unless Release()d.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// True when `host` is an IPv4 dotted quad or an IPv6 literal (no brackets).
bool IsNumericHost(std::string_view host);

// "<step>: <message>", same code.
Error AnnotateError(std::string_view step, const Error& error);

// Waits until `fd` is readable (or writable) or the deadline passes.
[[nodiscard]] Result<void> WaitReady(int fd, bool for_write, Deadline deadline);

// A TCP connection to a numeric address.
[[nodiscard]] Result<UniqueFd> ConnectNumeric(const net::HostPort& where, Deadline deadline);

// Sends all of `bytes` (MSG_NOSIGNAL).
[[nodiscard]] Result<void> SendAll(int fd, std::span<const uint8_t> bytes, Deadline deadline);

// Receives exactly out.size() bytes; a close before that is kUnavailable.
[[nodiscard]] Result<void> RecvExact(int fd, std::span<uint8_t> out, Deadline deadline);

}  // namespace onionmail::peer
