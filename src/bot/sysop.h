// bot sysop commands: the server@ bot's VOUCHER command (bot/bot.h), which
// only the operator's sysop user ([bot] sysop) reaches: new registration
// vouchers (mail/registration.h) in the answer, so that an operator can hand
// out accounts from a mail client, without a shell on the server.
//
// Contract:
//  - AnswerVoucher(): `line` is a kVoucher command line. No argument is one
//    voucher; one argument of decimal digits 1..mail::kMaxIssuedVouchers is
//    that many; anything else (more words, 0, too many, not a number,
//    refused arguments) gets the usage text and no call. Otherwise one
//    vouchers.Issue(n): on success the answer lists the vouchers one a line
//    (indented by two spaces) and says how they are used (RQUS on POP3,
//    one account each, once), that they are secrets to hand over privately,
//    whether registration is on (ServerFacts::registration), and how to
//    withdraw them (`onionmailctl voucher clear`). kPermissionDenied (past
//    the session's limit, or the key role does not take this user for the
//    sysop) says that nothing was made; any other error is returned.
//  - The vouchers are copied into the returned text only (reserved at its
//    full size first, so no growing copy is left behind); the SecretBytes
//    they came in are wiped when this returns. Bot::Answer wipes the text
//    once the reply is composed, the SMTP session the reply once stored.
#pragma once

#include <string>

#include "base/result.h"
#include "bot/bot.h"
#include "bot/request.h"
#include "mail/registration.h"

namespace onionmail::bot {

Result<std::string> AnswerVoucher(mail::VoucherService& vouchers, const ServerFacts& facts,
                                  const CommandLine& line);

}  // namespace onionmail::bot
