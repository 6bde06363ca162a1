// ipc/codec.h: the wire encoding of ipc::Message (ipc/messages.h).
//
// Frame: u32 BE length (of everything after it) || u16 BE type || u16 BE
// version || payload. Payload fields in declaration order: integers BE
// (u16 for enums, u32 for counts/indices, u64 for session ids and sizes),
// lists as u16 BE element count || elements, variable fields as u16 BE length ||
// bytes, key_id as 32 raw bytes.
//
// Contract:
//  - Decode accepts exactly one whole frame and returns kInvalidArgument for
//    anything else: frame over kMaxFrameBytes, length mismatch, unknown type,
//    wrong version, short or over-long fields, bad names, unknown enum values,
//    trailing bytes. The caller treats that as fatal (drop the peer / exit).
//  - Encoding is canonical: Decode(b) ok implies Encode(Decode(b)) == b.
//  - Encode applies the same bounds (a violation is a sender bug, reported as
//    kInvalidArgument) so nothing undecodable is ever sent.
//  - Secrets decode straight into SecretBytes. Encoded frames of messages that
//    carry secrets contain them in clear: EncodeInto() wipes the old contents
//    of `out` and never reallocates while writing; the caller wipes `out`
//    after use (ipc::Channel does, and wipes its receive buffer too).
//  - Registration (RegisterRequest, RegisterReply): the voucher is exactly
//    kVoucherBytes, and a kOk reply's two passwords exactly
//    kGeneratedPasswordBytes, of the voucher alphabet ("a".."z", "2".."7");
//    a reply with any other status carries no password. Both sides refuse
//    anything else. IssueVouchersRequest asks 1..kMaxIssuedVouchers; a kOk
//    IssueVouchersReply carries that many vouchers (1..kMaxIssuedVouchers,
//    each as RegisterRequest's), one with any other status none.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "ipc/messages.h"

namespace onionmail::ipc {

inline constexpr size_t kFrameHeaderBytes = 8;

// Replaces `out` with the frame for `msg` (old contents wiped first).
Result<void> EncodeInto(const Message& msg, std::vector<uint8_t>& out);
// Convenience for tests and tools; wipe the result if `msg` holds secrets.
Result<std::vector<uint8_t>> Encode(const Message& msg);

// Decodes one whole frame. Does not modify or wipe `frame`.
Result<Message> Decode(std::span<const uint8_t> frame);

}  // namespace onionmail::ipc
