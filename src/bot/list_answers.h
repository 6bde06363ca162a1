// bot list answers: the body text of the server@ bot's LIST commands
// (bot/lists.h, mail/mailing_list.h), with "\n" line endings like
// bot/answers.h.
//
// Contract:
//  - ListAsked: what was asked, parsed and valid (a canonical list name, a
//    valid member (mail::ValidListMember: "bob" or "bob@<another v3 onion>")
//    or empty as `user`, the logged-in `actor` as a plain local part, the
//    server's host name): the texts copy nothing else of a request. Names
//    that come from the service are shown only when valid, else as "(a name
//    that is not valid)": the owner when mail::ValidLocalPart() holds, a
//    member when mail::ValidListMember() does (a user of this server as its
//    local part, one of another server as its full address).
//  - ListChangedText(): after a successful op. kDestroy: that the list is
//    gone. Otherwise a line on what happened, then, when `actor` is among
//    the record's members, the list: its address <name>.list@<domain>, the
//    owner, the members one a line (indented by two spaces, "N of
//    kMaxListMembers"), how to post (write to the address while logged in;
//    on an announce list, that only the owner writes) and how to leave (the
//    owner: that it cannot leave, DESTROY ends the list, and ANNOUNCE and
//    MODERATE, or OPEN, whichever changes it; on a moderated list, that the
//    members' posts are held for the owner). kAnnounce, kModerate and kOpen
//    say what the list is now. An actor no longer a member (LEAVE, or REMOVE of itself) is not
//    shown the members.
//  - ListRefusalCovers(): whether ListRefusedText() has an answer for `code`
//    after `op`: kNotFound, kPermissionDenied and kDataLoss after any op;
//    kAlreadyExists after kCreate; kFailedPrecondition after kAdd (no such
//    user), kRemove and kLeave (the owner cannot leave); kResourceExhausted
//    after kAdd (the list is full, or at its most other servers) and
//    kCreate (the server has too many lists).
//  - ListRefusedText(): that answer: no such list; only members may see it /
//    only the owner may do that; the address is taken (a list or a user's);
//    no such user (and how a user of another server is written); the owner
//    cannot leave (DESTROY instead); the list is full (kAdd of a user of
//    another server: full, or its members at kMaxListRemoteServers other
//    servers already) or the server is; the list's record is damaged (ask
//    the operator). Nothing was changed.
//  - ListUsageText(): the LIST forms with examples and the name and user
//    forms (a user of this server or the address of one of another onion
//    server) and the limits.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "bot/bot.h"
#include "mail/mailing_list.h"

namespace onionmail::bot {

struct ListAsked {
  mail::ListOp op;
  std::string_view name;    // canonical list name
  std::string_view user;    // kAdd and kRemove: a valid member; else empty
  std::string_view actor;   // the user logged in on the session
  std::string_view domain;  // this server's host name
};

std::string ListChangedText(const ListAsked& asked, const mail::ListRecord& record);
bool ListRefusalCovers(mail::ListOp op, ErrorCode code);
std::string ListRefusedText(const ListAsked& asked, ErrorCode code);
std::string ListUsageText(const ServerFacts& facts);

}  // namespace onionmail::bot
