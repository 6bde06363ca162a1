// bot answers: the body text of each server@ command (bot/bot.h), plain
// English for a mail user, with "\n" line endings (ComposeReply makes them
// CRLF and splits long lines).
//
// Contract:
//  - HelpText(): what the bot is, how to use it (a mail to server@<domain>
//    with the command as the Subject; the answer comes into the sender's own
//    mailbox; only users of this server logged in with SMTP AUTH) and one line
//    per command; the SPAM commands only when `spam` (the bot has a block
//    list service), the LIST commands only when `lists` (it has a list
//    service), VOUCHER only when `sysop` (the sender is the sysop), VMAT
//    only when `vmat` (an enter gateway with a VMAT service).
//  - UnknownText(): a line saying the command was not understood, then
//    HelpText(). It never repeats the request's words.
//  - IdentText(): Server, Software, "Server key SHA-256" (`key_sha256_hex`),
//    the three federation services as yes/no and Date, one per line, then
//    how to use the fingerprint. The software string is reduced to printable
//    ASCII.
//  - ConfigText(): the message size limit (octets and MiB), recipients per
//    message and the mailbox quota ("none" when 0).
//  - RulezText(): ServerFacts::rules under a heading, or a fixed sentence when
//    the rules hold nothing but white space.
//  - KeySha256Hex(): 64 lower-case hex digits of SHA-256 over `der`; kInternal
//    when OpenSSL fails or `der` is empty (no key is not a fingerprint).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "bot/bot.h"

namespace onionmail::bot {

std::string HelpText(const ServerFacts& facts, bool spam, bool lists, bool sysop = false,
                     bool vmat = false);
std::string UnknownText(const ServerFacts& facts, bool spam, bool lists, bool sysop = false,
                        bool vmat = false);
std::string IdentText(const ServerFacts& facts, std::string_view key_sha256_hex,
                      std::string_view date);
std::string ConfigText(const ServerFacts& facts);
std::string RulezText(const ServerFacts& facts);

// "25.0 MiB": octets in MiB with one decimal, rounded, independent of the locale.
std::string MebibyteFigure(uint64_t octets);

Result<std::string> KeySha256Hex(std::span<const uint8_t> der);

}  // namespace onionmail::bot
