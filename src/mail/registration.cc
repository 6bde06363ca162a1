// mail::CanonicalVoucher and mail::ReservedUserName (contract in
// mail/registration.h).
#include "mail/registration.h"

#include <array>

#include "mail/bot.h"
#include "mail/mailing_list.h"

namespace onionmail::mail {

std::optional<std::string> CanonicalVoucher(std::string_view text) {
  if (text.size() != kVoucherChars) return std::nullopt;
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return std::nullopt;
  }
  return out;
}

bool ReservedUserName(std::string_view user) {
  static constexpr std::array<std::string_view, 17> kReserved = {
      "postmaster",    "abuse",    "hostmaster",    "webmaster", "root",       "admin",
      "administrator", "sysop",    "mailer-daemon", "nobody",    "noreply",    "no-reply",
      "onionmail",     "security", "support",       "info",      kBotLocalPart};
  for (std::string_view r : kReserved) {
    if (user == r) return true;
  }
  // Every name ending in ".list", valid list address or not.
  return user.size() >= kListSuffix.size() &&
         user.substr(user.size() - kListSuffix.size()) == kListSuffix;
}

}  // namespace onionmail::mail
