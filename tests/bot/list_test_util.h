// Helpers for the bot::Bot LIST tests: a fake mail::ListService that records
// its calls and answers with a scripted record or error, and a bot over it.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "bot/bot.h"
#include "mail/mailing_list.h"
#include "tests/bot/bot_test_util.h"

namespace onionmail::bot::testing {

struct ListCall {
  mail::ListOp op;
  std::string name;
  std::string user;
  bool operator==(const ListCall&) const = default;
};

inline void PrintTo(const ListCall& call, std::ostream* os) {
  *os << "{" << static_cast<int>(call.op) << ", \"" << call.name << "\", \"" << call.user << "\"}";
}

// Answers every call with `error` when set, else with `record`.
class FakeListService : public mail::ListService {
 public:
  Result<mail::ListRecord> Apply(mail::ListOp op, std::string_view name,
                                 std::string_view user) override {
    calls.push_back(ListCall{op, std::string(name), std::string(user)});
    if (error) return *error;
    return record;
  }

  std::vector<ListCall> calls;
  mail::ListRecord record;
  std::optional<Error> error;
};

// A bot over `fake` answering "alice" (bot_test_util.h's AskOk).
inline Bot ListBot(FakeListService& fake) {
  return Bot(
      TestFacts(), AbcKey(), [] { return kFixedTime; }, nullptr, &fake);
}

inline std::string ListSubject(const std::string& subject) {
  return "Subject: " + subject + "\r\n\r\n";
}

inline bool HasText(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// The first line of the LIST usage answer.
inline constexpr char kListUsageFirstLine[] =
    "The LIST commands manage mailing lists: an address "
    "<name>.list@exampleonionaddress.onion";

}  // namespace onionmail::bot::testing
