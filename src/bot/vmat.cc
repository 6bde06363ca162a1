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

namespace {

std::string GatewayUsage(const ServerFacts& facts) {
  return "VMAT manages your Internet address at this server's exit gateway,\n" +
         facts.exit_gateway +
         ": mail sent to it from anywhere on the Internet comes into\n"
         "your mailbox here, and mail you send to Internet addresses leaves from it.\n"
         "\n"
         "  VMAT             whether you have one, and which\n"
         "  VMAT ON          ask for <your name>@<the gateway's domain>\n"
         "  VMAT ON <name>   ask for <name>@<the gateway's domain>\n"
         "  VMAT OFF         remove it\n"
         "\n"
         "A name is a-z 0-9 . _ - (at most 64), not a reserved one such as\n"
         "postmaster. The gateway's operator sees which mailbox it leads to; anyone who\n"
         "knows the address can write to you, and your block list (SPAM) applies.\n";
}

std::string GatewayRefusal(ErrorCode code, const std::string& name) {
  switch (code) {
    case ErrorCode::kNotFound:
      return "You have no Internet address at the gateway. VMAT ON [name] asks for one.\n";
    case ErrorCode::kAlreadyExists:
      return "The name " + name +
             " is taken at the gateway: it leads to another mailbox.\n"
             "Try VMAT ON <another name>.\n";
    case ErrorCode::kFailedPrecondition:
      return "You already have another Internet address at the gateway: VMAT shows it,\n"
             "VMAT OFF removes it before you ask for another.\n";
    case ErrorCode::kInvalidArgument:
      return "The gateway refused the name " + name +
             ": use a-z 0-9 . _ - (at most 64),\n"
             "not a reserved name such as postmaster.\n";
    case ErrorCode::kPermissionDenied:
      return "The gateway gives no addresses to users of this server (its operator lists\n"
             "the servers it serves).\n";
    case ErrorCode::kUnauthenticated:
      return "The gateway did not accept this server's proof of its onion address (TKIM).\n"
             "Tell this server's operator.\n";
    case ErrorCode::kResourceExhausted:
      return "The gateway has no room for more addresses now. Try again later.\n";
    default:
      return "The gateway could not be reached, or did not answer. Try again later\n"
             "(VMAT then shows what the gateway has).\n";
  }
}

}  // namespace

std::string AnswerGatewayVmat(mail::GatewayVmatService& gateway, const ServerFacts& facts,
                              std::string_view user, const CommandLine& line) {
  std::optional<mail::VmatOwnOp> op;
  std::string name;
  if (line.args_ok && line.args.size() <= 2) {
    const bool none = line.args.empty();
    if ((none || AsciiEqualsIgnoreCase(line.args[0], "SHOW")) && line.args.size() <= 1) {
      op = mail::VmatOwnOp::kShow;
    } else if (AsciiEqualsIgnoreCase(line.args[0], "ON")) {
      op = mail::VmatOwnOp::kOn;
      name = AsciiLower(line.args.size() == 2 ? std::string_view(line.args[1]) : user);
    } else if (AsciiEqualsIgnoreCase(line.args[0], "OFF") && line.args.size() == 1) {
      op = mail::VmatOwnOp::kOff;
    }
  }
  if (!op) return GatewayUsage(facts);
  if (*op == mail::VmatOwnOp::kOn && !mail::ValidVmatAlias(name)) {
    return "The name " + name + " cannot be an Internet address.\n\n" + GatewayUsage(facts);
  }
  Result<std::string> address = gateway.AskGateway(*op, user, name);
  if (!address.ok()) return GatewayRefusal(address.error().code, name);
  switch (*op) {
    case mail::VmatOwnOp::kShow:
    case mail::VmatOwnOp::kOn:
      return "Your Internet address: " + *address +
             "\n"
             "Mail sent to it from the Internet comes into this mailbox, and mail you\n"
             "send to Internet addresses leaves from it. VMAT OFF removes it.\n";
    case mail::VmatOwnOp::kOff:
      return "Your Internet address " + *address +
             " is removed: mail to it is refused\n"
             "from now on.\n";
  }
  return GatewayUsage(facts);
}

}  // namespace onionmail::bot
