// ipc/codec_peer.h: wire fields of the peer role's messages (UnsealPlan ...
// ForwardList in ipc/messages.h), split from ipc/codec.cc. Internal to the
// ipc library; ipc/codec.cc finds these overloads for the peer role's
// message types. Same rules as every other message (ipc/codec.h).
#pragma once

#include "ipc/messages.h"
#include "ipc/wire_io.h"

namespace onionmail::ipc::internal {

void Put(Writer& w, const UnsealPlanRequest& m);
void Put(Writer& w, const UnsealPlan& m);
void Put(Writer& w, const DerkPrepareRequest& m);
void Put(Writer& w, const DerkPrepareReply& m);
void Put(Writer& w, const DerkResultRequest& m);
void Put(Writer& w, const UnsealProgress& m);
void Put(Writer& w, const ForwardPollRequest& m);
void Put(Writer& w, const ForwardList& m);
bool Get(Reader& r, UnsealPlanRequest& m);
bool Get(Reader& r, UnsealPlan& m);
bool Get(Reader& r, DerkPrepareRequest& m);
bool Get(Reader& r, DerkPrepareReply& m);
bool Get(Reader& r, DerkResultRequest& m);
bool Get(Reader& r, UnsealProgress& m);
bool Get(Reader& r, ForwardPollRequest& m);
bool Get(Reader& r, ForwardList& m);

}  // namespace onionmail::ipc::internal
