// Mailing lists (docs/PROTOCOL.md, "Mailing lists"): `<name>.list@<domain>`,
// a set of addresses that one message reaches together: this server's users
// and users of other onion servers. The key role keeps each list sealed; the
// server@ bot's LIST commands manage them; members post to them: users of
// this server logged in on it, and users of other servers through their own
// server once it proved itself (TKIM).
//
// Contract:
//  - A list name is a valid local part (ValidLocalPart) of at most
//    kMaxListNameBytes that does not itself end in ".list"; the list's
//    address has the local part name + kListSuffix. ListNameOf() maps a
//    local part (lower case) to the name of the list it addresses, nullopt
//    when it addresses none. CanonicalListName() accepts what a user types
//    in a bot command: "team", "team.list" or "team.list@<domain>" (the
//    domain must then be `domain`), in any case, giving "team".
//  - A member (ValidListMember()) is a local member, a user of this server
//    written as a valid local part ("bob"), or a remote member, a user of
//    another onion server written "local@domain" (exactly one '@'; `local` a
//    valid local part, `domain` lower case and mail::IsV3OnionDomain(), so at
//    most kMaxListMemberBytes). IsRemoteMember() tells a valid member's kind
//    (it holds an '@'). A user of this server is always written as a bare
//    local part, never "local@<this server's domain>"; neither function
//    knows that domain (ValidListMember() accepts an address at it when it
//    is a v3 onion name), so the callers never make one: the bot goes
//    through CanonicalListMember(), which accepts what a user types in a
//    bot command: "bob" or "bob@<domain>" (`domain` in any case) give "bob",
//    "bob@<another v3 onion>" gives that address lower-cased; anything else
//    is nullopt.
//  - ListRecord: `owner` (a user name: a local member) is always among
//    `members`; members are valid members, sorted and unique, at most
//    kMaxListMembers, at most kMaxListRemoteServers distinct domains among
//    the remote members. `announce`: an announce list, to which only the
//    owner posts (the members receive); `moderated`: a moderated list, whose
//    members' posts go to the owner alone, held for approval (the owner
//    approves one by posting it to the list); never both; both false for a
//    new list.
//  - ApplyListOp() holds every permission rule (pure: the key role's store
//    only loads, applies and saves). `current` is the stored record (nullopt:
//    no such list), `actor` the user authenticated on the session (a valid
//    local part) or, for kPost and kLeave only, a remote member acting through
//    its own server (a valid remote member; else kInvalidArgument), `user` the argument of kAdd and
//    kRemove (a valid member, local or remote, as the caller lower-cased it;
//    else kInvalidArgument). It returns the record to store (nullopt: delete
//    it) or an error:
//      kShow, kPost   a member: the record unchanged. kPost is what the SMTP
//                     session asks at RCPT: the members to deliver to; its
//                     actor may be a remote member. kPost to an announce
//                     list by a member but the owner: kFailedPrecondition;
//                     to a moderated list by a member but the owner: the
//                     record with the owner as its only member (the post
//                     is held: it goes to the owner alone).
//      kCreate        no list yet: owner and only member `actor`
//                     (kAlreadyExists when the list exists).
//      kAdd           the owner: `user` added (already a member: unchanged;
//                     the list full, or a remote `user` whose domain would
//                     be a (kMaxListRemoteServers + 1)th distinct one:
//                     kResourceExhausted).
//      kRemove        the owner, or `user` == `actor`: `user` removed (not a
//                     member: unchanged); the owner cannot be removed
//                     (kFailedPrecondition: the owner destroys the list).
//                     Only the owner removes a remote member.
//      kLeave         kRemove of `actor` by `actor` (a local member, or a
//                     remote one).
//      kAnnounce      the owner: `announce` set, `moderated` cleared.
//      kModerate      the owner: `moderated` set, `announce` cleared.
//      kOpen          the owner: both cleared (already clear: unchanged).
//      kDestroy       the owner: nullopt.
//    No list: kNotFound (except kCreate). Not allowed: kPermissionDenied,
//    the same for a non-member whatever the op, so a non-member learns only
//    that the list exists (its address answers RCPT anyway).
//  - mail::ListService::Apply() is ApplyListOp() for the user authenticated
//    on the session (the key role knows who; the front end cannot name
//    another user of this server), over the stored list; on a session
//    without a login, kPost or kLeave with `user` a remote member is ApplyListOp() for
//    that member as actor (the front end names it only after the member's
//    server proved itself by TKIM; the key role acts only for a session that
//    showed the relay role's vouch for that server, server/tkim_vouch.h). With
//    these additions: kCreate of a
//    name whose address is a user's is kAlreadyExists; kAdd of a local
//    member that is not a user of this server is kFailedPrecondition (a
//    remote member is not checked: this server cannot); the server holds
//    at most kMaxLists lists (kCreate beyond: kResourceExhausted); a stored
//    list that does not open is kDataLoss; no user authenticated on the
//    session (and no remote poster) is kPermissionDenied; `user` given for
//    kPost on a session with a login is kInvalidArgument; anything else is
//    temporary. It returns
//    the record after the operation (kDestroy: an empty record).
//  - ListHeaders(): the RFC 2369 / RFC 2919 fields each delivered copy of a
//    list message begins with (after the trace fields): List-Id,
//    List-Post, List-Help and List-Unsubscribe (mailto: server@<domain>,
//    subject "LIST <name> LEAVE"), and Precedence: list; CRLF line endings.
//    `name` valid, `domain` a lower-case host name.
//  - ListHeldHeader(): instead of those, the one field that begins the copy
//    of a post a moderated list holds for its owner: kListHeldField, naming
//    the list's address and how to approve the post (post it to the list).
//    The SMTP session drops every field of that name from list posts, so
//    an approved post reaches the members without it, and no poster can
//    put one in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace onionmail::mail {

inline constexpr std::string_view kListSuffix = ".list";
inline constexpr size_t kMaxListNameBytes = 64 - kListSuffix.size();
inline constexpr size_t kMaxListMembers = 100;
inline constexpr size_t kMaxLists = 1000;
// A remote member: a local part, '@', a v3 onion name (56 + ".onion").
inline constexpr size_t kMaxListMemberBytes = 64 + 1 + 62;
// Distinct other servers among the members of one list.
inline constexpr size_t kMaxListRemoteServers = 8;

enum class ListOp : uint8_t {
  kShow = 0,
  kCreate = 1,
  kAdd = 2,
  kRemove = 3,
  kLeave = 4,
  kDestroy = 5,
  kPost = 6,
  kAnnounce = 7,
  kOpen = 8,
  kModerate = 9,
};
inline constexpr uint8_t kMaxListOp = 9;

struct ListRecord {
  std::string owner;
  std::vector<std::string> members;  // valid members, sorted, unique, holds owner
  bool announce = false;             // only the owner posts
  bool moderated = false;            // members' posts go to the owner, held
  bool operator==(const ListRecord&) const = default;
};

bool ValidListName(std::string_view name);
std::optional<std::string> ListNameOf(std::string_view local_part);
std::optional<std::string> CanonicalListName(std::string_view text, std::string_view domain);

bool ValidListMember(std::string_view member);
bool IsRemoteMember(std::string_view member);
std::optional<std::string> CanonicalListMember(std::string_view text, std::string_view domain);

// Whether `record` meets the ListRecord invariants (members valid, sorted,
// unique, owner a local member, at most kMaxListMembers and
// kMaxListRemoteServers distinct remote domains, not both announce and
// moderated).
bool WellFormedListRecord(const ListRecord& record);

Result<std::optional<ListRecord>> ApplyListOp(const std::optional<ListRecord>& current, ListOp op,
                                              std::string_view actor, std::string_view user);

std::string ListHeaders(std::string_view name, std::string_view domain);

inline constexpr std::string_view kListHeldField = "X-List-Held";
std::string ListHeldHeader(std::string_view name, std::string_view domain);

class ListService {
 public:
  virtual ~ListService() = default;
  // `user`: the argument of kAdd and kRemove (a member, local or remote),
  // the remote member for kPost and kLeave on a session without a login,
  // else empty.
  virtual Result<ListRecord> Apply(ListOp op, std::string_view name, std::string_view user) = 0;
};

}  // namespace onionmail::mail
