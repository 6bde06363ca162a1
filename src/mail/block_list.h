// Per-user block lists (docs/PROTOCOL.md, "server@", SPAM commands): the
// entries' canonical form, the match against a sender, and the service the
// server@ bot edits a list through.
//
// Contract:
//  - An entry is "local@domain" (one address) or "@domain" (every sender of
//    that domain, not of its subdomains), lower-case ASCII, at most
//    kMaxBlockEntryBytes. CanonicalBlockEntry() accepts those forms with
//    any case, optional surrounding blanks and angle brackets, and "*@domain"
//    for "@domain"; the local part is an RFC 5321 dot-atom, the domain
//    labels of [a-z0-9-] (no leading or trailing '-', no empty label). It
//    returns nullopt for anything else, so an entry is safe in a header line
//    and in a log-free file.
//  - SenderIsBlocked(): `entries` canonical and sorted; `sender` a reverse
//    path "local@domain" in any case (empty, the null sender, is never
//    blocked).
//  - BlockListService::Apply() acts on the list of the user authenticated on
//    the session (the key role knows who: the front end cannot name another
//    user) and returns the list after the operation, sorted. kAdd of an entry
//    already there and kDelete of an absent one change nothing. Errors:
//    kInvalidArgument (entry not canonical), kResourceExhausted (the list
//    holds kMaxBlockEntries), kPermissionDenied (no user authenticated on
//    the session), anything else temporary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace onionmail::mail {

// A BlockListReply with the whole list must fit one IPC datagram with room
// to spare (tests/ipc/frame_budget_test.cc): 500 x 200 octets is ~100 KB.
inline constexpr size_t kMaxBlockEntries = 500;
inline constexpr size_t kMaxBlockEntryBytes = 200;

enum class BlockListOp : uint8_t { kList = 0, kAdd = 1, kDelete = 2, kClear = 3 };

std::optional<std::string> CanonicalBlockEntry(std::string_view text);

bool SenderIsBlocked(std::span<const std::string> entries, std::string_view sender);

class BlockListService {
 public:
  virtual ~BlockListService() = default;
  // `entry` is canonical for kAdd and kDelete, empty for kList and kClear.
  virtual Result<std::vector<std::string>> Apply(BlockListOp op, std::string_view entry) = 0;
};

}  // namespace onionmail::mail
