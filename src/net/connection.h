// net::Connection: the byte stream a protocol session talks over. The real
// implementation is a TCP socket with optional TLS (socket_connection.h);
// tests use an in-memory fake (tests/net/fake_connection.h).
//
// Contract:
//  - ReadLine() returns the next line without its terminator and says how it
//    ended: CRLF, a bare LF, or "too long" (more than max_bytes before any LF;
//    the connection is then unusable for lines and the session must close).
//    Bytes other than CR-before-LF are returned as they arrived (NUL and bare
//    CR included); the session decides what is acceptable.
//  - ReadLine() sends buffered output before it waits for more input (when
//    no complete line is buffered). Sessions therefore do not flush before
//    reading a command: a pipelined group is answered in one write, and a
//    client that waits for each reply still gets it (RFC 2920, section 3.2).
//  - Errors: kDeadlineExceeded (idle or session timeout), kUnavailable (peer
//    closed or I/O error). After an error the session ends.
//  - StartTls() discards every byte buffered before the handshake (no
//    STARTTLS command injection), then performs the server handshake.
//  - TlsExporterBinding() is the RFC 9266 `tls-exporter` channel binding
//    (32 bytes, label "EXPORTER-Channel-Binding", empty context) of a TLS 1.3
//    connection; kFailedPrecondition without TLS or below TLS 1.3.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace onionmail::net {

enum class LineEnding { kCrLf, kBareLf, kTooLong };

struct Line {
  std::string text;
  LineEnding ending = LineEnding::kCrLf;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Result<Line> ReadLine(size_t max_bytes) = 0;
  virtual Result<void> Write(std::string_view bytes) = 0;
  // Sends buffered output (Write may buffer; Flush before a TLS handshake,
  // before reading a reply-dependent continuation and before closing).
  virtual Result<void> Flush() = 0;
  virtual Result<void> StartTls() = 0;
  virtual bool IsTls() const = 0;
  // Bytes received but not yet consumed (used to detect pipelining after
  // STARTTLS / STLS).
  virtual size_t Buffered() const = 0;
  // Overwrites the internal read buffer (called after reading a password)
  // and what was already sent from the write buffer (after a reply that
  // carried one); bytes not yet read or sent are kept.
  virtual void WipeBuffers() = 0;
  virtual Result<std::array<uint8_t, 32>> TlsExporterBinding() const = 0;
};

}  // namespace onionmail::net
