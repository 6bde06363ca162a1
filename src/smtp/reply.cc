#include "smtp/reply.h"

#include <string>
#include <vector>

namespace onionmail::smtp {
namespace {

struct Entry {
  int code;
  const char* enhanced;  // "" = no enhanced status code
  bool names_host;       // text is preceded by the host name
  const char* text;
};

Entry Lookup(Reply reply) {
  switch (reply) {
    case Reply::kGreeting:
      return {220, "", true, "ESMTP onionmaild"};
    case Reply::kReadyForTls:
      return {220, "2.0.0", false, "Ready to start TLS"};
    case Reply::kBye:
      return {221, "2.0.0", true, "closing connection"};
    case Reply::kHelp:
      return {214, "2.0.0", false, "See RFC 5321"};
    case Reply::kAuthSuccess:
      return {235, "2.7.0", false, "Authentication successful"};
    case Reply::kOk:
      return {250, "2.0.0", false, "Ok"};
    case Reply::kSenderOk:
      return {250, "2.1.0", false, "Sender ok"};
    case Reply::kRecipientOk:
      return {250, "2.1.5", false, "Recipient ok"};
    case Reply::kQueued:
      return {250, "2.0.0", false, "Ok: queued"};
    case Reply::kBotAnswered:
      return {250, "2.0.0", false, "Answered: the reply is in your mailbox"};
    case Reply::kBotIgnored:
      return {250, "2.0.0", false, "Ignored: automatic messages get no answer"};
    case Reply::kListAccepted:
      return {250, "2.1.5", false, "List ok: its members who can take the message get it"};
    case Reply::kListHeld:
      return {250, "2.1.5", false,
              "List ok: a moderated list, the post is held for its owner's approval"};
    case Reply::kRelayedToAll:
      return {250, "2.0.0", false, "Ok: delivered to the remote servers"};
    case Reply::kRelayedPartly:
      return {250, "2.0.0", false,
              "Ok: delivered to some recipients; the others are listed in a report in your "
              "mailbox"};
    case Reply::kRelayedPartlyNoReport:
      return {250, "2.0.0", false,
              "Ok: delivered to some recipients only; the report on the others could not be "
              "stored"};
    case Reply::kBotListLeft:
      return {250, "2.0.0", false, "Ok: the address is not on that list any more"};
    case Reply::kListRelayedPartly:
      return {250, "2.0.0", false,
              "Ok: delivered to some recipients only; the servers of the others did not take "
              "it"};
    case Reply::kHelo:
      return {250, "", true, ""};
    case Reply::kCannotVrfy:
      return {252, "2.5.0", false,
              "Cannot VRFY user, but will accept message and attempt delivery"};
    case Reply::kAuthChallengeEmpty:
      return {334, "", false, ""};
    case Reply::kAuthChallengeUser:
      return {334, "", false, "VXNlcm5hbWU6"};
    case Reply::kAuthChallengePassword:
      return {334, "", false, "UGFzc3dvcmQ6"};
    case Reply::kStartData:
      return {354, "", false, "End data with <CR><LF>.<CR><LF>"};
    case Reply::kTimeout:
      return {421, "4.4.2", true, "Error: timeout exceeded"};
    case Reply::kTooManyAuthFailures:
      return {421, "4.7.0", true, "Error: too many failed authentication attempts, closing"};
    case Reply::kTooManyUnknownRcpts:
      return {421, "4.7.0", true, "Error: too many unknown recipients, closing"};
    case Reply::kLocalError:
      return {451, "4.3.0", false, "Local error in processing, try again later"};
    case Reply::kTooManyRecipients:
      return {452, "4.5.3", false, "Error: too many recipients"};
    case Reply::kOtherDestination:
      return {452, "4.5.3", false,
              "Too many recipients: this one takes a transaction of its own, send the others "
              "in another"};
    case Reply::kTooManyServers:
      return {452, "4.5.3", false,
              "Too many destination servers in one transaction, send the others in another"};
    case Reply::kRelayBusy:
      return {451, "4.3.2", false, "Too many relayed messages at once, try again later"};
    case Reply::kTkimBusy:
      return {451, "4.3.2", false, "Too many connections out at once, try again later"};
    case Reply::kTkimSenderUnreachable:
      return {451, "4.4.1", false, "Sender's server unreachable for its key, try again later"};
    case Reply::kRemoteUnreachable:
      return {451, "4.4.1", false, "Remote server unreachable, try again later"};
    case Reply::kRemoteFailed:
      return {451, "4.4.2", false, "Connection to the remote server failed, try again later"};
    case Reply::kRemoteNoTls:
      return {451, "4.7.5", false, "Remote server offers no STARTTLS with TLS 1.3, cannot relay"};
    case Reply::kInsufficientStorage:
      return {452, "4.3.1", false, "Insufficient system storage, try again later"};
    case Reply::kMailboxFull:
      return {452, "4.2.2", false, "Mailbox full, try again later"};
    case Reply::kListNoMemberCanTake:
      return {452, "4.2.2", false, "No member of the list can take the message now"};
    case Reply::kAuthTemporaryFailure:
      return {454, "4.7.0", false, "Temporary authentication failure, try again later"};
    case Reply::kUnknownCommand:
      return {500, "5.5.1", false, "Error: command not recognized"};
    case Reply::kLineTooLong:
      return {500, "5.5.2", false, "Error: line too long, closing connection"};
    case Reply::kNulInCommand:
      return {500, "5.5.2", false, "Error: NUL byte in command not allowed"};
    case Reply::kSyntaxError:
      return {501, "5.5.4", false, "Syntax error in parameters or arguments"};
    case Reply::kBadAddressSyntax:
      return {501, "5.1.3", false, "Bad recipient address syntax"};
    case Reply::kBadSenderSyntax:
      return {501, "5.1.7", false, "Bad sender address syntax"};
    case Reply::kBadBase64:
      return {501, "5.5.2", false, "Cannot decode base64 response"};
    case Reply::kAuthCancelled:
      return {501, "5.7.0", false, "Authentication cancelled"};
    case Reply::kNotImplemented:
      return {502, "5.5.1", false, "Command not implemented"};
    case Reply::kNoAuthFromInternet:
      return {502, "5.7.0", false,
              "No login from the Internet: connect through Tor to the onion address"};
    case Reply::kBadSequence:
      return {503, "5.5.1", false, "Bad sequence of commands"};
    case Reply::kNeedHelo:
      return {503, "5.5.1", false, "Error: send EHLO/HELO first"};
    case Reply::kNeedMail:
      return {503, "5.5.1", false, "Error: need MAIL command"};
    case Reply::kNeedRcpt:
      return {503, "5.5.1", false, "Error: need RCPT command"};
    case Reply::kNestedMail:
      return {503, "5.5.1", false, "Error: nested MAIL command"};
    case Reply::kAlreadyTls:
      return {503, "5.5.1", false, "Error: TLS already active"};
    case Reply::kAlreadyAuthenticated:
      return {503, "5.5.1", false, "Error: already authenticated"};
    case Reply::kAuthInTransaction:
      return {503, "5.5.1", false, "Error: AUTH not allowed during a mail transaction"};
    case Reply::kTkimInTransaction:
      return {503, "5.5.1", false, "Error: TKIM not allowed during a mail transaction"};
    case Reply::kTkimAlreadyProven:
      return {503, "5.5.1", false, "Error: a server is already proven in this session"};
    case Reply::kTkimNotOffered:
      return {502, "5.5.1", false, "TKIM not offered: TLS 1.3 required"};
    case Reply::kTkimMalformed:
      return {501, "5.5.4", false, "Malformed TKIM proof"};
    case Reply::kVmatSyntax:
      return {501, "5.5.4", false, "Syntax: VMAT ON <user> <alias> | SHOW <user> | OFF <user>"};
    case Reply::kVmatInTransaction:
      return {503, "5.5.1", false, "Error: VMAT not allowed during a mail transaction"};
    case Reply::kVmatNeedsTkim:
      return {530, "5.7.0", false, "VMAT needs a TKIM proof of the asking server first"};
    case Reply::kVmatNotListed:
      return {550, "5.7.1", false, "This gateway takes no aliases from users of that server"};
    case Reply::kVmatNoAlias:
      return {550, "5.1.1", false, "That user has no alias at this gateway"};
    case Reply::kVmatHasAnother:
      return {550, "5.7.0", false, "That user already has another alias at this gateway"};
    case Reply::kVmatTaken:
      return {553, "5.1.0", false, "That alias leads to another mailbox: choose another name"};
    case Reply::kVmatBadName:
      return {553, "5.1.3", false, "Not a valid alias (a-z 0-9 . _ -, not a reserved name)"};
    case Reply::kUnknownMechanism:
      return {504, "5.5.4", false, "Unrecognized authentication mechanism"};
    case Reply::kBareLineEnding:
      return {521, "5.5.2", false,
              "Error: bare LF/CR not allowed, lines must end with CRLF; closing connection"};
    case Reply::kSealed:
      return {451, "4.3.0", false, "Server sealed, waiting for its peers; try again later"};
    case Reply::kTlsRequired:
      return {530, "5.7.0", false, "Must issue a STARTTLS command first"};
    case Reply::kAuthRequired:
      return {530, "5.7.0", false, "Authentication required to send as a local address"};
    case Reply::kAuthFailed:
      return {535, "5.7.8", false, "Authentication credentials invalid"};
    case Reply::kTkimRefused:
      return {535, "5.7.8", false, "TKIM proof refused"};
    case Reply::kTkimRequired:
      return {550, "5.7.1", false, "Mail from an onion server needs a TKIM proof of that server"};
    case Reply::kTkimRequiredLater:
      return {451, "4.7.1", false,
              "The TKIM proof of the sender's server could not be checked, "
              "try again later"};
    case Reply::kTkimOtherOnion:
      return {550, "5.7.1", false,
              "Sender's onion is not the server proven by TKIM in this session"};
    case Reply::kSenderBlocked:
      return {550, "5.7.1", false, "The recipient does not accept mail from this sender"};
    case Reply::kBotRemoteLeaveOnly:
      return {550, "5.7.1", false,
              "server@ takes only LIST <name> LEAVE from users of other servers"};
    case Reply::kListOwnerPostsOnly:
      return {550, "5.7.1", false, "This list is an announce list: only its owner posts to it"};
    case Reply::kListMembersOnly:
      return {550, "5.7.1", false,
              "A list takes posts only from its members, logged in and sending as themselves"};
    case Reply::kBotUsersOnly:
      return {550, "5.7.1", false,
              "server@ answers only users of this server, logged in and sending as themselves"};
    case Reply::kRelayDenied:
      return {550, "5.7.1", false, "Relaying denied"};
    case Reply::kNoExitAddress:
      return {550, "5.7.1", false,
              "The sender has no Internet address at this gateway: ask its operator for one"};
    case Reply::kExitRefused:
      return {550, "5.7.1", false,
              "Not sent to the Internet: the header names an onion address, or From is not "
              "the sender"};
    case Reply::kRemoteNo8Bit:
      return {550, "5.6.3", false,
              "Remote server does not accept 8-bit mail (no 8BITMIME), send it as 7-bit MIME"};
    case Reply::kUserUnknown:
      return {550, "5.1.1", false, "User unknown"};
    case Reply::kMessageTooBig:
      return {552, "5.3.4", false, "Message size exceeds fixed limit"};
    case Reply::kSenderNotOwned:
      return {553, "5.7.1", false, "Sender address not owned by authenticated user"};
    case Reply::kNulInData:
      return {554, "5.6.0", false, "Message contains NUL bytes, rejected"};
    case Reply::kTooManyHops:
      return {554, "5.4.6", false, "Too many hops (Received headers): mail loop, rejected"};
    case Reply::kUnknownParameter:
      return {555, "5.5.4", false, "Unsupported MAIL/RCPT parameter"};
  }
  return {451, "4.3.0", false, "Local error"};  // unreachable with a valid enum
}

// How the remote's reply to one step of a relayed transaction reaches the
// client. Index by class: [0] 2xx, [1] 4xx, [2] 5xx; a default code of 0
// means the step cannot have that class.
struct RemoteRule {
  int passed[7];  // codes the client gets unchanged (0 = unused slot)
  int default_code[3];
  const char* text[3];
};

const RemoteRule& RuleFor(RemoteStep step) {
  static const RemoteRule kMail = {{451, 452, 550, 552},
                                   {0, 451, 550},
                                   {"", "Remote server refused the sender for now, try again later",
                                    "Remote server refused the sender"}};
  static const RemoteRule kRcpt = {{250, 450, 451, 452, 550, 552, 553},
                                   {250, 451, 550},
                                   {"Remote server accepted the recipient",
                                    "Remote server cannot take the recipient now, try again later",
                                    "Remote server refused the recipient"}};
  static const RemoteRule kData = {
      {450, 451, 452, 550, 552, 554},
      {0, 451, 554},
      {"", "Remote server cannot take the message now, try again later",
       "Remote server refused the message"}};
  static const RemoteRule kEnd = {{250, 450, 451, 452, 550, 552, 554},
                                  {250, 451, 554},
                                  {"Ok: delivered to the remote server",
                                   "Remote server did not take the message, try again later",
                                   "Remote server refused the message"}};
  switch (step) {
    case RemoteStep::kMail:
      return kMail;
    case RemoteStep::kRcpt:
      return kRcpt;
    case RemoteStep::kData:
      return kData;
    case RemoteStep::kEnd:
      break;
  }
  return kEnd;
}

// 0 for 2xx, 1 for 4xx, 2 for 5xx, -1 for anything else.
int ClassIndex(int code) {
  if (code >= 200 && code <= 299) return 0;
  if (code >= 400 && code <= 499) return 1;
  if (code >= 500 && code <= 599) return 2;
  return -1;
}

// RFC 3463: class "." subject "." detail, 1..3 digits each, class == `cls`.
bool IsEnhancedOfClass(std::string_view enhanced, char cls) {
  if (enhanced.size() < 5 || enhanced[0] != cls || enhanced[1] != '.') return false;
  size_t digits = 0;
  int dots = 0;
  for (char c : enhanced.substr(2)) {
    if (c == '.') {
      if (digits == 0 || ++dots > 1) return false;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return dots == 1 && digits > 0;
}

}  // namespace

bool IsUsableRemoteCode(RemoteStep step, int code) {
  int cls = ClassIndex(code);
  return cls >= 0 && RuleFor(step).default_code[cls] != 0;
}

std::string FormatRemoteReply(RemoteStep step, const mail::RelayReply& remote) {
  if (!IsUsableRemoteCode(step, remote.code)) return FormatReply(Reply::kRemoteFailed, "");
  const RemoteRule& rule = RuleFor(step);
  int cls = ClassIndex(remote.code);
  int code = rule.default_code[cls];
  for (int passed : rule.passed) {
    if (passed != 0 && passed == remote.code) code = passed;
  }
  std::string out = std::to_string(code);
  out += ' ';
  char class_digit = out[0];
  if (IsEnhancedOfClass(remote.enhanced, class_digit)) {
    out += remote.enhanced;
  } else {
    out += class_digit;
    out += ".0.0";
  }
  out += ' ';
  out += rule.text[cls];
  out += "\r\n";
  return out;
}

int ReplyCode(Reply reply) { return Lookup(reply).code; }

std::string FormatReply(Reply reply, std::string_view hostname) {
  Entry e = Lookup(reply);
  std::string out = std::to_string(e.code);
  std::string_view enhanced = e.enhanced;
  std::string_view text = e.text;
  if (!enhanced.empty()) {
    out += ' ';
    out += enhanced;
  }
  if (e.names_host) {
    out += ' ';
    out += hostname;
  }
  if (!text.empty() || (enhanced.empty() && !e.names_host)) {
    out += ' ';
    out += text;
  }
  out += "\r\n";
  return out;
}

std::string EhloReply(std::string_view hostname, uint64_t max_message_bytes, bool tls_active,
                      bool torm_offered, bool tkim_offered, bool auth_offered, bool vmat_offered) {
  std::vector<std::string> lines = {
      std::string(hostname), "PIPELINING", "SIZE " + std::to_string(max_message_bytes), "8BITMIME",
      "ENHANCEDSTATUSCODES",
  };
  if (!tls_active) lines.emplace_back("STARTTLS");
  if (tls_active && auth_offered) lines.emplace_back("AUTH PLAIN LOGIN");
  if (tls_active && torm_offered) lines.emplace_back("TORM");
  if (tls_active && tkim_offered) lines.emplace_back("TKIM");
  if (tls_active && tkim_offered && vmat_offered) lines.emplace_back("VMAT");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += (i + 1 == lines.size()) ? "250 " : "250-";
    out += lines[i];
    out += "\r\n";
  }
  return out;
}

std::string FormatTormReply(mail::TormOutcome outcome, std::string_view payload_base64) {
  using mail::TormOutcome;
  if (outcome == TormOutcome::kOk) return "250 2.0.0 " + std::string(payload_base64) + "\r\n";
  const char* prefix = "554 5.7.1";
  switch (outcome) {
    case TormOutcome::kRateLimited:
      prefix = "450 4.7.1";
      break;
    case TormOutcome::kTemporary:
      prefix = "451 4.3.0";
      break;
    case TormOutcome::kBadRequest:
      prefix = "501 5.5.4";
      break;
    case TormOutcome::kNotOffered:
      prefix = "502 5.5.1";
      break;
    default:
      break;
  }
  return std::string(prefix) + " TORM refused: " + std::string(mail::TormOutcomeKeyword(outcome)) +
         "\r\n";
}

std::string FormatTkimKeyReply(std::string_view key_base64) {
  return "250 2.0.0 " + std::string(key_base64) + "\r\n";
}

std::string FormatTkimAuthenticated(std::string_view domain) {
  return "250 2.7.0 Authenticated as " + std::string(domain) + "\r\n";
}

std::string FormatVmatAddress(std::string_view address) {
  return "250 2.0.0 " + std::string(address) + "\r\n";
}

}  // namespace onionmail::smtp
