// SocketConnection: net::Connection over a connected TCP socket, with
// STARTTLS through OpenSSL. Blocking-style API implemented with a non-blocking
// socket and poll(), so every read and write honours two deadlines: an idle
// timeout per operation and a total session deadline.
//
// Contract: see net/connection.h. The connection owns the fd and closes it.
// Output is buffered and sent by Flush() (or when the buffer grows large).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "net/connection.h"
#include "net/tls_context.h"

typedef struct ssl_st SSL;

namespace onionmail::net {

struct Timeouts {
  std::chrono::milliseconds idle{300000};
  std::chrono::milliseconds session{1800000};
};

class SocketConnection : public Connection {
 public:
  SocketConnection(int fd, std::shared_ptr<TlsContext> tls, Timeouts timeouts);
  ~SocketConnection() override;
  SocketConnection(const SocketConnection&) = delete;
  SocketConnection& operator=(const SocketConnection&) = delete;

  Result<Line> ReadLine(size_t max_bytes) override;
  Result<void> Write(std::string_view bytes) override;
  Result<void> Flush() override;
  Result<void> StartTls() override;
  bool IsTls() const override { return ssl_ != nullptr; }
  size_t Buffered() const override { return in_.size() - in_pos_; }
  void WipeBuffers() override;
  Result<std::array<uint8_t, 32>> TlsExporterBinding() const override;

 private:
  enum class Want { kRead, kWrite };
  Result<void> Fill();              // reads more bytes into in_
  Result<void> WaitFor(Want want);  // poll() until ready or deadline
  Result<void> SendAll(const char* data, size_t size);
  void LingeringClose();

  int fd_;
  std::shared_ptr<TlsContext> tls_;
  SSL* ssl_ = nullptr;
  Timeouts timeouts_;
  std::chrono::steady_clock::time_point session_deadline_;
  std::string in_;
  size_t in_pos_ = 0;
  std::string out_;
};

}  // namespace onionmail::net
