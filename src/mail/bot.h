// mail::BotService: what the SMTP session needs from the server@ bot
// (docs/PROTOCOL.md, "server@: the server's command bot").
//
// Contract:
//  - The session calls Answer() only for a transaction whose one recipient is
//    server@<this domain>, from a user authenticated on this server whose
//    envelope sender is that user's own address; `user` is that lower-case,
//    validated local part. `request` is the message as received (CRLF line
//    endings, dot-unstuffed), at most kMaxBotRequestBytes.
//  - ok: `keyword` names the command for the log (a fixed word such as
//    "IDENT", "unknown" or "ignored", never client text); `message` is the
//    complete reply message (RFC 5322 with CRLF line endings, every line at
//    most 998 octets) to deliver into the user's own mailbox, or empty when
//    the request must not be answered (an automatic message, RFC 3834).
//  - An error is a temporary failure (the session answers 451 and stores
//    nothing).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace onionmail::mail {

// The largest request the bot reads; a bigger one gets 552 5.3.4.
inline constexpr size_t kMaxBotRequestBytes = 64 * 1024;

// The local part the bot answers to.
inline constexpr std::string_view kBotLocalPart = "server";

struct BotAnswer {
  std::string keyword;
  std::string message;
};

class BotService {
 public:
  virtual ~BotService() = default;
  virtual Result<BotAnswer> Answer(std::string_view user, std::string_view request) = 0;
};

}  // namespace onionmail::mail
