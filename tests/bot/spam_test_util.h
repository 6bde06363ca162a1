// Helpers for the bot::Bot SPAM tests: a fake mail::BlockListService that
// records its calls, a bot over it, and the checks every SPAM answer shares.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "bot/bot.h"
#include "mail/block_list.h"
#include "tests/bot/bot_test_util.h"

namespace onionmail::bot::testing {

struct Call {
  mail::BlockListOp op;
  std::string entry;
  bool operator==(const Call&) const = default;
};

inline void PrintTo(const Call& call, std::ostream* os) {
  *os << "{" << static_cast<int>(call.op) << ", \"" << call.entry << "\"}";
}

inline const Call kListCall{mail::BlockListOp::kList, ""};

// A list kept sorted, like the real one; `error`, when set, fails `error_op`
// (or every op when that is unset) without a change.
class FakeBlockList : public mail::BlockListService {
 public:
  Result<std::vector<std::string>> Apply(mail::BlockListOp op, std::string_view entry) override {
    calls.push_back(Call{op, std::string(entry)});
    if (error && (!error_op || *error_op == op)) return *error;
    std::string e(entry);
    auto at = std::lower_bound(list.begin(), list.end(), e);
    bool there = at != list.end() && *at == e;
    if (op == mail::BlockListOp::kAdd && !there) list.insert(at, e);
    if (op == mail::BlockListOp::kDelete && there) list.erase(at);
    if (op == mail::BlockListOp::kClear) list.clear();
    return list;
  }

  std::vector<Call> calls;
  std::vector<std::string> list;
  std::optional<Error> error;
  std::optional<mail::BlockListOp> error_op;
};

inline Bot SpamBot(FakeBlockList& fake) {
  return Bot(
      TestFacts(), AbcKey(), [] { return kFixedTime; }, &fake);
}

inline std::string WithSubject(const std::string& subject) {
  return "Subject: " + subject + "\r\n\r\n";
}

inline bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Every SPAM answer but the list-full one explains what a block does.
inline void ExpectExplainsABlock(const std::string& body) {
  EXPECT_TRUE(Contains(body, "(SMTP 550 5.7.1)")) << body;
  EXPECT_TRUE(Contains(body, "envelope sender\r\n(MAIL FROM), which a sender can forge")) << body;
  EXPECT_TRUE(Contains(body, "persistent sender, not\r\na determined one.")) << body;
}

}  // namespace onionmail::bot::testing
