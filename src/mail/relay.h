// The interface the SMTP front end uses to relay a message to another onion
// server, synchronously (docs/federation.md): each client command of a
// relayed transaction is forwarded as it arrives and the remote's answer is
// the client's answer. The front end holds no socket: the implementation
// behind this interface lives in the relay role (reached over IPC); tests use
// a fake.
//
// Contract:
//  - Begin() opens one connection to `domain` (a v3 onion name, lower case,
//    checked by the caller) and sends MAIL FROM with `reverse_path` (the
//    authenticated local sender, "local@our.onion"; a list's address; or, to
//    a VMAT alias's onion, the client's reverse path, empty for the null
//    sender: docs/gateways.md) and the client's MAIL
//    parameters (MailParameters: SIZE= when declared, BODY=8BITMIME when the
//    client declared it; a remote that does not offer 8BITMIME then gets no
//    MAIL and the call fails with kPermissionDenied, RFC 6152 section 3).
//    It returns the remote's reply to MAIL and, only when that reply
//    is 2xx, a RemoteTransaction. Errors are transport failures the remote
//    never answered (see RelayFailure) and are not replies.
//  - A RemoteTransaction is one open mail transaction on that connection:
//    Rcpt() any number of times, then at most one Data(); after a 354,
//    Append() the message (the bytes the local store would get: CRLF line
//    endings, dot-unstuffed, the Received header first) and End(), whose
//    reply is the remote's answer to the final dot. Destroying a transaction
//    before End() drops the connection without a final dot, so the remote
//    keeps nothing.
//  - Finish() (optional, after the message and before End()) sends the final
//    dot without waiting for the answer, which End() then collects: a front
//    end relaying to several remote servers finishes them all first, so no
//    remote waits for its dot while another one answers (RFC 5321 section
//    4.5.3.2: a server may give up after 3 minutes without data). Without
//    Finish(), End() sends the dot and waits. An Error from Finish() means
//    the dot was not sent; the transaction is then unusable.
//  - A failed call (an Error) leaves the transaction unusable: the front end
//    answers the client with the RelayFailure's reply and forgets it.
//  - RelayReply carries the remote's code and enhanced code only; its text
//    never reaches the client (smtp/reply.h words the answer).
//  - OpenAll() (a mailing list's post, opened at the list's RCPT): for each
//    RelayOpening, Begin() and, when it gives a transaction, Rcpt() of each
//    forward path in order, stopping after the first failed call. The
//    results come in the order of `servers`. The default runs them one
//    after the other; an implementation may run them at once (the IPC one
//    does: a server that is slow to reach then delays the post by its own
//    wait, not by the sum of all).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace onionmail::mail {

struct RelayReply {
  int code = 0;          // 200..599, as the remote sent it
  std::string enhanced;  // "2.1.5"; empty when the remote sent none
};

// How a failed relay call maps to the client's reply (docs/federation.md,
// "Replies passed back"), from the Error's code:
//  - kUnavailable / kDeadlineExceeded while connecting: 451 4.4.1 unreachable
//  - kFailedPrecondition while connecting (no STARTTLS, no TLS 1.3): 451 4.7.5
//  - kPermissionDenied while connecting (an 8-bit body for a remote without
//    8BITMIME): 550 5.6.3
//  - anything during a transaction (closed, malformed reply, timeout): 451 4.4.2
//  - kResourceExhausted (too many relayed transactions at once): 451 4.3.2
//  - kInvalidArgument (a path or body the client should not have sent): 501 5.5.4

class RemoteTransaction {
 public:
  virtual ~RemoteTransaction() = default;
  // `forward_path`: "local@domain", domain == the one given to Begin().
  [[nodiscard]] virtual Result<RelayReply> Rcpt(std::string_view forward_path) = 0;
  // Only after at least one 2xx to Rcpt(); the remote's reply (354 = go on).
  [[nodiscard]] virtual Result<RelayReply> Data() = 0;
  [[nodiscard]] virtual Result<void> Append(std::span<const uint8_t> bytes) = 0;
  // Sends the final dot; End() gets the answer. The default sends nothing
  // (End() then does both).
  [[nodiscard]] virtual Result<void> Finish() { return Ok(); }
  // The remote's answer to the final dot: 250 means the remote has it.
  [[nodiscard]] virtual Result<RelayReply> End() = 0;
};

struct RelayBegin {
  RelayReply mail_reply;                           // the remote's answer to MAIL FROM
  std::unique_ptr<RemoteTransaction> transaction;  // set only when mail_reply is 2xx
};

// The client's MAIL FROM parameters that travel to the remote.
struct MailParameters {
  uint64_t declared_size = 0;  // SIZE=; 0: none declared
  bool body_8bitmime = false;  // BODY=8BITMIME
};

// One remote server of a list post, and what became of it.
struct RelayOpening {
  std::string domain;                      // as for Begin()
  std::vector<std::string> forward_paths;  // at that domain
};
struct RelayOpened {
  Result<RelayBegin> begun;
  std::vector<Result<RelayReply>> rcpts;  // one per forward path tried, in order
};

class RelayBackend {
 public:
  virtual ~RelayBackend() = default;
  [[nodiscard]] virtual Result<RelayBegin> Begin(std::string_view domain,
                                                 std::string_view reverse_path,
                                                 const MailParameters& params) = 0;
  [[nodiscard]] virtual std::vector<RelayOpened> OpenAll(std::span<const RelayOpening> servers,
                                                         std::string_view reverse_path,
                                                         const MailParameters& params);
};

// OpenAll()'s work for one server, through `backend`.
RelayOpened OpenOne(RelayBackend& backend, const RelayOpening& server,
                    std::string_view reverse_path, const MailParameters& params);

// The domain RelayBackend::Begin() is given for the exit gateway's
// smarthost (docs/gateways.md, "The exit direction"): the relay role
// connects to the address its configuration names ([exit] smarthost), never
// to one the front end sends. A reserved name (RFC 2606), no v3 onion.
inline constexpr std::string_view kSmarthostDomain = "smarthost.invalid";

// True for a v3 onion name (Tor's rend-spec-v3, "Encoding onion addresses"):
// 56 characters of [a-z2-7] then ".onion", lower case only (the caller
// lower-cases first), which decode to pubkey(32) || checksum(2) || version(1)
// with version 3 and checksum = SHA3-256(".onion checksum" || pubkey ||
// version)[0..2]. The public key is not checked to be a valid ed25519 point.
bool IsV3OnionDomain(std::string_view domain);

}  // namespace onionmail::mail
