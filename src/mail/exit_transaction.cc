// ExitTransaction implementation (mail/exit_transaction.h).
#include "mail/exit_transaction.h"

#include <utility>

#include "base/secret_bytes.h"

namespace onionmail::mail {
namespace {

void Wipe(std::string& s) {
  if (!s.empty()) WipeMemory(s.data(), s.size());
  s.clear();
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

ExitTransaction::ExitTransaction(std::unique_ptr<RemoteTransaction> inner, ExitSender sender)
    : inner_(std::move(inner)), sender_(std::move(sender)) {}

ExitTransaction::~ExitTransaction() { Wipe(held_); }

Result<RelayReply> ExitTransaction::Rcpt(std::string_view forward_path) {
  return inner_->Rcpt(forward_path);
}

Result<RelayReply> ExitTransaction::Data() { return inner_->Data(); }

Result<void> ExitTransaction::PassHeader() {
  auto rewritten = RewriteExitHeader(held_, sender_);
  Wipe(held_);
  header_done_ = true;
  if (!rewritten.ok()) {
    failed_ = rewritten.error();
    return rewritten.error();
  }
  rewritten->insert(0, sender_.trace);  // the gateway's Received field first
  auto passed = inner_->Append(AsBytes(*rewritten));
  Wipe(*rewritten);
  if (!passed.ok()) failed_ = passed.error();
  return passed;
}

Result<void> ExitTransaction::Append(std::span<const uint8_t> bytes) {
  if (failed_) return *failed_;
  if (header_done_) return inner_->Append(bytes);
  // Only the new bytes (and the 3 before them) can complete "\r\n\r\n".
  const size_t before = held_.size();
  held_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t from = before >= 3 ? before - 3 : 0;
  size_t end = held_.find("\r\n\r\n", from);
  if (end == std::string::npos && held_.compare(0, 2, "\r\n") == 0) end = 0;  // no header at all
  if (end == std::string::npos) {
    if (held_.size() > kMaxExitHeaderBytes) {
      Wipe(held_);
      header_done_ = true;
      failed_ = MakeError(ErrorCode::kInvalidArgument, "exit header: too long");
      return *failed_;
    }
    return Ok();
  }
  const size_t header_end = end == 0 ? 2 : end + 4;
  std::string rest = held_.substr(header_end);
  held_.resize(header_end);
  auto passed = PassHeader();
  if (passed.ok() && !rest.empty()) {
    passed = inner_->Append(AsBytes(rest));
    if (!passed.ok()) failed_ = passed.error();
  }
  Wipe(rest);
  return passed;
}

Result<void> ExitTransaction::Finish() {
  if (failed_) return *failed_;
  if (!header_done_) ONIONMAIL_RETURN_IF_ERROR(PassHeader());
  return inner_->Finish();
}

Result<RelayReply> ExitTransaction::End() {
  if (failed_) return *failed_;
  if (!header_done_) {
    auto passed = PassHeader();
    if (!passed.ok()) return passed.error();
  }
  return inner_->End();
}

}  // namespace onionmail::mail
