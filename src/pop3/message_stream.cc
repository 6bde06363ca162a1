#include "pop3/message_stream.h"

#include <utility>

#include "pop3/reply.h"

namespace onionmail::pop3 {
namespace {

Error LimitReached() { return MakeError(ErrorCode::kResourceExhausted, "pop3: TOP limit reached"); }

}  // namespace

MessageStreamer::MessageStreamer(net::Connection& conn, std::string status,
                                 std::optional<uint64_t> body_lines)
    : conn_(conn), status_(std::move(status)), body_lines_left_(body_lines) {}

Result<void> MessageStreamer::Start() {
  if (started_) return Ok();
  started_ = true;
  return conn_.Write(status_);
}

Result<void> MessageStreamer::Consume(std::span<const uint8_t> chunk) {
  if (write_failed_) return MakeError(ErrorCode::kUnavailable, "pop3: write failed");
  if (limit_reached_) return LimitReached();
  auto started = Start();
  if (!started.ok()) {
    write_failed_ = true;
    return started;
  }
  out_.clear();
  out_.reserve(chunk.size() + chunk.size() / 16 + 8);
  for (uint8_t byte : chunk) {
    char c = static_cast<char>(byte);
    if (last_ == '\n' && c == '.') out_.push_back('.');
    out_.push_back(c);
    if (c != '\n') {
      ++line_len_;
      last_ = c;
      continue;
    }
    bool empty_line = line_len_ == 0 || (line_len_ == 1 && last_ == '\r');
    line_len_ = 0;
    last_ = c;
    if (!body_lines_left_.has_value()) continue;
    if (in_header_) {
      if (empty_line) {
        in_header_ = false;
        if (*body_lines_left_ == 0) limit_reached_ = true;
      }
    } else if (--*body_lines_left_ == 0) {
      limit_reached_ = true;
    }
    if (limit_reached_) break;
  }
  auto written = conn_.Write(out_);
  if (!written.ok()) {
    write_failed_ = true;
    return written;
  }
  if (limit_reached_) return LimitReached();
  return Ok();
}

Result<void> MessageStreamer::Finish() {
  ONIONMAIL_RETURN_IF_ERROR(Start());
  if (last_ == '\r') {
    ONIONMAIL_RETURN_IF_ERROR(conn_.Write("\n"));
  } else if (last_ != '\n') {
    ONIONMAIL_RETURN_IF_ERROR(conn_.Write("\r\n"));
  }
  return conn_.Write(reply::kMultiLineEnd);
}

}  // namespace onionmail::pop3
