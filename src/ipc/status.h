// ipc/status.h: the two enums the IPC messages of ipc/messages.h share:
// which process a peer is (Role) and the outcome of a request (Status, kOk or
// one ErrorCode), with Status's mapping to and from ErrorCode. Both travel
// as u16; the codec (ipc/codec.h) refuses any other value.
#pragma once

#include <cstdint>

#include "base/result.h"

namespace onionmail::ipc {

// Which process a peer is (u16 on the wire; other values are malformed).
enum class Role : uint16_t {
  kSupervisor = 1,
  kKey = 2,
  kSmtp = 3,
  kPop3 = 4,
  kPeer = 5,   // onionmail-peer: outbound TORM client (unseal at boot, KCTL forwarding)
  kRelay = 6,  // onionmail-relay: outbound mail to other onion servers (docs/federation.md)
};

// Outcome of a request (u16 on the wire): kOk or one ErrorCode. Values past
// kRefused are malformed.
enum class Status : uint16_t {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kUnauthenticated,
  kPermissionDenied,
  kFailedPrecondition,
  kResourceExhausted,
  kDeadlineExceeded,
  kUnavailable,
  kDataLoss,
  kInternal,
  kSealed,
  kMailboxFull,
  kRefused,
};

inline Status StatusFromError(ErrorCode code) {
  return static_cast<Status>(static_cast<uint16_t>(code) + 1);
}
// kOk -> Ok(); anything else -> an Error with that code and `what` as message.
inline Result<void> StatusToResult(Status status, const char* what) {
  if (status == Status::kOk) return Ok();
  return MakeError(static_cast<ErrorCode>(static_cast<uint16_t>(status) - 1), what);
}

}  // namespace onionmail::ipc
