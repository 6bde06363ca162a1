#include "bot/spam.h"

#include <algorithm>
#include <span>
#include <utility>
#include <vector>

#include "bot/spam_answers.h"

namespace onionmail::bot {
namespace {

using mail::BlockListOp;

std::optional<SpamRequest> EntryRequest(BlockListOp op, std::span<const std::string> args) {
  if (args.size() != 2) return std::nullopt;
  std::optional<std::string> entry = mail::CanonicalBlockEntry(args[1]);
  if (!entry) return std::nullopt;
  return SpamRequest{op, std::move(*entry)};
}

bool Holds(const std::vector<std::string>& list, const std::string& entry) {
  return std::find(list.begin(), list.end(), entry) != list.end();
}

}  // namespace

std::optional<SpamRequest> ParseSpamRequest(const CommandLine& line) {
  if (line.command != Command::kSpam || !line.args_ok) return std::nullopt;
  std::span<const std::string> args = line.args;
  if (args.empty()) return SpamRequest{BlockListOp::kList, ""};
  const std::string& verb = args[0];
  if (args.size() == 1 && AsciiEqualsIgnoreCase(verb, "LIST")) {
    return SpamRequest{BlockListOp::kList, ""};
  }
  if (args.size() == 1 && AsciiEqualsIgnoreCase(verb, "CLEAR")) {
    return SpamRequest{BlockListOp::kClear, ""};
  }
  if (AsciiEqualsIgnoreCase(verb, "ADD")) return EntryRequest(BlockListOp::kAdd, args);
  if (AsciiEqualsIgnoreCase(verb, "DEL") || AsciiEqualsIgnoreCase(verb, "DELETE") ||
      AsciiEqualsIgnoreCase(verb, "REMOVE")) {
    return EntryRequest(BlockListOp::kDelete, args);
  }
  return std::nullopt;
}

Result<std::string> AnswerSpam(mail::BlockListService& service, const ServerFacts& facts,
                               const CommandLine& line) {
  std::optional<SpamRequest> request = ParseSpamRequest(line);
  if (!request) return SpamUsageText(facts);
  const std::string& entry = request->entry;
  // The answer to a service error: some are for the user, the rest temporary.
  auto failed = [&](const Error& error) -> Result<std::string> {
    if (error.code == ErrorCode::kInvalidArgument) return SpamUsageText(facts);
    if (error.code == ErrorCode::kResourceExhausted) return SpamFullText(entry);
    if (error.code == ErrorCode::kDataLoss) return SpamDamagedText();
    return error;
  };

  if (request->op == BlockListOp::kList || request->op == BlockListOp::kClear) {
    Result<std::vector<std::string>> list = service.Apply(request->op, "");
    if (!list.ok()) return failed(list.error());
    return request->op == BlockListOp::kList ? SpamListText(*list) : SpamClearedText(*list);
  }

  Result<std::vector<std::string>> before = service.Apply(BlockListOp::kList, "");
  if (!before.ok()) return failed(before.error());
  const bool adding = request->op == BlockListOp::kAdd;
  const bool was_there = Holds(*before, entry);
  if (adding == was_there) {  // nothing to change
    return adding ? SpamAddedText(entry, true, *before) : SpamDeletedText(entry, false, *before);
  }
  Result<std::vector<std::string>> after = service.Apply(request->op, entry);
  if (!after.ok()) return failed(after.error());
  return adding ? SpamAddedText(entry, false, *after) : SpamDeletedText(entry, true, *after);
}

}  // namespace onionmail::bot
