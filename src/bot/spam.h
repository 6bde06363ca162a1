// bot spam: the server@ bot's SPAM commands (bot/bot.h), which edit the
// requesting user's block list through a mail::BlockListService.
//
// Contract:
//  - ParseSpamRequest(): the arguments of a kSpam CommandLine (words
//    matched without regard to case): none or LIST is kList; ADD <entry> is
//    kAdd; DEL, DELETE or REMOVE <entry> is kDelete; CLEAR is kClear. The
//    entry is mail::CanonicalBlockEntry() of the word. Anything else (a
//    missing or extra word, an entry CanonicalBlockEntry() refuses,
//    arguments ParseCommandLine() refused) is nullopt: the usage answer.
//  - AnswerSpam(): the body of the answer. nullopt from ParseSpamRequest()
//    is SpamUsageText() without a call to the service. kList and kClear call
//    Apply() once. ADD and DEL first read the list (kList), to tell whether
//    the entry is there, and then call Apply(kAdd / kDelete) only when it
//    changes the list; the answer shows the list the service returned last.
//    A service error kInvalidArgument is the usage answer, kResourceExhausted
//    the list-full answer, kDataLoss (the stored list does not open) the
//    damaged-list answer; any other error is returned (temporary).
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "bot/bot.h"
#include "bot/request.h"
#include "mail/block_list.h"

namespace onionmail::bot {

struct SpamRequest {
  mail::BlockListOp op = mail::BlockListOp::kList;
  std::string entry;  // canonical for kAdd and kDelete, else empty
};

std::optional<SpamRequest> ParseSpamRequest(const CommandLine& line);

Result<std::string> AnswerSpam(mail::BlockListService& service, const ServerFacts& facts,
                               const CommandLine& line);

}  // namespace onionmail::bot
