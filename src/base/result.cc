// Names for ErrorCode values (for logs and tests).
#include "base/result.h"

namespace onionmail {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid-argument";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kAlreadyExists:
      return "already-exists";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kPermissionDenied:
      return "permission-denied";
    case ErrorCode::kFailedPrecondition:
      return "failed-precondition";
    case ErrorCode::kResourceExhausted:
      return "resource-exhausted";
    case ErrorCode::kDeadlineExceeded:
      return "deadline-exceeded";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kDataLoss:
      return "data-loss";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kSealed:
      return "sealed";
    case ErrorCode::kMailboxFull:
      return "mailbox-full";
    case ErrorCode::kRefused:
      return "refused";
  }
  return "unknown";
}

}  // namespace onionmail
