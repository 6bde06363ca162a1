#include "bot/bot.h"

#include <cstddef>
#include <optional>
#include <utility>

#include "base/secret_bytes.h"
#include "bot/answers.h"
#include "bot/lists.h"
#include "bot/reply_message.h"
#include "bot/request.h"
#include "bot/spam.h"
#include "bot/sysop.h"
#include "bot/vmat.h"
#include "mail/message_fields.h"

namespace onionmail::bot {
namespace {

constexpr size_t kMaxDomain = 253;
constexpr size_t kMaxLocalPart = 64;

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Checked again here although the callers vouch for both: they go into the
// reply's header fields, which must not be open to injection.
bool IsHostName(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomain) return false;
  for (char c : domain) {
    if (!IsAsciiAlnum(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsDotAtomLocalPart(std::string_view user) {
  if (user.empty() || user.size() > kMaxLocalPart) return false;
  for (char c : user) {
    if (!IsAsciiAlnum(c) &&
        std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::time_t SystemClock() { return std::time(nullptr); }

}  // namespace

Bot::Bot(ServerFacts facts, ServerKeySource server_key, Clock clock,
         mail::BlockListService* block_list, mail::ListService* lists,
         mail::VoucherService* vouchers, mail::VmatService* vmat,
         mail::GatewayVmatService* gateway_vmat)
    : facts_(std::move(facts)),
      server_key_(std::move(server_key)),
      clock_(clock ? std::move(clock) : Clock(SystemClock)),
      block_list_(block_list),
      lists_(lists),
      vouchers_(vouchers),
      vmat_(vmat),
      gateway_vmat_(gateway_vmat) {}

Result<mail::BotAnswer> Bot::Answer(std::string_view user, std::string_view request) {
  if (!IsHostName(facts_.domain)) {
    return MakeError(ErrorCode::kInternal, "bot: the server domain is not a host name");
  }
  if (!IsDotAtomLocalPart(user)) {
    return MakeError(ErrorCode::kInvalidArgument, "bot: the user is not a plain local part");
  }
  Request parsed = ParseRequest(request);
  if (parsed.automatic) return mail::BotAnswer{"ignored", ""};

  Result<std::string> date = mail::Rfc5322Date(clock_());
  if (!date.ok()) return date.error();

  const bool spam = block_list_ != nullptr;
  const bool lists = lists_ != nullptr;
  CommandLine line = ParseCommandLine(parsed.subject);
  if (line.command == Command::kSpam && !spam) line.command = Command::kUnknown;
  if (line.command == Command::kList && !lists) line.command = Command::kUnknown;
  // The sysop's command: anyone else is not told it exists.
  const bool sysop = vouchers_ != nullptr && !facts_.sysop.empty() && user == facts_.sysop;
  if (line.command == Command::kVoucher && !sysop) line.command = Command::kUnknown;
  const bool ask_gateway =
      gateway_vmat_ != nullptr && facts_.exit_domain.empty() && !facts_.exit_gateway.empty();
  const bool vmat = (vmat_ != nullptr && !facts_.exit_domain.empty()) || ask_gateway;
  if (line.command == Command::kVmat && !vmat) line.command = Command::kUnknown;
  std::string keyword;
  std::string body;
  switch (line.command) {
    case Command::kHelp:
      keyword = "HELP";
      body = HelpText(facts_, spam, lists, sysop, vmat);
      break;
    case Command::kRulez:
      keyword = "RULEZ";
      body = RulezText(facts_);
      break;
    case Command::kConfig:
      keyword = "CONFIG";
      body = ConfigText(facts_);
      break;
    case Command::kUnknown:
      keyword = "unknown";
      body = UnknownText(facts_, spam, lists, sysop, vmat);
      break;
    case Command::kSpam: {
      Result<std::string> text = AnswerSpam(*block_list_, facts_, line);
      if (!text.ok()) return text.error();
      keyword = "SPAM";
      body = std::move(*text);
      break;
    }
    case Command::kList: {
      Result<std::string> text = AnswerList(*lists_, facts_, user, line);
      if (!text.ok()) return text.error();
      keyword = "LIST";
      body = std::move(*text);
      break;
    }
    case Command::kVoucher: {
      Result<std::string> text = AnswerVoucher(*vouchers_, facts_, line);
      if (!text.ok()) return text.error();
      keyword = "VOUCHER";
      body = std::move(*text);
      break;
    }
    case Command::kVmat: {
      Result<std::string> text = ask_gateway ? AnswerGatewayVmat(*gateway_vmat_, facts_, user, line)
                                             : AnswerVmat(*vmat_, facts_, user, line);
      if (!text.ok()) return text.error();
      keyword = "VMAT";
      body = std::move(*text);
      break;
    }
    case Command::kIdent: {
      if (!server_key_) {
        return MakeError(ErrorCode::kInternal, "bot: IDENT without a server key source");
      }
      Result<std::vector<uint8_t>> key = server_key_();
      if (!key.ok()) return key.error();
      Result<std::string> fingerprint = KeySha256Hex(*key);
      if (!fingerprint.ok()) return fingerprint.error();
      keyword = "IDENT";
      body = IdentText(facts_, *fingerprint, *date);
      break;
    }
  }

  Result<std::string> message_id = mail::NewMessageIdLocal();
  if (!message_id.ok()) return message_id.error();
  std::string subject = SanitizeSubject(parsed.subject);
  ReplyParts parts;
  parts.domain = facts_.domain;
  parts.user = user;
  parts.date = *date;
  parts.subject = subject;
  parts.message_id_local = *message_id;
  parts.in_reply_to = parsed.message_id;
  parts.body = body;
  std::string message = ComposeReply(parts);
  // The body may hold secrets (VOUCHER); the caller wipes the message.
  WipeMemory(body.data(), body.size());
  return mail::BotAnswer{std::move(keyword), std::move(message)};
}

Result<mail::RemoteBotAnswer> Bot::AnswerRemote(std::string_view member, std::string_view request) {
  if (!mail::IsRemoteMember(member) || !mail::ValidListMember(member)) {
    return MakeError(ErrorCode::kInvalidArgument, "bot: not a member at another server");
  }
  Request parsed = ParseRequest(request);
  if (parsed.automatic) return mail::RemoteBotAnswer{"ignored", mail::RemoteBotOutcome::kIgnored};
  std::optional<ListRequest> leave;
  if (lists_ != nullptr) leave = ParseListRequest(ParseCommandLine(parsed.subject), facts_);
  if (!leave || leave->op != mail::ListOp::kLeave) {
    return mail::RemoteBotAnswer{"refused", mail::RemoteBotOutcome::kRefused};
  }
  Result<mail::ListRecord> left = lists_->Apply(mail::ListOp::kLeave, leave->name, member);
  if (!left.ok() && left.error().code != ErrorCode::kNotFound &&
      left.error().code != ErrorCode::kPermissionDenied) {
    return left.error();
  }
  return mail::RemoteBotAnswer{"LIST LEAVE", mail::RemoteBotOutcome::kLeft};
}

}  // namespace onionmail::bot
