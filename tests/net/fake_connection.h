// FakeConnection: an in-memory net::Connection for protocol unit tests.
//
// The test queues the bytes the "client" sends (Feed), runs the session, then
// inspects everything the server wrote (Output). StartTls() really discards
// unread buffered input, like the real connection, and can be made to fail.
// Reading past the end of the queued input ends the session (kUnavailable),
// which is how tests simulate a dropped connection.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/connection.h"

namespace onionmail::net {

class FakeConnection : public Connection {
 public:
  explicit FakeConnection(std::string input = "") : in_(std::move(input)) {}

  void Feed(std::string_view bytes) { in_.append(bytes); }
  // Bytes queued with FeedAfterTls become readable only after StartTls()
  // (they model what the client sends inside the TLS tunnel).
  void FeedAfterTls(std::string_view bytes) { after_tls_.append(bytes); }
  const std::string& Output() const { return out_; }
  // Output split where it was sent: at each Flush() with new output, and as
  // the real connection does, before ReadLine() finds no complete line.
  const std::vector<std::string>& Sends() const { return sends_; }
  void ClearOutput() {
    out_.clear();
    sent_ = 0;
    sends_.clear();
  }
  void set_fail_tls(bool fail) { fail_tls_ = fail; }
  int tls_starts() const { return tls_starts_; }

  Result<Line> ReadLine(size_t max_bytes) override {
    size_t lf = in_.find('\n', pos_);
    if (lf == std::string::npos) {
      (void)Flush();  // net/connection.h: output goes out before a wait for input
      if (in_.size() - pos_ > max_bytes) {
        pos_ = in_.size();
        return Line{"", LineEnding::kTooLong};
      }
      return MakeError(ErrorCode::kUnavailable, "peer closed");
    }
    if (lf - pos_ > max_bytes + 1) {
      pos_ = lf + 1;
      return Line{"", LineEnding::kTooLong};
    }
    Line line;
    line.text = in_.substr(pos_, lf - pos_);
    line.ending = LineEnding::kBareLf;
    if (!line.text.empty() && line.text.back() == '\r') {
      line.text.pop_back();
      line.ending = LineEnding::kCrLf;
    }
    pos_ = lf + 1;
    return line;
  }
  Result<void> Write(std::string_view bytes) override {
    out_.append(bytes);
    return Ok();
  }
  Result<void> Flush() override {
    if (out_.size() > sent_) sends_.push_back(out_.substr(sent_));
    sent_ = out_.size();
    return Ok();
  }
  Result<void> StartTls() override {
    ++tls_starts_;
    if (fail_tls_) return MakeError(ErrorCode::kUnavailable, "handshake failed");
    in_ = after_tls_;  // pipelined plaintext is discarded
    after_tls_.clear();
    pos_ = 0;
    tls_ = true;
    return Ok();
  }
  bool IsTls() const override { return tls_; }
  size_t Buffered() const override { return in_.size() - pos_; }
  void WipeBuffers() override {}
  // The fake's "TLS 1.3 exporter" value: fixed per connection, settable; with
  // set_tls13(false) it behaves like a TLS 1.2 session (no binding).
  void set_binding(const std::array<uint8_t, 32>& binding) { binding_ = binding; }
  void set_tls13(bool tls13) { tls13_ = tls13; }
  Result<std::array<uint8_t, 32>> TlsExporterBinding() const override {
    if (!tls_ || !tls13_) return MakeError(ErrorCode::kFailedPrecondition, "no TLS 1.3");
    return binding_;
  }

 private:
  std::string in_;
  std::string after_tls_;
  size_t pos_ = 0;
  std::string out_;
  size_t sent_ = 0;  // out_[0, sent_) was flushed
  std::vector<std::string> sends_;
  bool tls_ = false;
  bool fail_tls_ = false;
  int tls_starts_ = 0;
  bool tls13_ = true;
  std::array<uint8_t, 32> binding_{0xcb};
};

}  // namespace onionmail::net
