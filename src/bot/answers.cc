#include "bot/answers.h"

#include <openssl/evp.h>

#include <array>

#include "bot/reply_message.h"
#include "mail/message_fields.h"

namespace onionmail::bot {
namespace {

constexpr uint64_t kMebibyte = 1024 * 1024;
constexpr size_t kMaxSoftware = 200;

constexpr char kSpamHelp[] =
    "  SPAM    your block list: mail from the senders on it is refused.\n"
    "          SPAM LIST shows it; SPAM ADD <address> blocks a sender (or\n"
    "          SPAM ADD @<domain> a whole domain); SPAM DEL <address> unblocks\n"
    "          one; SPAM CLEAR empties it; SPAM HELP explains them all\n";

constexpr char kListHelp[] =
    "  LIST    mailing lists: LIST <name> CREATE makes one, LIST <name> ADD\n"
    "          <user> adds a member (a user here or at another onion server),\n"
    "          LIST <name> MEMBERS shows it; LIST HELP explains them all\n";

constexpr char kVoucherHelp[] =
    "  VOUCHER for you, the sysop: VOUCHER <n> makes n (1 to 10) one-time\n"
    "          vouchers, each of which opens one account (POP3 RQUS)\n";

const char* YesNo(bool b) { return b ? "yes" : "no"; }

std::string PrintableAscii(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) continue;
    if (out.size() == max) break;
    out.push_back(c);
  }
  return out;
}

bool IsOnlyWhiteSpace(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\v' && c != '\f') return false;
  }
  return true;
}

}  // namespace

std::string HelpText(const ServerFacts& facts, bool spam, bool lists, bool sysop, bool vmat) {
  const std::string& d = facts.domain;
  return "This is the command bot of " + d +
         ".\n"
         "\n"
         "To use it, send a mail to server@" +
         d +
         " with the command as the\n"
         "Subject; the body of your mail is not read. The answer comes into your\n"
         "own mailbox. Only users of this server who are logged in (SMTP AUTH)\n"
         "can use the bot.\n"
         "\n"
         "Commands:\n"
         "  HELP    this text\n"
         "  RULEZ   the rules of this server, as its operator published them\n"
         "          (RULES works too)\n"
         "  IDENT   who this server is: its name, software, key fingerprint and\n"
         "          the services it offers to other onion servers\n"
         "  CONFIG  the limits of this server: message size, recipients per\n"
         "          message, mailbox quota (LIMITS works too)\n" +
         std::string(spam ? kSpamHelp : "") + std::string(lists ? kListHelp : "") +
         std::string(sysop ? kVoucherHelp : "") +
         (vmat && !facts.exit_domain.empty()
              ? "  VMAT    your Internet address <you>@" + facts.exit_domain +
                    ":\n          VMAT ON makes it, VMAT OFF removes it\n"
              : std::string()) +
         (vmat && facts.exit_domain.empty()
              ? std::string("  VMAT    your Internet address at this server's exit gateway:\n"
                            "          VMAT ON [name] asks for it, VMAT OFF removes it\n")
              : std::string()) +
         "\n"
         "Commands are not case-sensitive, and a leading \"Re:\" is ignored.\n";
}

std::string UnknownText(const ServerFacts& facts, bool spam, bool lists, bool sysop, bool vmat) {
  return "The command in the Subject of your mail was not understood.\n"
         "\n" +
         HelpText(facts, spam, lists, sysop, vmat);
}

std::string IdentText(const ServerFacts& facts, std::string_view key_sha256_hex,
                      std::string_view date) {
  std::string text = "Server: " + facts.domain + "\n";
  text += "Software: " + PrintableAscii(facts.software, kMaxSoftware) + "\n";
  text += "Server key SHA-256: " + std::string(key_sha256_hex) + "\n";
  text += std::string("Relays to other onion servers: ") + YesNo(facts.relay_enabled) + "\n";
  text += std::string("Requires TKIM from onion senders: ") + YesNo(facts.require_tkim) + "\n";
  text += std::string("Serves unseal shares to peers (TORM): ") + YesNo(facts.torm_served) + "\n";
  text += "Date: " + std::string(date) + "\n";
  text +=
      "\n"
      "The server key fingerprint is the SHA-256 of the key that `TKIM KEY`\n"
      "returns (the server key as DER SubjectPublicKeyInfo); the operator's\n"
      "`onionmailctl pin` prints it as the server-id. Compare it with a\n"
      "fingerprint you obtained out of band, from the operator, before you rely\n"
      "on this server's identity.\n";
  return text;
}

std::string ConfigText(const ServerFacts& facts) {
  std::string text = "The limits of " + facts.domain + ":\n\n";
  text += "Maximum message size: " + std::to_string(facts.max_message_bytes) + " bytes (" +
          MebibyteFigure(facts.max_message_bytes) + ")\n";
  text += "Maximum recipients per message: " + std::to_string(facts.max_recipients) + "\n";
  if (facts.relay_enabled) {
    text += "Maximum other onion servers per message: " + std::to_string(facts.max_remote_servers) +
            "\n";
  } else {
    text += "Mail to other onion servers: not relayed by this server\n";
  }
  text += "Mailbox quota: ";
  if (facts.mailbox_quota_bytes == 0) {
    text += "none\n";
  } else {
    text += std::to_string(facts.mailbox_quota_bytes) + " bytes (" +
            MebibyteFigure(facts.mailbox_quota_bytes) + ")\n";
  }
  return text;
}

std::string RulezText(const ServerFacts& facts) {
  if (IsOnlyWhiteSpace(facts.rules)) {
    return "The operator of " + facts.domain + " has not published rules.\n";
  }
  return "The rules of " + facts.domain + ", as its operator published them:\n\n" + facts.rules;
}

std::string MebibyteFigure(uint64_t octets) {
  uint64_t whole = octets / kMebibyte;
  uint64_t tenths = ((octets % kMebibyte) * 10 + kMebibyte / 2) / kMebibyte;
  if (tenths == 10) {
    ++whole;
    tenths = 0;
  }
  return std::to_string(whole) + "." + std::to_string(tenths) + " MiB";
}

Result<std::string> KeySha256Hex(std::span<const uint8_t> der) {
  if (der.empty()) return MakeError(ErrorCode::kInternal, "bot: the server key is empty");
  std::array<uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(der.data(), der.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != 32) {
    return MakeError(ErrorCode::kInternal, "bot: SHA-256 of the server key failed");
  }
  return mail::LowerHex(std::span<const uint8_t>(digest.data(), length));
}

}  // namespace onionmail::bot
