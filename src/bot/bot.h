// bot::Bot: the server@ command bot (docs/PROTOCOL.md, "server@: the server's
// command bot"), a mail::BotService over fixed server facts.
//
// Contract:
//  - The command is the request's Subject (unfolded; leading "Re:" prefixes,
//    any case, and surrounding blanks removed), its first word matched
//    without regard to case: HELP, RULEZ (alias RULES), IDENT, CONFIG (alias
//    LIMITS), with a `block_list` service SPAM (and "SET IS SPAM"), and with
//    a `lists` service LIST. An empty subject is HELP; any other word (SPAM
//    or LIST too without its service) gets the HELP text under the keyword
//    "unknown". HELP lists SPAM and LIST only when there is their service.
//    The request's body is not read; the words after the
//    command are read as bot/request.h's ParseCommandLine() bounds them.
//  - A request marked automatic (an Auto-Submitted header other than "no",
//    RFC 3834, or a Content-Type of multipart/report) gets keyword "ignored"
//    and an empty message: the bot never answers a machine.
//  - IDENT reports the server's domain, software, the SHA-256 fingerprint
//    of the server key (the DER SubjectPublicKeyInfo that `TKIM KEY` gives),
//    fetched through `server_key` only for IDENT (an error fails Answer();
//    no source or an empty key is kInternal), and which federation services
//    this server offers.
//  - SPAM (keyword "SPAM") shows and edits the block list of the user
//    logged in on the session through `block_list` (the service knows the
//    user; `user` is not passed to it): SPAM [LIST], SPAM ADD <entry> (and
//    SET IS SPAM <entry>), SPAM DEL|DELETE|REMOVE <entry>, SPAM CLEAR, with
//    bot/spam.h's calls and answers. A malformed form, or one the service
//    calls kInvalidArgument, gets the SPAM usage text; a full list
//    (kResourceExhausted) says so; any other service error fails Answer().
//    The body names entries only in their canonical form.
//  - LIST (keyword "LIST") manages mailing lists (mail/mailing_list.h)
//    through `lists`, for the user logged in on the session (the service
//    knows the user; `user` only shapes the answer): LIST <name> CREATE,
//    ADD|INVITE <user>, REMOVE|DEL|DELETE <user>, LEAVE|UNSUBSCRIBE,
//    MEMBERS|SHOW|LIST, DESTROY, with bot/lists.h's parsing and one Apply()
//    call (never kPost). LIST alone or a malformed form gets the LIST usage
//    text without a call, as does a form the service calls kInvalidArgument.
//    After
//    a success the answer shows the list (address, owner, members, how to
//    post and leave) to a member, after DESTROY that it is gone; the
//    service's refusals (no such list, not allowed, taken, no such user, the
//    owner cannot leave, full, damaged) are answered as
//    bot/list_answers.h says; any other service error fails Answer().
//  - VOUCHER [n] (keyword "VOUCHER"), only for the user named by
//    ServerFacts::sysop and with a `vouchers` service (for anyone else it
//    is an unknown command, and HELP does not list it): n (1..
//    mail::kMaxIssuedVouchers, default 1) new registration vouchers through
//    one Issue(n) call, shown one a line with how to use them (bot/sysop.h);
//    a malformed form gets the usage text without a call, a refusal of the
//    service (kPermissionDenied: past the session's limit) says so; any
//    other service error fails Answer().
//  - VMAT [ON|OFF|SHOW] (keyword "VMAT"), only on a gateway
//    (ServerFacts::exit_domain) with a `vmat` service (otherwise an unknown
//    command, not in HELP): the user's own Internet address
//    <user>@<exit domain> through one Own() call (bot/vmat.h); a malformed
//    form gets the usage text without a call; the service's refusals are
//    answered; any other service error fails Answer(). On a server that
//    is not a gateway but has ServerFacts::exit_gateway and a
//    `gateway_vmat` service, VMAT [SHOW], VMAT ON [name], VMAT OFF ask that
//    gateway instead (one AskGateway() call; bot/vmat.h AnswerGatewayVmat).
//    VMAT always answers: a failure to reach the gateway is a text.
//  - CONFIG reports ServerFacts limits; RULEZ the operator's rules text
//    (ServerFacts::rules) or, when empty, a fixed text saying the operator
//    published none.
//  - The reply: From server@<domain>, To <user>@<domain>, Subject "Re: " and
//    the request's subject without its "Re:" prefixes, reduced to printable
//    ASCII (at most 200 octets; "HELP" when nothing is left), Date, a new
//    Message-ID at <domain>, In-Reply-To and References with the
//    request's Message-ID when it is a well-formed msg-id, Auto-Submitted:
//    auto-replied, MIME-Version 1.0, text/plain; charset=utf-8, 8bit. Lines
//    end in CRLF and none exceeds 998 octets (longer rules lines are split).
//    Nothing else of the request (no header, no body) is copied. A `user`
//    that is not a plain local part is kInvalidArgument, a domain that is not
//    a host name kInternal: both go into header fields.
//  - AnswerRemote() (mail/bot.h): with a `lists` service, a non-automatic
//    request whose command is a well-formed "LIST <name> LEAVE" (bot/lists.h)
//    is one Apply(kLeave, name, member) (keyword "LIST LEAVE"): success,
//    kNotFound and kPermissionDenied (no such list, not a member) are kLeft;
//    any other error fails. Anything else is kRefused (keyword "refused"),
//    an automatic request kIgnored; `member` not a valid remote member is
//    kInvalidArgument.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "mail/block_list.h"
#include "mail/bot.h"
#include "mail/mailing_list.h"
#include "mail/registration.h"
#include "mail/vmat.h"

namespace onionmail::bot {

struct ServerFacts {
  std::string domain;    // this server's onion, lower case
  std::string software;  // e.g. "onionmaild 0.1.0"
  uint64_t max_message_bytes = 0;
  uint32_t max_recipients = 0;
  uint32_t max_remote_servers = 0;   // other onion servers one message reaches (with relay)
  uint64_t mailbox_quota_bytes = 0;  // 0: no quota
  bool relay_enabled = false;        // mail to other onion servers
  bool require_tkim = false;         // onion senders must prove their server
  bool torm_served = false;          // TORM: unseal shares for peers
  std::string rules;                 // operator text; UTF-8; may be empty
  std::string sysop;                 // [bot] sysop: the user VOUCHER serves; empty: none
  bool registration = false;         // [pop3] registration: RQUS takes vouchers
  std::string exit_domain;           // [exit] domain: VMAT is served; empty: not a gateway
  bool exit_sends = false;           // [exit] smarthost: users' mail leaves for the Internet
  std::string exit_gateway;          // [relay] exit_gateway: VMAT asks it; empty: none
};

// The server key as DER SubjectPublicKeyInfo.
using ServerKeySource = std::function<Result<std::vector<uint8_t>>()>;
using Clock = std::function<std::time_t()>;

class Bot : public mail::BotService {
 public:
  // `block_list`, `lists` and `vouchers`, when given, must outlive the Bot.
  Bot(ServerFacts facts, ServerKeySource server_key, Clock clock = nullptr,
      mail::BlockListService* block_list = nullptr, mail::ListService* lists = nullptr,
      mail::VoucherService* vouchers = nullptr, mail::VmatService* vmat = nullptr,
      mail::GatewayVmatService* gateway_vmat = nullptr);
  Result<mail::BotAnswer> Answer(std::string_view user, std::string_view request) override;
  Result<mail::RemoteBotAnswer> AnswerRemote(std::string_view member,
                                             std::string_view request) override;

 private:
  ServerFacts facts_;
  ServerKeySource server_key_;
  Clock clock_;
  mail::BlockListService* block_list_;      // not owned; may be null
  mail::ListService* lists_;                // not owned; may be null
  mail::VoucherService* vouchers_;          // not owned; may be null
  mail::VmatService* vmat_;                 // not owned; may be null
  mail::GatewayVmatService* gateway_vmat_;  // not owned; may be null
};

}  // namespace onionmail::bot
