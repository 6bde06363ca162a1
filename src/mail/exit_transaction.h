// ExitTransaction: the leg of a relayed transaction that leaves for the
// Internet through an exit gateway (docs/gateways.md, "The exit direction"):
// a RemoteTransaction wrapping the one to the smarthost, which passes the
// message's header through RewriteExitHeader (mail/exit_header.h) before the
// wrapped transaction sees a byte of the message.
//
// Contract:
//  - Rcpt() and Data() are the wrapped transaction's.
//  - Append(): the bytes up to and including the empty line that ends the
//    header are held (at most kMaxExitHeaderBytes), then rewritten and
//    passed on, after sender.trace, with what follows them; later bytes pass
//    straight through.
//    A header the rule refuses fails that Append() with the rule's error
//    (kPermissionDenied: it names an onion, or From is not the sender;
//    kInvalidArgument: malformed or too long), and so does every later call:
//    nothing of the message has reached the wrapped transaction, which the
//    caller then drops without a final dot.
//  - Finish() and End() first pass on a header still held (a message that
//    is all header), rewritten, failing as Append() would.
//  - Held bytes are wiped once passed on or dropped.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "mail/exit_header.h"
#include "mail/relay.h"

namespace onionmail::mail {

class ExitTransaction : public RemoteTransaction {
 public:
  ExitTransaction(std::unique_ptr<RemoteTransaction> inner, ExitSender sender);
  ~ExitTransaction() override;

  [[nodiscard]] Result<RelayReply> Rcpt(std::string_view forward_path) override;
  [[nodiscard]] Result<RelayReply> Data() override;
  [[nodiscard]] Result<void> Append(std::span<const uint8_t> bytes) override;
  [[nodiscard]] Result<void> Finish() override;
  [[nodiscard]] Result<RelayReply> End() override;

 private:
  // Rewrites the held header and passes it on.
  Result<void> PassHeader();

  std::unique_ptr<RemoteTransaction> inner_;
  const ExitSender sender_;
  std::string held_;          // the header so far
  bool header_done_ = false;  // passed on: later bytes go straight through
  std::optional<Error> failed_;
};

}  // namespace onionmail::mail
