// bot lists: the server@ bot's LIST commands (bot/bot.h), which manage
// mailing lists (mail/mailing_list.h) through a mail::ListService for the
// user logged in on the session.
//
// Contract:
//  - ParseListRequest(): the arguments of a kList CommandLine, the list name
//    first and then a verb (words matched without regard to case):
//      <name> CREATE                            kCreate
//      <name> ADD|INVITE <user>                 kAdd
//      <name> REMOVE|DEL|DELETE <user>          kRemove
//      <name> LEAVE|UNSUBSCRIBE                 kLeave
//      <name> MEMBERS|SHOW|LIST                 kShow
//      <name> DESTROY                           kDestroy
//      <name> ANNOUNCE                          kAnnounce
//      <name> OPEN                              kOpen
//      <name> MODERATE                          kModerate
//    <name> is mail::CanonicalListName(word, facts.domain): "team",
//    "team.list" or "team.list@<domain>". <user> is
//    mail::CanonicalListMember(word, facts.domain): a user of this server,
//    "bob" or "bob@<domain>" (the domain in any case), giving "bob", or a
//    user of another onion server, "bob@<another v3 onion>", giving that
//    address lower-cased. Anything else (no words, a missing or extra word,
//    a name or user refused, arguments ParseCommandLine() refused) is
//    nullopt: the usage answer. kPost is never asked for.
//  - AnswerList(): the body of the answer. nullopt from ParseListRequest() is
//    ListUsageText() without a call to the service; otherwise one call to
//    ListService::Apply() (the service knows the user; `actor`, the user
//    logged in, only shapes the answer). Success is ListChangedText(); the
//    service's errors map to bot/list_answers.h's ListRefusedText(), except
//    kInvalidArgument (the usage answer) and the codes it does not cover for
//    the op (ListRefusalCovers()), which are returned: temporary.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "bot/bot.h"
#include "bot/request.h"
#include "mail/mailing_list.h"

namespace onionmail::bot {

struct ListRequest {
  mail::ListOp op = mail::ListOp::kShow;
  std::string name;  // canonical list name (no ".list", no domain)
  std::string user;  // kAdd and kRemove: a valid member (local or remote), else empty
};

std::optional<ListRequest> ParseListRequest(const CommandLine& line, const ServerFacts& facts);

Result<std::string> AnswerList(mail::ListService& service, const ServerFacts& facts,
                               std::string_view actor, const CommandLine& line);

}  // namespace onionmail::bot
