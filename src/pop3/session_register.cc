// Session, the RQUS half (session.h, "RQUS"; docs/PROTOCOL.md, "Registration:
// RQUS"): opening an account with a voucher the operator handed out.
#include <chrono>
#include <string>
#include <thread>

#include "pop3/reply.h"
#include "pop3/session.h"

namespace onionmail::pop3 {

void Session::Rqus(const Command& command) {
  if (registration_ == nullptr) return Send(reply::kUnknownCommand);
  if (!conn_.IsTls()) return Send(reply::kTlsRequired);
  if (command.args.size() != 2) return Send(reply::kSyntaxError);
  if (registered_) return Send(reply::kRqusOnce);
  auto name = NormalizeUserName(command.args[1]);
  if (!name.has_value()) return Send(reply::kRqusInvalidName);
  // A voucher is a credential: a malformed one fails like a bad password.
  auto bad_voucher = [this] {
    ++auth_failures_;
    const bool too_many = auth_failures_ >= config_.max_auth_failures;
    Log(true, too_many ? "registration refused: unknown voucher; too many failures, closing"
                       : "registration refused: unknown voucher");
    if (config_.auth_failure_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.auth_failure_delay_ms));
    }
    if (too_many) {
      Send(reply::kRqusBadVoucherClosing);
      return Close();
    }
    Send(reply::kRqusBadVoucher);
  };
  auto voucher = mail::CanonicalVoucher(command.args[0]);
  if (!voucher.has_value()) return bad_voucher();
  auto registered = registration_->Register(*voucher, *name);
  WipeMemory(voucher->data(), voucher->size());
  if (!registered.ok()) {
    switch (registered.error().code) {
      case ErrorCode::kUnauthenticated:
        return bad_voucher();
      case ErrorCode::kInvalidArgument:
        Log(false, "registration refused: reserved name");
        return Send(reply::kRqusReserved);
      case ErrorCode::kAlreadyExists:
        Log(false, "registration refused: name taken");
        return Send(reply::kRqusTaken);
      case ErrorCode::kPermissionDenied:
        Log(true, "registration refused: no more attempts in this session, closing");
        Send(reply::kRqusRefused);
        return Close();
      case ErrorCode::kSealed:
        Log(true, "registration refused: server sealed");
        return Send(reply::kSealed);
      default:
        Log(true, std::string("registration failed: ") + ErrorCodeName(registered.error().code));
        return Send(reply::kRqusTempFailure);
    }
  }
  registered_ = true;
  const std::string& domain = config_.domain.empty() ? config_.hostname : config_.domain;
  std::string text = reply::Registered(
      *name + "@" + domain, registered->smtp_password.RevealString(SecretAccess::Grant()),
      registered->pop3_password.RevealString(SecretAccess::Grant()));
  Send(text);
  WipeMemory(text.data(), text.size());
  if (state_ != State::kClosed && !conn_.Flush().ok()) Close();
  conn_.WipeBuffers();
  Log(false, "registration ok");
}

}  // namespace onionmail::pop3
