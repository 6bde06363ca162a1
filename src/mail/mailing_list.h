// Mailing lists (docs/PROTOCOL.md, "Mailing lists"): `<name>.list@<domain>`,
// a set of this server's users that one message reaches together. The key
// role keeps each list sealed; the server@ bot's LIST commands manage them;
// only members, logged in on this server, post to them.
//
// Contract:
//  - A list name is a valid local part (ValidLocalPart) of at most
//    kMaxListNameBytes that does not itself end in ".list"; the list's
//    address has the local part name + kListSuffix. ListNameOf() maps a
//    local part (lower case) to the name of the list it addresses, nullopt
//    when it addresses none. CanonicalListName() accepts what a user types
//    in a bot command: "team", "team.list" or "team.list@<domain>" (the
//    domain must then be `domain`), in any case, giving "team".
//  - ListRecord: `owner` (a user name) is always among `members`; members
//    are valid local parts, sorted and unique, at most kMaxListMembers.
//  - ApplyListOp() holds every permission rule (pure: the key role's store
//    only loads, applies and saves). `current` is the stored record (nullopt:
//    no such list), `actor` the user authenticated on the session, `user`
//    the argument of kAdd and kRemove (a valid local part; else
//    kInvalidArgument). It returns the record to store (nullopt: delete it)
//    or an error:
//      kShow, kPost   a member: the record unchanged. kPost is what the SMTP
//                     session asks at RCPT: the members to deliver to.
//      kCreate        no list yet: owner and only member `actor`
//                     (kAlreadyExists when the list exists).
//      kAdd           the owner: `user` added (already a member: unchanged;
//                     the list full: kResourceExhausted).
//      kRemove        the owner, or `user` == `actor`: `user` removed (not a
//                     member: unchanged); the owner cannot be removed
//                     (kFailedPrecondition: the owner destroys the list).
//      kLeave         kRemove of `actor` by `actor`.
//      kDestroy       the owner: nullopt.
//    No list: kNotFound (except kCreate). Not allowed: kPermissionDenied,
//    the same for a non-member whatever the op, so a non-member learns only
//    that the list exists (its address answers RCPT anyway).
//  - mail::ListService::Apply() is ApplyListOp() for the user authenticated
//    on the session (the key role knows who; the front end cannot name
//    another user), over the stored list, with these additions: kCreate of a
//    name whose address is a user's is kAlreadyExists; kAdd of a user that
//    does not exist is kFailedPrecondition; the server holds at most
//    kMaxLists lists (kCreate beyond: kResourceExhausted); a stored list that
//    does not open is kDataLoss; no user authenticated on the session is
//    kPermissionDenied; anything else is temporary. It returns the record
//    after the operation (kDestroy: an empty record).
//  - ListHeaders(): the RFC 2369 / RFC 2919 fields each delivered copy of a
//    list message begins with (after the trace fields): List-Id,
//    List-Post, List-Help and List-Unsubscribe (mailto: server@<domain>,
//    subject "LIST <name> LEAVE"), and Precedence: list; CRLF line endings.
//    `name` valid, `domain` a lower-case host name.
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

enum class ListOp : uint8_t {
  kShow = 0,
  kCreate = 1,
  kAdd = 2,
  kRemove = 3,
  kLeave = 4,
  kDestroy = 5,
  kPost = 6,
};
inline constexpr uint8_t kMaxListOp = 6;

struct ListRecord {
  std::string owner;
  std::vector<std::string> members;  // sorted, unique, holds owner
  bool operator==(const ListRecord&) const = default;
};

bool ValidListName(std::string_view name);
std::optional<std::string> ListNameOf(std::string_view local_part);
std::optional<std::string> CanonicalListName(std::string_view text, std::string_view domain);

// Whether `record` meets the ListRecord invariants (names valid, sorted,
// unique, owner a member, at most kMaxListMembers).
bool WellFormedListRecord(const ListRecord& record);

Result<std::optional<ListRecord>> ApplyListOp(const std::optional<ListRecord>& current, ListOp op,
                                              std::string_view actor, std::string_view user);

std::string ListHeaders(std::string_view name, std::string_view domain);

class ListService {
 public:
  virtual ~ListService() = default;
  // `user`: the argument of kAdd and kRemove, empty for the other ops.
  virtual Result<ListRecord> Apply(ListOp op, std::string_view name, std::string_view user) = 0;
};

}  // namespace onionmail::mail
