// The relay role's two sides of TKIM (docs/PROTOCOL.md, "TKIM"):
//
//  - SendTkimProof(): after a relay connection is open, if the remote offers
//    TKIM and options.tkim_proof is set, gets a proof for the connection's
//    channel binding from the key role and sends `TKIM <proof>`. The remote's
//    answer is only logged: whatever it is, the transaction goes on (the
//    remote decides what an unproven sender may do). Returns an Error only
//    when the connection broke (the caller drops the transaction).
//  - CheckTkim(): for the SMTP front end, checks a client's proof
//    (unseal::CheckTkimRequest against options.own_domain, this server's
//    mail domain, and the clock), requires the sender to be a v3 onion, then ties
//    the signing key to that onion: the key `TKIM KEY` returns on
//    "<sender>:<remote_port>" through options.socks5_proxy must hash to the
//    proof's key id. Answers are remembered per onion for kTkimKeyCacheTtl
//    (at most kTkimKeyCacheEntries onions; the oldest entry goes first); a
//    proof with another key than the remembered one asks the onion again, so
//    a server that changed its key is not refused for an hour.
//    With kOk, the key role's vouch for the sender (options.tkim_vouch;
//    without one, or if it fails, logged, no vouch: the sender is proven
//    all the same, but the key role will not let the session act for its
//    users on mailing lists).
//    Reply status: kOk with the sender domain; kInvalidArgument malformed or
//    not a v3 onion; kUnauthenticated signature, receiver, time, a remote
//    without TKIM or another key; kUnavailable the onion did not answer.
//    One log line per check (outcome only, no domain).
//  - Thread-safe: sessions run on several threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include "base/result.h"
#include "ipc/messages.h"
#include "peer/mail_client.h"
#include "server/relay_session.h"

namespace onionmail::server {

inline constexpr std::chrono::seconds kTkimKeyCacheTtl{3600};
inline constexpr size_t kTkimKeyCacheEntries = 1024;

[[nodiscard]] Result<void> SendTkimProof(peer::MailClient& client, std::string_view receiver,
                                         const RelayOptions& options);

ipc::TkimCheckReply CheckTkim(const ipc::TkimCheckRequest& request, const RelayOptions& options);

// Tests: forget every remembered key.
void ClearTkimKeyCacheForTest();

}  // namespace onionmail::server
