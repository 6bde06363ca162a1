// MessageStreamer: sends one stored message as a POP3 multi-line response
// (RETR, or TOP with a body-line limit) while Mailbox::Read streams it.
//
// Contract:
//  - Consume() is the ChunkSink: it dot-stuffs (a line starting with '.' gets
//    one more '.') and writes each chunk as it arrives; only a one-byte carry
//    of line state is kept, never the message. Line endings pass through as
//    stored (CRLF).
//  - The positive status line is written just before the first content byte
//    (or by Finish() for an empty message), so a read that fails before any
//    byte was produced can still be answered with -ERR (started() == false).
//    Once started() is true a failure leaves the client mid-response and the
//    session must close.
//  - With a body-line limit (TOP n k) the header (through the first empty
//    line) and k body lines are sent; then limit_reached() becomes true and
//    Consume() returns an error to stop the read early. The caller recognises
//    that case by limit_reached(), not by the error code.
//  - Finish() adds CRLF when the content did not end with a line break, then
//    the ".\r\n" terminator.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/result.h"
#include "net/connection.h"

namespace onionmail::pop3 {

class MessageStreamer {
 public:
  MessageStreamer(net::Connection& conn, std::string status, std::optional<uint64_t> body_lines);

  Result<void> Consume(std::span<const uint8_t> chunk);
  Result<void> Finish();

  bool started() const { return started_; }
  bool limit_reached() const { return limit_reached_; }

 private:
  Result<void> Start();

  net::Connection& conn_;
  std::string status_;
  std::optional<uint64_t> body_lines_left_;  // nullopt: no limit (RETR)
  bool in_header_ = true;
  bool started_ = false;
  bool limit_reached_ = false;
  bool write_failed_ = false;
  char last_ = '\n';       // last byte sent; '\n' = at the start of a line
  uint64_t line_len_ = 0;  // bytes of the current line so far
  std::string out_;        // per-chunk output buffer, reused
};

}  // namespace onionmail::pop3
