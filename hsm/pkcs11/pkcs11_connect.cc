// Pkcs11Token's connection to its token: Open (module load, the token found
// by label, login, self-test), the one retry of a login the module failed
// before judging the PIN, reconnection after a device error or a fork. See
// pkcs11_token.h for the contract.
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "base/log.h"
#include "hsm/pkcs11/pkcs11_support.h"
#include "hsm/pkcs11/pkcs11_token.h"

namespace onionmail::hsm {
namespace {

constexpr char kLogComponent[] = "hsm.pkcs11";
constexpr size_t kTokenLabelSize = 32;  // CK_TOKEN_INFO.label, blank padded

}  // namespace

Result<std::unique_ptr<Token>> OpenPkcs11Token(const Pkcs11Options& options) {
  auto token = Pkcs11Token::Open(options);
  if (!token.ok()) return token.error();
  return std::unique_ptr<Token>(std::move(token).value());
}

Result<std::unique_ptr<Pkcs11Token>> Pkcs11Token::Open(const Pkcs11Options& options) {
  if (options.token_label.empty() || options.token_label.size() > kTokenLabelSize) {
    return MakeError(ErrorCode::kInvalidArgument, "PKCS#11 token label must be 1 to 32 bytes long");
  }
  struct stat st {};
  if (options.module_path.empty() || ::stat(options.module_path.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kNotFound, "PKCS#11 module " + options.module_path + " not found");
  }
  std::unique_ptr<Pkcs11Token> token(new Pkcs11Token(options));
  // Exactly this module: p11-kit's registry of modules is not consulted.
  token->module_ = p11_kit_module_load(options.module_path.c_str(), 0);
  if (token->module_ == nullptr) {
    const char* why = p11_kit_message();
    return MakeError(ErrorCode::kUnavailable, "cannot load PKCS#11 module " + options.module_path +
                                                  ": " + (why != nullptr ? why : "unknown error"));
  }
  std::lock_guard<std::mutex> lock(token->mu_);
  auto found = token->FindSlot();
  if (!found.ok() && found.error().code == ErrorCode::kNotFound && options.token_wait_ms > 0) {
    // Not listed (yet): a token that comes up late at boot, or a module that
    // could not read its token store this once. Only the listing is retried,
    // never a login, so no PIN attempt is spent.
    log::Warning(kLogComponent, found.error().message + "; looking again for up to " +
                                    std::to_string(options.token_wait_ms) + " ms");
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options.token_wait_ms);
    while (!found.ok() && found.error().code == ErrorCode::kNotFound &&
           std::chrono::steady_clock::now() < deadline) {
      token->Disconnect();  // C_Finalize: the next C_Initialize lists the tokens afresh
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      found = token->FindSlot();
    }
    if (found.ok()) log::Info(kLogComponent, "token " + options.token_label + " found");
  }
  if (!found.ok()) {
    token->Disconnect();
    return found.error();
  }
  auto connected = token->OpenSessionAndLogin();
  if (!connected.ok() && options.token_wait_ms > 0 && token->LoginMayBeRetried()) {
    // The module failed the login before judging the PIN (SoftHSM2 does so
    // when it finds its token file unreadable for a moment): once more on a
    // fresh C_Initialize, if the token then counts no failed PIN attempt.
    log::Warning(kLogComponent, connected.error().message + "; trying once more");
    token->Disconnect();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto again = token->FindSlot();
    if (again.ok() && token->PinAttemptCounted()) {
      again = MakeError(ErrorCode::kUnavailable,
                        connected.error().message + "; not tried again: token " +
                            options.token_label + " reports a failed PIN attempt");
    }
    connected = again.ok() ? token->OpenSessionAndLogin() : again;
    if (connected.ok()) log::Info(kLogComponent, "logged in to token " + options.token_label);
  }
  if (!connected.ok()) {
    token->Disconnect();
    return connected.error();
  }
  auto rsa = token->FindObject(CKO_PRIVATE_KEY, kPkcs11RsaLabel);
  if (!rsa.ok()) return rsa.error();
  if (rsa->has_value()) ONIONMAIL_RETURN_IF_ERROR(token->OaepSelfTestLocked());
  return token;
}

Pkcs11Token::~Pkcs11Token() {
  std::lock_guard<std::mutex> lock(mu_);
  Disconnect();
  if (module_ != nullptr) p11_kit_module_release(module_);
}

Result<void> Pkcs11Token::FindSlot() {
  if (!initialized_) {
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = module_->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      return MakeError(ErrorCode::kUnavailable, "C_Initialize of PKCS#11 module " +
                                                    options_.module_path +
                                                    " failed: " + pkcs11::CkrName(rv));
    }
    initialized_ = true;
    pid_ = ::getpid();
  }
  CK_ULONG count = 0;
  CK_RV rv = module_->C_GetSlotList(CK_TRUE, nullptr, &count);
  std::vector<CK_SLOT_ID> slots(count);
  if (rv == CKR_OK && count > 0) rv = module_->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return Fail("C_GetSlotList", rv);
  slots.resize(count);
  std::string padded = options_.token_label;
  padded.resize(kTokenLabelSize, ' ');
  bool found = false;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (module_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if (std::memcmp(info.label, padded.data(), kTokenLabelSize) == 0) {
      slot_ = slot;
      token_flags_ = info.flags;
      found = true;
      break;
    }
  }
  if (!found) {
    return MakeError(ErrorCode::kNotFound, "no PKCS#11 token labelled \"" + options_.token_label +
                                               "\" in module " + options_.module_path);
  }
  return Ok();
}

Result<void> Pkcs11Token::Connect() {
  ONIONMAIL_RETURN_IF_ERROR(FindSlot());
  return OpenSessionAndLogin();
}

Result<void> Pkcs11Token::OpenSessionAndLogin() {
  last_login_rv_ = CKR_OK;
  CK_RV rv = module_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                    &session_);
  if (rv != CKR_OK) return Fail("C_OpenSession", rv);
  {
    auto pin = pkcs11::ReadPinFile(options_.pin_file);
    if (!pin.ok()) return pin.error();
    std::span<uint8_t> raw = pin->Reveal(SecretAccess::Grant());
    rv = module_->C_Login(session_, CKU_USER, raw.data(), raw.size());
  }  // the PIN is wiped here
  if (rv == CKR_PIN_INCORRECT) {
    return MakeError(ErrorCode::kUnauthenticated, "wrong PIN for token " + options_.token_label);
  }
  if (rv == CKR_PIN_LOCKED) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "PIN of token " + options_.token_label + " is locked");
  }
  last_login_rv_ = rv;
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return Fail("C_Login", rv);
  connected_ = true;
  return Ok();
}

bool Pkcs11Token::LoginMayBeRetried() const {
  switch (last_login_rv_) {
    case CKR_GENERAL_ERROR:
    case CKR_FUNCTION_FAILED:
    case CKR_DEVICE_ERROR:
      return !PinAttemptCounted();
    default:
      return false;  // C_Login not reached, succeeded, or judged the PIN
  }
}

bool Pkcs11Token::PinAttemptCounted() const {
  return (token_flags_ & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)) !=
         0;
}

void Pkcs11Token::Disconnect() {
  if (module_ != nullptr && initialized_ && pid_ == ::getpid()) {
    if (session_ != CK_INVALID_HANDLE) module_->C_CloseSession(session_);
    module_->C_Finalize(nullptr);
  }
  // In a child after fork the parent's state is only dropped, not finalized:
  // the child calls C_Initialize again (p11-kit's documented rule).
  initialized_ = false;
  connected_ = false;
  session_ = CK_INVALID_HANDLE;
  hmac_key_ = 0;
  rsa_key_ = 0;
  tls_key_ = 0;
}

Result<void> Pkcs11Token::EnsureConnected() {
  if (initialized_ && pid_ != ::getpid()) Disconnect();  // forked since
  if (connected_) return Ok();
  if (pin_refused_.has_value()) return *pin_refused_;  // no second wrong PIN
  Disconnect();
  auto r = Connect();
  if (r.ok()) {
    log::Info(kLogComponent, "connected to token " + options_.token_label);
    return r;
  }
  Disconnect();
  if (r.error().code == ErrorCode::kUnauthenticated) {
    // The PIN worked at Open: the PIN file changed, or the token now locks
    // it. Each further call would spend one more of the token's attempts.
    pin_refused_ = MakeError(ErrorCode::kUnauthenticated,
                             r.error().message + "; not tried again until restart");
    log::Error(kLogComponent, pin_refused_->message);
    return *pin_refused_;
  }
  if (r.error().code == ErrorCode::kNotFound) {
    // The token was there when we started: it went away (unplugged).
    return MakeError(ErrorCode::kUnavailable, r.error().message);
  }
  return r;
}

Result<void> Pkcs11Token::ReinitializeAfterFork() {
  std::lock_guard<std::mutex> lock(mu_);
  Disconnect();
  return EnsureConnected();
}

}  // namespace onionmail::hsm
