// Fuzz target: the server@ bot (src/bot/) on a hostile request, and the
// block-list entry parser (mail/block_list.h) on the same bytes. The bot has
// a block-list and a mailing-list service (the LIST commands run against
// mail::ApplyListOp's rules for the user asking). Besides memory safety it
// checks the contracts: Answer() succeeds (the key source fails never, and
// the two services only with the errors the bot answers); an answer is empty or a
// message whose every line ends in CRLF, is at most 998 octets and holds no
// NUL, whose header lines are printable ASCII; a canonical entry is its own
// canonical form, at most kMaxBlockEntryBytes of printable ASCII without
// blanks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/bot.h"
#include "mail/backend.h"
#include "mail/block_list.h"
#include "mail/mailing_list.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace onionmail;

// An in-memory list that follows the BlockListService contract.
class MemoryBlockList : public mail::BlockListService {
 public:
  Result<std::vector<std::string>> Apply(mail::BlockListOp op, std::string_view entry) override {
    switch (op) {
      case mail::BlockListOp::kAdd:
        if (mail::CanonicalBlockEntry(entry) != std::string(entry)) {
          return MakeError(ErrorCode::kInvalidArgument, "entry");
        }
        if (std::find(entries_.begin(), entries_.end(), entry) == entries_.end()) {
          if (entries_.size() >= 3) return MakeError(ErrorCode::kResourceExhausted, "full");
          entries_.emplace_back(entry);
          std::sort(entries_.begin(), entries_.end());
        }
        break;
      case mail::BlockListOp::kDelete:
        entries_.erase(std::remove(entries_.begin(), entries_.end(), entry), entries_.end());
        break;
      case mail::BlockListOp::kClear:
        entries_.clear();
        break;
      case mail::BlockListOp::kList:
        break;
    }
    return entries_;
  }

 private:
  std::vector<std::string> entries_;
};

// In-memory lists that follow the ListService contract for `actor`, on a
// server with the users alice, bob and carol that holds at most two lists.
class MemoryLists : public mail::ListService {
 public:
  Result<mail::ListRecord> Apply(mail::ListOp op, std::string_view name,
                                 std::string_view user) override {
    ONIONMAIL_CHECK(op != mail::ListOp::kPost);  // never asked by the bot
    ONIONMAIL_CHECK(mail::ValidListName(name));
    const bool with_user = op == mail::ListOp::kAdd || op == mail::ListOp::kRemove;
    ONIONMAIL_CHECK(with_user ? mail::ValidLocalPart(user) : user.empty());
    if (op == mail::ListOp::kAdd && user != "alice" && user != "bob" && user != "carol") {
      return MakeError(ErrorCode::kFailedPrecondition, "no such user");
    }
    std::string key(name);
    auto it = lists_.find(key);
    if (op == mail::ListOp::kCreate && it == lists_.end() && lists_.size() >= 2) {
      return MakeError(ErrorCode::kResourceExhausted, "too many lists");
    }
    std::optional<mail::ListRecord> current;
    if (it != lists_.end()) current = it->second;
    auto next = mail::ApplyListOp(current, op, actor, user);
    if (!next.ok()) return next.error();
    if (!next->has_value()) {
      lists_.erase(key);
      return mail::ListRecord{};
    }
    lists_[key] = **next;
    return **next;
  }

  std::string actor = "alice";

 private:
  std::map<std::string, mail::ListRecord> lists_;
};

void CheckMessage(std::string_view message) {
  if (message.empty()) return;
  ONIONMAIL_CHECK(message.size() >= 2 && message.substr(message.size() - 2) == "\r\n");
  bool in_header = true;
  size_t start = 0;
  while (start < message.size()) {
    size_t end = message.find("\r\n", start);
    ONIONMAIL_CHECK(end != std::string_view::npos);
    std::string_view line = message.substr(start, end - start);
    ONIONMAIL_CHECK(line.size() <= 998);
    for (unsigned char c : line) {
      ONIONMAIL_CHECK(c != '\0' && c != '\r' && c != '\n');
      if (in_header) ONIONMAIL_CHECK((c >= 0x20 && c < 0x7f) || c == '\t');
    }
    if (line.empty()) in_header = false;
    start = end + 2;
  }
  ONIONMAIL_CHECK(!in_header);  // a header section, an empty line, a body
}

void CheckEntry(std::string_view text) {
  auto entry = mail::CanonicalBlockEntry(text);
  if (!entry) return;
  ONIONMAIL_CHECK(entry->size() <= mail::kMaxBlockEntryBytes);
  ONIONMAIL_CHECK(mail::CanonicalBlockEntry(*entry) == entry);
  for (unsigned char c : *entry) ONIONMAIL_CHECK(c > 0x20 && c < 0x7f);
  std::vector<std::string> list = {*entry};
  if ((*entry)[0] != '@') ONIONMAIL_CHECK(mail::SenderIsBlocked(list, *entry));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::AsText(data, size);
  CheckEntry(input);
  if (size > mail::kMaxBotRequestBytes) return 0;
  bot::ServerFacts facts;
  facts.domain = "example.onion";
  facts.software = "onionmaild fuzz";
  facts.max_message_bytes = 25 << 20;
  facts.max_recipients = 100;
  facts.rules = "Be kind.";
  MemoryBlockList list;
  MemoryLists lists;
  bot::Bot bot(
      facts,
      [] {
        return Result<std::vector<uint8_t>>(std::vector<uint8_t>{0x30, 0x03, 1, 2, 3});
      },
      [] { return std::time_t{1798761600}; }, &list, &lists);
  // Three requests on one bot: the later ones see the lists the first
  // changed, the last as another user (not the owner of what alice made).
  for (const char* user : {"alice", "alice", "bob"}) {
    lists.actor = user;
    auto answer = bot.Answer(user, input);
    ONIONMAIL_CHECK(answer.ok());
    ONIONMAIL_CHECK(!answer->keyword.empty());
    CheckMessage(answer->message);
  }
  return 0;
}
