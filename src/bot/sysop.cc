// The server@ bot's sysop commands; see sysop.h.
#include "bot/sysop.h"

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"

namespace onionmail::bot {
namespace {

std::string Usage(const ServerFacts& facts) {
  return "VOUCHER makes one-time registration vouchers: each opens one account on\n" +
         facts.domain +
         ".\n"
         "\n"
         "  VOUCHER        one voucher\n"
         "  VOUCHER <n>    n vouchers, 1 to " +
         std::to_string(mail::kMaxIssuedVouchers) +
         ", e.g. VOUCHER 3\n"
         "\n"
         "At most " +
         std::to_string(mail::kMaxIssuedVouchers) + " are made on one connection.\n";
}

// 1..kMaxIssuedVouchers from the command's arguments; nullopt if malformed.
std::optional<size_t> CountOf(const CommandLine& line) {
  if (!line.args_ok || line.args.size() > 1) return std::nullopt;
  if (line.args.empty()) return 1;
  const std::string& word = line.args[0];
  if (word.empty() || word.size() > 2) return std::nullopt;
  size_t n = 0;
  for (char c : word) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (n < 1 || n > mail::kMaxIssuedVouchers) return std::nullopt;
  return n;
}

}  // namespace

Result<std::string> AnswerVoucher(mail::VoucherService& vouchers, const ServerFacts& facts,
                                  const CommandLine& line) {
  std::optional<size_t> count = CountOf(line);
  if (!count) return Usage(facts);
  Result<std::vector<SecretBytes>> made = vouchers.Issue(*count);
  if (!made.ok()) {
    if (made.error().code != ErrorCode::kPermissionDenied) return made.error();
    return "No voucher was made: at most " + std::to_string(mail::kMaxIssuedVouchers) +
           " are made on one connection, and only for the\n"
           "sysop of " +
           facts.domain + ". Send VOUCHER again on a new connection.\n";
  }
  // Room for all of it at once: a growing string would leave copies of the
  // vouchers behind in the memory it frees.
  std::string text;
  text.reserve(4096);
  text += std::to_string(made->size()) + " new voucher" + (made->size() == 1 ? "" : "s") + " for " +
          facts.domain + ":\n\n";
  for (const SecretBytes& v : *made) {
    text += "  ";
    text += v.RevealString(SecretAccess::Grant());
    text += "\n";
  }
  text +=
      "\n"
      "Each opens one account, once. Give each to one person, privately: it is\n"
      "a secret. That person connects with TLS to the POP3 service of\n" +
      facts.domain +
      ", sends\n"
      "  RQUS <voucher> <name>\n"
      "and gets the new account's two passwords in the reply.\n";
  if (!facts.registration) {
    text +=
        "\nRegistration is off on this server ([pop3] registration = false): the\n"
        "vouchers work once it is turned on.\n";
  }
  text += "\nThe operator withdraws every unused voucher with: onionmailctl voucher clear\n";
  return text;
}

}  // namespace onionmail::bot
