// ipc/codec_relay.h: wire fields of the relay messages (RelayBeginRequest ...
// RelayReply in ipc/messages.h), split from ipc/codec.cc. Internal to the ipc
// library; ipc/codec.cc finds these overloads for the relay message types.
// Same rules as every other message (ipc/codec.h); in addition a RelayReply
// with status kOk has a code in 200..599 and an enhanced code that is empty
// or RFC 3463 "c.s.d" (c the code's first digit, s and d 1..3 digits), and
// one with any other status has code 0 and no enhanced code. Both sides
// refuse anything else.
#pragma once

#include <string_view>

#include "ipc/messages.h"
#include "ipc/wire_io.h"

namespace onionmail::ipc::internal {

// The RelayReply rule above, for the codec and its tests.
bool ValidRelayReply(Status status, uint16_t code, std::string_view enhanced);

void Put(Writer& w, const RelayBeginRequest& m);
void Put(Writer& w, const RelayRcptRequest& m);
void Put(Writer& w, const RelayDataRequest& m);
void Put(Writer& w, const RelayAppendRequest& m);
void Put(Writer& w, const RelayEndRequest& m);
void Put(Writer& w, const RelayReply& m);
bool Get(Reader& r, RelayBeginRequest& m);
bool Get(Reader& r, RelayRcptRequest& m);
bool Get(Reader& r, RelayDataRequest& m);
bool Get(Reader& r, RelayAppendRequest& m);
bool Get(Reader& r, RelayEndRequest& m);
bool Get(Reader& r, RelayReply& m);

// TKIM messages (ServerKeyRequest ... TkimCheckReply, TkimVouchRequest ...
// TkimProvenRequest): a reply with a status other than kOk carries empty
// fields (TkimVouchReply: no vouch); a vouch is exactly kTkimVouchBytes
// (TkimCheckReply: or empty).
void Put(Writer& w, const ServerKeyRequest& m);
void Put(Writer& w, const ServerKeyReply& m);
void Put(Writer& w, const TkimProofRequest& m);
void Put(Writer& w, const TkimProofReply& m);
void Put(Writer& w, const TkimCheckRequest& m);
void Put(Writer& w, const TkimCheckReply& m);
bool Get(Reader& r, ServerKeyRequest& m);
bool Get(Reader& r, ServerKeyReply& m);
bool Get(Reader& r, TkimProofRequest& m);
bool Get(Reader& r, TkimProofReply& m);
bool Get(Reader& r, TkimCheckRequest& m);
bool Get(Reader& r, TkimCheckReply& m);
void Put(Writer& w, const TkimVouchRequest& m);
void Put(Writer& w, const TkimVouchReply& m);
void Put(Writer& w, const TkimProvenRequest& m);
bool Get(Reader& r, TkimVouchRequest& m);
bool Get(Reader& r, TkimVouchReply& m);
bool Get(Reader& r, TkimProvenRequest& m);

// Block-list messages (the server@ bot's SPAM commands): op 0..3; a reply with
// a status other than kOk carries no entries.
void Put(Writer& w, const BlockListRequest& m);
void Put(Writer& w, const BlockListReply& m);
bool Get(Reader& r, BlockListRequest& m);
bool Get(Reader& r, BlockListReply& m);

// Mailing-list messages (the server@ bot's LIST commands, RCPT to a list): op
// 0..mail::kMaxListOp; a reply with a status other than kOk carries no owner
// and no members; one with kOk carries either neither (a destroyed list) or
// an owner that is among its members.
bool ValidListReply(const ListReply& m);
void Put(Writer& w, const ListRequest& m);
void Put(Writer& w, const ListReply& m);
bool Get(Reader& r, ListRequest& m);
bool Get(Reader& r, ListReply& m);

}  // namespace onionmail::ipc::internal
