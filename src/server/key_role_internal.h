// Internals shared by the key role's request handlers (key_service_role.cc,
// key_service_role_vmat.cc): an SMTP session's state and the small helpers
// both use. Not an interface: only those files include it.
//
// Contract:
//  - Reply() sends; false means the front end is gone (end the session).
//  - StatusOf() maps a result to the IPC status the front end gets.
//  - LogFault() logs the key store's reason for a server fault (a device
//    gone, a full disk, a damaged file: IsServerFault) and passes `r`
//    through; the front end learns only the error's code. Outcomes (a wrong
//    password, an unknown user, a sealed server) are not logged here.
//  - VouchedFor(): `member` ("local@domain") is at the onion that proved
//    itself by TKIM on the session, and the vouch has not expired.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "base/log.h"
#include "base/result.h"
#include "ipc/channel.h"
#include "ipc/messages.h"
#include "mail/backend.h"

namespace onionmail::server {

struct SmtpSessionState {
  // The user of the last successful VerifySmtpPassword on this session: the
  // only user whose block list the session may change, and the actor of its
  // mailing-list operations.
  std::optional<std::string> auth_user;
  // The onion server that proved itself by TKIM on this session (a vouch
  // that held, TkimProvenRequest), until tkim_expiry (Unix seconds): the
  // only server whose members the session may name in a ListRequest.
  std::optional<std::string> tkim_domain;
  uint64_t tkim_expiry = 0;
  uint32_t vouchers_issued = 0;  // to the sysop through server@ on this session
  std::unique_ptr<mail::MessageWriter> writer;
  Result<void> append_status = Ok();
  uint64_t bytes = 0;  // appended to the current message
};

namespace key_role {

inline bool Reply(ipc::Channel& ch, const ipc::Message& m) { return ch.Send(m).ok(); }

inline ipc::Status StatusOf(const Result<void>& r) {
  return r.ok() ? ipc::Status::kOk : ipc::StatusFromError(r.error().code);
}

inline bool IsServerFault(ErrorCode code) {
  switch (code) {
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kUnavailable:
    case ErrorCode::kDataLoss:
    case ErrorCode::kInternal:
      return true;
    default:
      return false;
  }
}

template <typename T>
const Result<T>& LogFault(const char* who, const char* what, const Result<T>& r) {
  if (!r.ok() && IsServerFault(r.error().code)) {
    log::Warning("key", std::string(what) + " for " + who +
                            " failed in the key store: " + r.error().message);
  }
  return r;
}

inline uint64_t NowSeconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

inline bool VouchedFor(const SmtpSessionState& s, std::string_view member) {
  const size_t at = member.rfind('@');
  return s.tkim_domain && at != std::string_view::npos &&
         AsciiLower(member.substr(at + 1)) == *s.tkim_domain && NowSeconds() < s.tkim_expiry;
}

}  // namespace key_role
}  // namespace onionmail::server
