// bot lists: parsing and dispatch of the LIST commands (contract in bot/lists.h).
#include "bot/lists.h"

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "bot/list_answers.h"

namespace onionmail::bot {
namespace {

using mail::ListOp;

bool IsOneOf(std::string_view word, std::initializer_list<std::string_view> verbs) {
  for (std::string_view verb : verbs) {
    if (AsciiEqualsIgnoreCase(word, verb)) return true;
  }
  return false;
}

// The op a verb names; `takes_user` is set for the ops with a <user>.
std::optional<ListOp> VerbOp(std::string_view verb, bool* takes_user) {
  *takes_user = false;
  if (IsOneOf(verb, {"CREATE"})) return ListOp::kCreate;
  if (IsOneOf(verb, {"LEAVE", "UNSUBSCRIBE"})) return ListOp::kLeave;
  if (IsOneOf(verb, {"MEMBERS", "SHOW", "LIST"})) return ListOp::kShow;
  if (IsOneOf(verb, {"DESTROY"})) return ListOp::kDestroy;
  if (IsOneOf(verb, {"ANNOUNCE"})) return ListOp::kAnnounce;
  if (IsOneOf(verb, {"OPEN"})) return ListOp::kOpen;
  if (IsOneOf(verb, {"MODERATE"})) return ListOp::kModerate;
  *takes_user = true;
  if (IsOneOf(verb, {"ADD", "INVITE"})) return ListOp::kAdd;
  if (IsOneOf(verb, {"REMOVE", "DEL", "DELETE"})) return ListOp::kRemove;
  return std::nullopt;
}

}  // namespace

std::optional<ListRequest> ParseListRequest(const CommandLine& line, const ServerFacts& facts) {
  if (line.command != Command::kList || !line.args_ok || line.args.size() < 2) return std::nullopt;
  std::span<const std::string> args = line.args;
  bool takes_user = false;
  std::optional<ListOp> op = VerbOp(args[1], &takes_user);
  if (!op || args.size() != (takes_user ? 3u : 2u)) return std::nullopt;
  std::optional<std::string> name = mail::CanonicalListName(args[0], facts.domain);
  if (!name || !mail::ValidListName(*name)) return std::nullopt;
  ListRequest request{*op, std::move(*name), ""};
  if (takes_user) {
    std::optional<std::string> user = mail::CanonicalListMember(args[2], facts.domain);
    if (!user) return std::nullopt;
    request.user = std::move(*user);
  }
  return request;
}

Result<std::string> AnswerList(mail::ListService& service, const ServerFacts& facts,
                               std::string_view actor, const CommandLine& line) {
  std::optional<ListRequest> request = ParseListRequest(line, facts);
  if (!request) return ListUsageText(facts);
  ListAsked asked{request->op, request->name, request->user, actor, facts.domain};
  Result<mail::ListRecord> record = service.Apply(request->op, request->name, request->user);
  if (record.ok()) return ListChangedText(asked, *record);
  const ErrorCode code = record.error().code;
  if (code == ErrorCode::kInvalidArgument) return ListUsageText(facts);
  if (ListRefusalCovers(request->op, code)) return ListRefusedText(asked, code);
  return record.error();
}

}  // namespace onionmail::bot
