#include "bot/spam_answers.h"

#include <optional>

#include "mail/block_list.h"

namespace onionmail::bot {
namespace {

constexpr char kWhatABlockDoes[] =
    "What a block does: mail to you from a blocked address, or from any\n"
    "address at a blocked @domain (not its subdomains), is refused when the\n"
    "sender's server gives this server the recipient (SMTP 550 5.7.1), so\n"
    "nothing from it reaches your mailbox. A block matches the envelope sender\n"
    "(MAIL FROM), which a sender can forge: it stops a persistent sender, not\n"
    "a determined one.\n";

// The entry as the body may show it: only its canonical form.
std::string Shown(std::string_view entry) {
  std::optional<std::string> canonical = mail::CanonicalBlockEntry(entry);
  if (!canonical || *canonical != entry) return "(an entry that is not valid)";
  return *canonical;
}

// "bob@example.onion" or "@spam.onion (every address at spam.onion)".
std::string Described(std::string_view entry) {
  std::string shown = Shown(entry);
  if (shown.size() > 1 && shown.front() == '@') {
    return shown + " (every address at " + shown.substr(1) + ")";
  }
  return shown;
}

}  // namespace

std::string SpamListText(std::span<const std::string> entries) {
  const std::string of = " of " + std::to_string(mail::kMaxBlockEntries) + " entries";
  std::string text;
  if (entries.empty()) {
    text = "Your block list is empty (0" + of + ").\n";
  } else {
    text = "Your block list holds " + std::to_string(entries.size()) + of + ":\n\n";
    for (const std::string& entry : entries) text += "  " + Shown(entry) + "\n";
  }
  return text + "\n" + kWhatABlockDoes;
}

std::string SpamAddedText(std::string_view entry, bool was_there,
                          std::span<const std::string> entries) {
  std::string text =
      Described(entry) + (was_there ? " was already on your block list; nothing changed.\n\n"
                                    : " was added to your block list.\n\n");
  return text + SpamListText(entries);
}

std::string SpamDeletedText(std::string_view entry, bool was_there,
                            std::span<const std::string> entries) {
  std::string text =
      Described(entry) + (was_there ? " was removed from your block list.\n\n"
                                    : " was not on your block list; nothing changed.\n\n");
  return text + SpamListText(entries);
}

std::string SpamClearedText(std::span<const std::string> entries) {
  return "Your block list was cleared.\n\n" + SpamListText(entries);
}

std::string SpamFullText(std::string_view entry) {
  const std::string max = std::to_string(mail::kMaxBlockEntries);
  return "Your block list is full: it holds " + max + " entries, the most it can hold, so\n" +
         Described(entry) +
         " was not added.\n"
         "\n"
         "Remove some entries first, one at a time with SPAM DEL <address> (the\n"
         "Subject SPAM LIST shows them) or all at once with SPAM CLEAR, then send\n"
         "SPAM ADD again.\n";
}

std::string SpamUsageText(const ServerFacts& facts) {
  return "The SPAM commands edit your block list: the senders whose mail this\n"
         "server refuses for you. Send a mail to server@" +
         facts.domain +
         "\n"
         "with one of these as the Subject:\n"
         "\n"
         "  SPAM LIST            show your block list (SPAM alone does too)\n"
         "  SPAM ADD <address>   block one sender,\n"
         "                       e.g. SPAM ADD bob@example.onion\n"
         "  SPAM ADD @<domain>   block every sender at a domain,\n"
         "                       e.g. SPAM ADD @spam.onion (*@spam.onion works too)\n"
         "  SPAM DEL <address>   unblock a sender or a domain,\n"
         "                       e.g. SPAM DEL bob@example.onion\n"
         "                       (SPAM DELETE and SPAM REMOVE work too)\n"
         "  SPAM CLEAR           remove every entry\n"
         "\n"
         "SET IS SPAM <address> works as SPAM ADD <address>. The words are not\n"
         "case-sensitive, addresses may be in angle brackets, and a list holds at\n"
         "most " +
         std::to_string(mail::kMaxBlockEntries) +
         " entries. Your mail was not one of these forms, so your list was\n"
         "not changed.\n"
         "\n" +
         kWhatABlockDoes;
}

std::string SpamDamagedText() {
  return "Your block list could not be read: its file on this server is damaged. Until\n"
         "it is replaced it blocks nothing, so mail from every sender reaches you.\n"
         "Send SPAM CLEAR to start a new, empty list, then add your entries again\n"
         "with SPAM ADD.\n";
}

}  // namespace onionmail::bot
