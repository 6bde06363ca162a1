// The server@ bot's VMAT command; see vmat.h.
#include "bot/vmat.h"

#include <optional>

namespace onionmail::bot {
namespace {

// Whether mail the user sends to the Internet leaves through this gateway.
std::string Sending(const ServerFacts& facts) {
  return facts.exit_sends
             ? "Mail you send to Internet addresses leaves from your Internet address\n"
               "(VMAT ON makes it the one your mail leaves from, if you have others).\n"
             : "This gateway does not send mail to the Internet: you cannot reply from\n"
               "the address.\n";
}

std::string Usage(const ServerFacts& facts, const std::string& address) {
  return "VMAT manages your Internet address, " + address +
         ": mail sent to it\n"
         "from anywhere on the Internet comes into your mailbox on " +
         facts.domain +
         "\n"
         "(the gateway " +
         facts.exit_domain +
         " carries it here over Tor).\n"
         "\n"
         "  VMAT        whether you have it\n"
         "  VMAT ON     make it\n"
         "  VMAT OFF    remove it\n"
         "\n"
         "Anyone who knows the address can write to you; your block list (SPAM)\n"
         "applies to that mail too.\n" +
         Sending(facts);
}

std::optional<mail::VmatOwnOp> OpOf(const CommandLine& line) {
  if (!line.args_ok || line.args.size() > 1) return std::nullopt;
  if (line.args.empty() || AsciiEqualsIgnoreCase(line.args[0], "SHOW"))
    return mail::VmatOwnOp::kShow;
  if (AsciiEqualsIgnoreCase(line.args[0], "ON")) return mail::VmatOwnOp::kOn;
  if (AsciiEqualsIgnoreCase(line.args[0], "OFF")) return mail::VmatOwnOp::kOff;
  return std::nullopt;
}

}  // namespace

Result<std::string> AnswerVmat(mail::VmatService& vmat, const ServerFacts& facts,
                               std::string_view user, const CommandLine& line) {
  const std::string address = std::string(user) + "@" + facts.exit_domain;
  std::optional<mail::VmatOwnOp> op = OpOf(line);
  if (!op) return Usage(facts, address);
  Result<void> done = vmat.Own(*op);
  if (!done.ok()) {
    switch (done.error().code) {
      case ErrorCode::kNotFound:
        return "You have no Internet address. VMAT ON makes " + address + ".\n";
      case ErrorCode::kAlreadyExists:
        return "The address " + address +
               " belongs to another mailbox: the operator\n"
               "of this server gave it. Nothing was changed.\n";
      case ErrorCode::kInvalidArgument:
        return "Your user name is reserved at " + facts.exit_domain +
               " (postmaster, abuse and the like\n"
               "reach this server's operator), so it cannot be your Internet address.\n";
      default:
        return done.error();
    }
  }
  switch (*op) {
    case mail::VmatOwnOp::kShow:
      return "Your Internet address: " + address +
             "\n"
             "Mail sent to it from the Internet comes into this mailbox.\n"
             "VMAT OFF removes it.\n";
    case mail::VmatOwnOp::kOn:
      return "Your Internet address: " + address +
             "\n"
             "Mail sent to it from the Internet comes into this mailbox.\n" +
             (facts.exit_sends ? "Mail you send to Internet addresses leaves from it.\n"
                               : std::string()) +
             "VMAT OFF removes it.\n";
    case mail::VmatOwnOp::kOff:
      return "Your Internet address " + address +
             " is removed: mail to it is refused\n"
             "from now on. VMAT ON makes it again.\n";
  }
  return Usage(facts, address);
}

}  // namespace onionmail::bot
