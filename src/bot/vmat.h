// bot VMAT command: on an enter gateway (docs/gateways.md), a user of this
// server shows, makes or removes their own Internet address,
// <user>@<exit domain>, the VMAT alias that is their name and leads to their
// mailbox here (mail/vmat.h, VmatService::Own).
//
// Contract:
//  - AnswerVmat(): `line` is a kVmat command line: VMAT (or VMAT SHOW), VMAT
//    ON, VMAT OFF, the word in any case; anything else gets the usage text
//    and no call. Otherwise one vmat.Own() call. The answer names the
//    address and says what it does now: kOk (on, off, or shown), kNotFound
//    (no address, or none to remove), kAlreadyExists (the operator gave
//    that address to another mailbox), kInvalidArgument (the user's name
//    cannot be an alias: a reserved name). Any other error is returned.
//  - AnswerGatewayVmat(): on a server with an exit gateway (not one itself),
//    `line` is VMAT (or VMAT SHOW), VMAT ON [name] (name: the user's own
//    name when absent; lower-cased), VMAT OFF; anything else gets the usage
//    text and no call, as does a name that is not mail::ValidVmatAlias
//    (said so). Otherwise one gateway.AskGateway() call; the answer names
//    the address the gateway gave, or says what its refusal means (each
//    error code of mail/vmat.h's AskGateway has its text). It never fails:
//    an unreachable gateway is a text too.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "bot/bot.h"
#include "bot/request.h"
#include "mail/vmat.h"

namespace onionmail::bot {

Result<std::string> AnswerVmat(mail::VmatService& vmat, const ServerFacts& facts,
                               std::string_view user, const CommandLine& line);

std::string AnswerGatewayVmat(mail::GatewayVmatService& gateway, const ServerFacts& facts,
                              std::string_view user, const CommandLine& line);

}  // namespace onionmail::bot
