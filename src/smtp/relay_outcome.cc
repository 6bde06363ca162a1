#include "smtp/relay_outcome.h"

namespace onionmail::smtp {

// A failed relay call's reply. `connecting`: the call was Begin().
Reply RelayFailureReply(ErrorCode code, bool connecting) {
  switch (code) {
    case ErrorCode::kResourceExhausted:
      return Reply::kRelayBusy;
    case ErrorCode::kInvalidArgument:
      return Reply::kSyntaxError;
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
      return connecting ? Reply::kRemoteUnreachable : Reply::kRemoteFailed;
    case ErrorCode::kFailedPrecondition:
      return connecting ? Reply::kRemoteNoTls : Reply::kRemoteFailed;
    case ErrorCode::kPermissionDenied:
      // During a transaction only the exit rule refuses so
      // (mail/exit_transaction.h).
      return connecting ? Reply::kRemoteNo8Bit : Reply::kExitRefused;
    default:
      return Reply::kRemoteFailed;
  }
}

// The log keyword of a relay failure reply (no remote text, no names).
std::string FailureKeyword(Reply reply) {
  switch (reply) {
    case Reply::kRelayBusy:
      return "busy";
    case Reply::kSyntaxError:
      return "invalid argument";
    case Reply::kRemoteUnreachable:
      return "unreachable";
    case Reply::kRemoteNoTls:
      return "no TLS 1.3";
    case Reply::kRemoteNo8Bit:
      return "no 8BITMIME";
    case Reply::kExitRefused:
      return "refused by the exit header rule";
    default:
      return "connection failed";
  }
}

// "relayed", "relay refused" or "relay deferred" with the code sent back.
std::string OutcomeByClass(int code) {
  if (IsSuccessCode(code)) return "relayed: " + std::to_string(code);
  return (code >= 500 ? "relay refused: " : "relay deferred: ") + std::to_string(code);
}

}  // namespace onionmail::smtp
