// SocketConnection implementation: non-blocking socket + poll() deadlines.
#include "net/socket_connection.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/secret_bytes.h"

namespace onionmail::net {

namespace {
constexpr size_t kReadChunk = 16384;
constexpr size_t kFlushThreshold = 65536;
constexpr size_t kCompactThreshold = 65536;

Error Closed() { return MakeError(ErrorCode::kUnavailable, "connection closed by peer"); }
Error IoError(const char* what) {
  return MakeError(ErrorCode::kUnavailable, std::string(what) + ": " + std::strerror(errno));
}
}  // namespace

SocketConnection::SocketConnection(int fd, std::shared_ptr<TlsContext> tls, Timeouts timeouts)
    : fd_(fd),
      tls_(std::move(tls)),
      timeouts_(timeouts),
      session_deadline_(std::chrono::steady_clock::now() + timeouts.session) {
  int flags = fcntl(fd_, F_GETFL, 0);
  if (flags >= 0) (void)fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  in_.reserve(kReadChunk * 2);
}

SocketConnection::~SocketConnection() {
  WipeBuffers();
  if (ssl_ != nullptr) {
    (void)SSL_shutdown(ssl_);  // best effort close_notify; never blocks
    SSL_free(ssl_);
  }
  LingeringClose();
}

// A client may still be sending when we end the session (the rest of an
// overlong line we refused, pipelined commands after a fatal error). Closing
// with unread data makes the kernel send a TCP reset, which can destroy our
// last reply before the client reads it. So, like Postfix and Apache:
// half-close, then read and discard until EOF, kLingerBytes or kLingerTime.
void SocketConnection::LingeringClose() {
  constexpr size_t kLingerBytes = 1 << 20;
  constexpr auto kLingerTime = std::chrono::seconds(2);
  (void)::shutdown(fd_, SHUT_WR);
  const auto until = std::chrono::steady_clock::now() + kLingerTime;
  size_t drained = 0;
  char buf[16384];
  while (drained < kLingerBytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    struct pollfd pfd = {fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // EOF or error: the client is done
    drained += static_cast<size_t>(n);
  }
  ::close(fd_);
}

Result<void> SocketConnection::WaitFor(Want want) {
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= session_deadline_) {
      return MakeError(ErrorCode::kDeadlineExceeded, "session time limit reached");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(session_deadline_ - now);
    auto wait = std::min(left, timeouts_.idle);
    struct pollfd p = {fd_, static_cast<short>(want == Want::kRead ? POLLIN : POLLOUT), 0};
    int r = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (r > 0) return Ok();
    if (r == 0) {
      if (wait < timeouts_.idle) {
        return MakeError(ErrorCode::kDeadlineExceeded, "session time limit reached");
      }
      return MakeError(ErrorCode::kDeadlineExceeded, "idle timeout");
    }
    if (errno != EINTR) return IoError("poll");
  }
}

Result<void> SocketConnection::Fill() {
  char buf[kReadChunk];
  for (;;) {
    if (ssl_ == nullptr) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        WipeMemory(buf, static_cast<size_t>(n));
        return Ok();
      }
      if (n == 0) return Closed();
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ONIONMAIL_RETURN_IF_ERROR(WaitFor(Want::kRead));
        continue;
      }
      return IoError("recv");
    }
    size_t got = 0;
    int r = SSL_read_ex(ssl_, buf, sizeof(buf), &got);
    if (r == 1) {
      in_.append(buf, got);
      WipeMemory(buf, got);
      return Ok();
    }
    int err = SSL_get_error(ssl_, r);
    ERR_clear_error();
    if (err == SSL_ERROR_WANT_READ) {
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(Want::kRead));
    } else if (err == SSL_ERROR_WANT_WRITE) {
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(Want::kWrite));
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      return Closed();
    } else {
      return MakeError(ErrorCode::kUnavailable, "TLS read failed");
    }
  }
}

Result<Line> SocketConnection::ReadLine(size_t max_bytes) {
  for (;;) {
    size_t lf = in_.find('\n', in_pos_);
    if (lf != std::string::npos) {
      Line line;
      size_t end = lf;
      line.ending = LineEnding::kBareLf;
      if (end > in_pos_ && in_[end - 1] == '\r') {
        --end;
        line.ending = LineEnding::kCrLf;
      }
      if (end - in_pos_ > max_bytes) {
        line.ending = LineEnding::kTooLong;
      } else {
        line.text.assign(in_, in_pos_, end - in_pos_);
      }
      in_pos_ = lf + 1;
      if (in_pos_ == in_.size()) {
        in_.clear();
        in_pos_ = 0;
      } else if (in_pos_ > kCompactThreshold) {
        in_.erase(0, in_pos_);
        in_pos_ = 0;
      }
      return line;
    }
    if (in_.size() - in_pos_ > max_bytes + 1) {
      in_.clear();
      in_pos_ = 0;
      return Line{"", LineEnding::kTooLong};
    }
    // No complete line: the client may be waiting for our replies before it
    // sends more, so they go out before we wait (RFC 2920, section 3.2).
    ONIONMAIL_RETURN_IF_ERROR(Flush());
    ONIONMAIL_RETURN_IF_ERROR(Fill());
  }
}

Result<void> SocketConnection::Write(std::string_view bytes) {
  out_.append(bytes);
  if (out_.size() >= kFlushThreshold) return Flush();
  return Ok();
}

Result<void> SocketConnection::Flush() {
  if (out_.empty()) return Ok();
  auto r = SendAll(out_.data(), out_.size());
  out_.clear();
  return r;
}

Result<void> SocketConnection::SendAll(const char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    if (ssl_ == nullptr) {
      ssize_t n = ::send(fd_, data + done, size - done, MSG_NOSIGNAL);
      if (n >= 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ONIONMAIL_RETURN_IF_ERROR(WaitFor(Want::kWrite));
        continue;
      }
      return IoError("send");
    }
    size_t written = 0;
    int r = SSL_write_ex(ssl_, data + done, size - done, &written);
    if (r == 1) {
      done += written;
      continue;
    }
    int err = SSL_get_error(ssl_, r);
    ERR_clear_error();
    if (err == SSL_ERROR_WANT_READ) {
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(Want::kRead));
    } else if (err == SSL_ERROR_WANT_WRITE) {
      ONIONMAIL_RETURN_IF_ERROR(WaitFor(Want::kWrite));
    } else {
      return MakeError(ErrorCode::kUnavailable, "TLS write failed");
    }
  }
  return Ok();
}

Result<void> SocketConnection::StartTls() {
  if (ssl_ != nullptr) return MakeError(ErrorCode::kFailedPrecondition, "TLS already active");
  if (!tls_) return MakeError(ErrorCode::kFailedPrecondition, "TLS not configured");
  ONIONMAIL_RETURN_IF_ERROR(Flush());
  // Anything the client pipelined after STARTTLS in plaintext is discarded:
  // it must never be interpreted as if it had arrived inside the tunnel.
  WipeMemory(in_.data(), in_.size());
  in_.clear();
  in_pos_ = 0;
  SSL* ssl = SSL_new(tls_->get());
  if (ssl == nullptr) return MakeError(ErrorCode::kInternal, "SSL_new failed");
  if (SSL_set_fd(ssl, fd_) != 1) {
    SSL_free(ssl);
    return MakeError(ErrorCode::kInternal, "SSL_set_fd failed");
  }
  for (;;) {
    int r = SSL_accept(ssl);
    if (r == 1) break;
    int err = SSL_get_error(ssl, r);
    ERR_clear_error();
    Result<void> waited = Ok();
    if (err == SSL_ERROR_WANT_READ) {
      waited = WaitFor(Want::kRead);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      waited = WaitFor(Want::kWrite);
    } else {
      SSL_free(ssl);
      return MakeError(ErrorCode::kUnavailable, "TLS handshake failed");
    }
    if (!waited.ok()) {
      SSL_free(ssl);
      return waited.error();
    }
  }
  ssl_ = ssl;
  return Ok();
}

Result<std::array<uint8_t, 32>> SocketConnection::TlsExporterBinding() const {
  if (ssl_ == nullptr || SSL_version(ssl_) != TLS1_3_VERSION) {
    return MakeError(ErrorCode::kFailedPrecondition, "channel binding needs TLS 1.3");
  }
  static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
  std::array<uint8_t, 32> out{};
  // RFC 9266 section 2: empty context (in TLS 1.3 the same as no context).
  if (SSL_export_keying_material(ssl_, out.data(), out.size(), kLabel, sizeof(kLabel) - 1, nullptr,
                                 0, /*use_context=*/0) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInternal, "TLS exporter failed");
  }
  return out;
}

void SocketConnection::WipeBuffers() {
  WipeMemory(in_.data(), in_pos_);
  in_.erase(0, in_pos_);
  in_pos_ = 0;
  // What was sent stays in the write buffer's spare capacity until
  // overwritten (a POP3 RQUS reply carries passwords): wipe it; the bytes
  // not yet sent are kept.
  const size_t pending = out_.size();
  out_.resize(out_.capacity());
  WipeMemory(out_.data() + pending, out_.size() - pending);
  out_.resize(pending);
}

}  // namespace onionmail::net
