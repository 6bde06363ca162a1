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
//  - AnswerRemote() is the bot for a member of a mailing list at another
//    onion server, on a session whose client proved that server by TKIM
//    (smtp/session.h): `member` is the sender, a valid remote list member
//    (mail/mailing_list.h), lower case. It honours only "LIST <name>
//    LEAVE" (and UNSUBSCRIBE, the target of List-Unsubscribe), and answers
//    with an outcome, never a message (the member has no mailbox here):
//    kLeft (removed, or was on no such list: the same answer, so it tells
//    nothing the list's address does not), kIgnored (an automatic message),
//    kRefused (any other command). An error is temporary, as above. The
//    default refuses everything.
#pragma once

#include <cstddef>
#include <cstdint>
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

enum class RemoteBotOutcome : uint8_t { kLeft, kIgnored, kRefused };

struct RemoteBotAnswer {
  std::string keyword;  // for the log, as BotAnswer's
  RemoteBotOutcome outcome = RemoteBotOutcome::kRefused;
};

class BotService {
 public:
  virtual ~BotService() = default;
  virtual Result<BotAnswer> Answer(std::string_view user, std::string_view request) = 0;
  virtual Result<RemoteBotAnswer> AnswerRemote(std::string_view member, std::string_view request) {
    return RemoteBotAnswer{"refused", RemoteBotOutcome::kRefused};
  }
};

}  // namespace onionmail::mail
