// How the outcome of a relay call is worded for the client and for the log
// (session.h, "Relayed transaction"; mail/relay.h, "How a failed relay call
// maps to the client's reply"). Shared by the RCPT and the DATA halves of a
// relayed transaction (session_relay.cc, session_fanout.cc).
//
// Contract:
//  - RelayFailureReply(): the client's reply to a failed relay call from the
//    Error's code; `connecting` when the call was Begin().
//  - FailureKeyword(): the log keyword of such a reply (no remote text, no
//    names): "busy", "invalid argument", "unreachable", "no TLS 1.3",
//    "no 8BITMIME", "refused by the exit header rule" or "connection
//    failed".
//  - OutcomeByClass(): "relayed: C", "relay deferred: C" or
//    "relay refused: C" for the remote's code C.
#pragma once

#include <string>

#include "base/result.h"
#include "smtp/reply.h"

namespace onionmail::smtp {

Reply RelayFailureReply(ErrorCode code, bool connecting);
std::string FailureKeyword(Reply reply);
inline bool IsSuccessCode(int code) { return code >= 200 && code <= 299; }
std::string OutcomeByClass(int code);

}  // namespace onionmail::smtp
