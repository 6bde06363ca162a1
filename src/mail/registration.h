// Self-registration with vouchers (docs/PROTOCOL.md, "Registration: RQUS"):
// the operator hands out one-time vouchers (`onionmailctl voucher add`); a
// person with one opens an account over POP3 inside TLS with
// `RQUS <voucher> <name>` and gets the account's two generated passwords
// (SMTP send, POP3 read) once, in the reply. The original OnionMail's RQUS
// (captcha, daily quota, optional voucher) let anyone make accounts; here a
// voucher is required, so account creation, and its KDF and key-generation
// work, stay under the operator's control.
//
// Contract:
//  - A voucher is kVoucherChars characters of the RFC 4648 base32 alphabet in
//    lower case ("a".."z", "2".."7"; 100 bits), typed in any case;
//    CanonicalVoucher() lower-cases it and refuses anything else. A voucher
//    opens one account, once.
//  - ReservedUserName(): names no one may register (the server@ bot, list
//    addresses ending in ".list", and the role names of RFC 2142 and the
//    original's reserved list: postmaster, abuse, hostmaster, webmaster,
//    root, admin, administrator, sysop, mailer-daemon, nobody, noreply,
//    no-reply, onionmail, security, support, info). `onionmailctl user add`
//    may still make the role names other than server and *.list.
//  - RegistrationService::Register(): `voucher` canonical, `user` a valid
//    local part (mail::ValidLocalPart). Errors: kInvalidArgument (a reserved
//    or invalid name), kUnauthenticated (no such voucher, or used), and
//    kAlreadyExists (the name is taken; the voucher stays valid), kSealed,
//    anything else temporary (the voucher stays valid). The voucher is
//    checked before any name is looked at, so a caller without a voucher
//    learns nothing about which names exist. On success the voucher is used
//    up, the account exists durably, and the two passwords (generated,
//    kGeneratedPasswordChars characters each, of the voucher alphabet) are
//    returned in SecretBytes: they are nowhere else, never logged.
//  - VoucherService::Issue(): the server@ bot's VOUCHER command for the
//    operator's sysop user ([bot] sysop): `count` (1..kMaxIssuedVouchers)
//    new vouchers, canonical, durable when returned, for the user
//    authenticated on the session (the key role checks that it is the
//    sysop: kPermissionDenied otherwise, and past kMaxIssuedVouchers on one
//    session). kInvalidArgument for a count out of range; anything else
//    temporary.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::mail {

inline constexpr size_t kVoucherChars = 20;
inline constexpr size_t kGeneratedPasswordChars = 24;
inline constexpr size_t kMaxIssuedVouchers = 10;  // per VOUCHER command and per SMTP session

std::optional<std::string> CanonicalVoucher(std::string_view text);
bool ReservedUserName(std::string_view user);

struct Registration {
  SecretBytes smtp_password;
  SecretBytes pop3_password;
};

class RegistrationService {
 public:
  virtual ~RegistrationService() = default;
  virtual Result<Registration> Register(std::string_view voucher, std::string_view user) = 0;
};

class VoucherService {
 public:
  virtual ~VoucherService() = default;
  virtual Result<std::vector<SecretBytes>> Issue(size_t count) = 0;
};

}  // namespace onionmail::mail
