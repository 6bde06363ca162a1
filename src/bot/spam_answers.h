// bot spam answers: the body text of the server@ bot's SPAM commands (the
// user's own block list, mail/block_list.h), with "\n" line endings like
// bot/answers.h.
//
// Contract:
//  - Every text names entries only in their canonical form: an `entry`
//    argument must come from mail::CanonicalBlockEntry(), and a listed entry
//    that is not canonical (CanonicalBlockEntry() would change it) is shown
//    as "(an entry that is not valid)", so nothing of a request reaches the
//    body but safe ASCII.
//  - SpamListText(): "Your block list is empty (0 of mail::kMaxBlockEntries entries)." or
//    "Your block list holds N of mail::kMaxBlockEntries entries:" and the entries, one a line
//    indented by two spaces, in the given order; then what a block does.
//  - SpamAddedText() / SpamDeletedText(): whether `entry` was added (or was
//    on the list already) / removed (or was not on the list), then
//    SpamListText(`entries`, the list after it).
//  - SpamClearedText(): that the list was cleared, then SpamListText().
//  - SpamFullText(): that `entry` was not added because the list holds its
//    mail::kMaxBlockEntries entries, and how to remove some.
//  - SpamUsageText(): the SPAM forms with examples and what a block does.
//  - SpamDamagedText(): that the list could not be read (it blocks nothing
//    meanwhile) and that SPAM CLEAR starts a new one.
//  - Every text but SpamFullText() and SpamDamagedText() ends with the explanation of a block:
//    mail from a blocked address, or any address at a blocked @domain, is
//    refused when the sender's server gives the recipient (SMTP 550 5.7.1);
//    it matches the envelope sender, which can be forged.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "bot/bot.h"

namespace onionmail::bot {

std::string SpamListText(std::span<const std::string> entries);
std::string SpamAddedText(std::string_view entry, bool was_there,
                          std::span<const std::string> entries);
std::string SpamDeletedText(std::string_view entry, bool was_there,
                            std::span<const std::string> entries);
std::string SpamClearedText(std::span<const std::string> entries);
std::string SpamFullText(std::string_view entry);
std::string SpamUsageText(const ServerFacts& facts);
std::string SpamDamagedText();

}  // namespace onionmail::bot
