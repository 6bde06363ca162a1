// LocalKeyService: self-registration with vouchers (local_key_service.h,
// "Self-registration"; mail/registration.h).
#include <utility>

#include "base/log.h"
#include "crypto/random.h"
#include "keys/local_key_service.h"
#include "mail/backend.h"

namespace onionmail::keys {

namespace {

SecretBytes GeneratedPassword() {
  return crypto::RandomSymbols(crypto::kBase32LowerAlphabet, mail::kGeneratedPasswordChars);
}

}  // namespace

Result<mail::Registration> LocalKeyService::RegisterUser(std::string_view voucher,
                                                         std::string_view user) {
  // The voucher first: without one, nothing is learnt about any name.
  auto exists = vouchers_.Exists(voucher);  // false for a text that is no voucher
  if (!exists.ok()) return exists.error();
  if (!*exists) return MakeError(ErrorCode::kUnauthenticated, "no such voucher");
  if (!mail::ValidLocalPart(user) || mail::ReservedUserName(user)) {
    return MakeError(ErrorCode::kInvalidArgument, "this name cannot be registered");
  }
  auto taken = LookupUser(user);
  if (taken.ok()) return MakeError(ErrorCode::kAlreadyExists, "user exists");
  if (taken.error().code != ErrorCode::kNotFound) return taken.error();

  ONIONMAIL_RETURN_IF_ERROR(vouchers_.Claim(voucher));
  mail::Registration made{GeneratedPassword(), GeneratedPassword()};
  while (made.pop3_password.Equals(made.smtp_password)) made.pop3_password = GeneratedPassword();
  // CreateUser takes admin_mu_ and users.lock itself and checks the name
  // again under them: a registration or `user add` that took the name since
  // the look-up above gives kAlreadyExists here.
  auto created = CreateUser(user, made.smtp_password, made.pop3_password);
  if (!created.ok()) {
    auto restored = vouchers_.Restore(voucher);
    if (!restored.ok()) {
      log::Warning("key", "a voucher used for a registration that failed is lost: " +
                              restored.error().message);
    }
    return created.error();
  }
  log::Info("key", "an account was opened with a voucher");
  return made;
}

Result<std::vector<SecretBytes>> LocalKeyService::AddVouchers(size_t count) {
  return vouchers_.Add(count);
}

Result<size_t> LocalKeyService::CountVouchers() { return vouchers_.Count(); }

Result<void> LocalKeyService::ClearVouchers() {
  auto cleared = vouchers_.Clear();
  if (!cleared.ok()) return cleared.error();
  return Ok();
}

}  // namespace onionmail::keys
