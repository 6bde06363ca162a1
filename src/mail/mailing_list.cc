// mail::ApplyListOp and the list names and header fields (contract in
// mail/mailing_list.h).
#include "mail/mailing_list.h"

#include <algorithm>

#include "base/ascii.h"
#include "mail/backend.h"
#include "mail/relay.h"

namespace onionmail::mail {
namespace {

bool EndsWithListSuffix(std::string_view s) {
  return s.size() >= kListSuffix.size() && s.substr(s.size() - kListSuffix.size()) == kListSuffix;
}

bool IsMember(const ListRecord& record, std::string_view user) {
  return std::binary_search(record.members.begin(), record.members.end(), user);
}

Error Denied() { return {ErrorCode::kPermissionDenied, "not allowed on this list"}; }

// The domain of a remote member; "" for a local one.
std::string_view DomainOf(std::string_view member) {
  size_t at = member.find('@');
  return at == std::string_view::npos ? std::string_view() : member.substr(at + 1);
}

// The distinct domains of the remote members.
std::vector<std::string_view> RemoteDomains(const std::vector<std::string>& members) {
  std::vector<std::string_view> domains;
  for (const std::string& member : members) {
    if (std::string_view d = DomainOf(member); !d.empty()) domains.push_back(d);
  }
  std::sort(domains.begin(), domains.end());
  domains.erase(std::unique(domains.begin(), domains.end()), domains.end());
  return domains;
}

}  // namespace

bool ValidListName(std::string_view name) {
  return name.size() <= kMaxListNameBytes && ValidLocalPart(name) && !EndsWithListSuffix(name);
}

std::optional<std::string> ListNameOf(std::string_view local_part) {
  if (!EndsWithListSuffix(local_part)) return std::nullopt;
  std::string_view name = local_part.substr(0, local_part.size() - kListSuffix.size());
  if (!ValidListName(name)) return std::nullopt;
  return std::string(name);
}

std::optional<std::string> CanonicalListName(std::string_view text, std::string_view domain) {
  std::string lower = AsciiLower(text);
  std::string_view local = lower;
  if (size_t at = local.find('@'); at != std::string_view::npos) {
    if (local.substr(at + 1) != AsciiLower(domain)) return std::nullopt;
    local = local.substr(0, at);
    return ListNameOf(local);
  }
  if (auto name = ListNameOf(local)) return name;
  if (!ValidListName(local)) return std::nullopt;
  return std::string(local);
}

bool ValidListMember(std::string_view member) {
  size_t at = member.find('@');
  if (at == std::string_view::npos) return ValidLocalPart(member);
  std::string_view domain = member.substr(at + 1);
  // IsV3OnionDomain() takes lower case only and never an '@'.
  return ValidLocalPart(member.substr(0, at)) && IsV3OnionDomain(domain);
}

bool IsRemoteMember(std::string_view member) { return member.find('@') != std::string_view::npos; }

std::optional<std::string> CanonicalListMember(std::string_view text, std::string_view domain) {
  std::string lower = AsciiLower(text);
  const size_t at = lower.find('@');
  if (at != std::string::npos && !domain.empty() && lower.substr(at + 1) == AsciiLower(domain)) {
    lower.resize(at);  // a user of this server: written bare
    if (!ValidLocalPart(lower)) return std::nullopt;
    return lower;
  }
  if (!ValidListMember(lower)) return std::nullopt;
  return lower;
}

bool WellFormedListRecord(const ListRecord& record) {
  const auto& m = record.members;
  if (m.empty() || m.size() > kMaxListMembers) return false;
  if (!std::all_of(m.begin(), m.end(), [](const std::string& u) { return ValidListMember(u); })) {
    return false;
  }
  if (std::adjacent_find(m.begin(), m.end(), [](const auto& a, const auto& b) { return a >= b; }) !=
      m.end()) {
    return false;  // not sorted or not unique
  }
  if (RemoteDomains(m).size() > kMaxListRemoteServers) return false;
  return ValidLocalPart(record.owner) && IsMember(record, record.owner) &&
         !(record.announce && record.moderated);
}

Result<std::optional<ListRecord>> ApplyListOp(const std::optional<ListRecord>& current, ListOp op,
                                              std::string_view actor, std::string_view user) {
  // A remote actor only posts and leaves: its server proved itself (TKIM)
  // on the session that asks.
  const bool remote_actor = (op == ListOp::kPost || op == ListOp::kLeave) &&
                            IsRemoteMember(actor) && ValidListMember(actor);
  if (!ValidLocalPart(actor) && !remote_actor) {
    return MakeError(ErrorCode::kInvalidArgument, "bad actor");
  }
  const bool with_user = op == ListOp::kAdd || op == ListOp::kRemove;
  if (with_user && !ValidListMember(user))
    return MakeError(ErrorCode::kInvalidArgument, "bad user");
  if (op == ListOp::kCreate) {
    if (current) return MakeError(ErrorCode::kAlreadyExists, "the list exists");
    return std::optional<ListRecord>(ListRecord{std::string(actor), {std::string(actor)}});
  }
  if (!current) return MakeError(ErrorCode::kNotFound, "no such list");
  if (!WellFormedListRecord(*current)) return MakeError(ErrorCode::kDataLoss, "malformed list");
  const bool owner = current->owner == actor;
  if (!IsMember(*current, actor)) return Denied();
  ListRecord next = *current;
  switch (op) {
    case ListOp::kPost:
      if (next.announce && !owner) {
        return MakeError(ErrorCode::kFailedPrecondition, "only the owner posts to this list");
      }
      if (next.moderated && !owner) next.members = {next.owner};  // held for the owner
      return std::optional<ListRecord>(std::move(next));
    case ListOp::kShow:
      return std::optional<ListRecord>(std::move(next));
    case ListOp::kAnnounce:
    case ListOp::kModerate:
    case ListOp::kOpen:
      if (!owner) return Denied();
      next.announce = op == ListOp::kAnnounce;
      next.moderated = op == ListOp::kModerate;
      return std::optional<ListRecord>(std::move(next));
    case ListOp::kAdd: {
      if (!owner) return Denied();
      auto at = std::lower_bound(next.members.begin(), next.members.end(), user);
      if (at != next.members.end() && *at == user)
        return std::optional<ListRecord>(std::move(next));
      if (next.members.size() >= kMaxListMembers) {
        return MakeError(ErrorCode::kResourceExhausted, "the list is full");
      }
      if (IsRemoteMember(user)) {
        std::vector<std::string_view> domains = RemoteDomains(next.members);
        if (!std::binary_search(domains.begin(), domains.end(), DomainOf(user)) &&
            domains.size() >= kMaxListRemoteServers) {
          return MakeError(ErrorCode::kResourceExhausted, "the list reaches its most servers");
        }
      }
      next.members.insert(at, std::string(user));
      return std::optional<ListRecord>(std::move(next));
    }
    case ListOp::kRemove:
    case ListOp::kLeave: {
      std::string_view who = op == ListOp::kLeave ? actor : user;
      if (!owner && who != actor) return Denied();
      if (who == next.owner) {
        return MakeError(ErrorCode::kFailedPrecondition, "the owner cannot leave the list");
      }
      auto at = std::lower_bound(next.members.begin(), next.members.end(), who);
      if (at != next.members.end() && *at == who) next.members.erase(at);
      return std::optional<ListRecord>(std::move(next));
    }
    case ListOp::kDestroy:
      if (!owner) return Denied();
      return std::optional<ListRecord>();
    case ListOp::kCreate:
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, "unknown list operation");
}

std::string ListHeaders(std::string_view name, std::string_view domain) {
  const std::string n(name);
  const std::string d(domain);
  const std::string address = n + std::string(kListSuffix) + "@" + d;
  std::string out;
  out += "List-Id: <" + n + std::string(kListSuffix) + "." + d + ">\r\n";
  out += "List-Post: <mailto:" + address + ">\r\n";
  out += "List-Help: <mailto:server@" + d + "?subject=HELP>\r\n";
  out += "List-Unsubscribe: <mailto:server@" + d + "?subject=LIST%20" + n + "%20LEAVE>\r\n";
  out += "Precedence: list\r\n";
  return out;
}

std::string ListHeldHeader(std::string_view name, std::string_view domain) {
  return std::string(kListHeldField) + ": <" + std::string(name) + std::string(kListSuffix) + "@" +
         std::string(domain) +
         ">; held for the owner's approval: post it to the list to send it to the members\r\n";
}

}  // namespace onionmail::mail
