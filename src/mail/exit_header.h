// ExitHeader: what an exit gateway does to the header of a message an onion
// user sends to the Internet (docs/gateways.md, "The exit direction"), so
// that no field tells the Internet an onion address. A pure function on the
// header block; the SMTP front end of the gateway applies it before the
// message goes on to the smarthost.
//
// Contract of RewriteExitHeader(header, sender):
//  - `header` is the header block: lines ending in CRLF, optionally followed
//    by the empty line that ends it (kept), nothing after it, at most
//    kMaxExitHeaderBytes. A bare CR or LF, a first line that is a
//    continuation, a line that is neither a continuation nor `name:` (name:
//    printable ASCII but ':'), a missing final CRLF or a longer block is
//    kInvalidArgument.
//  - `sender.address` ("local@<v3 onion>") is the envelope sender the
//    gateway proved (TKIM); `sender.alias` ("alias@<exit domain>") its VMAT
//    address. Both lower case, each with one '@'; else kInvalidArgument.
//  - Trace fields (Received, Return-Path) are dropped: they name onion
//    servers. Every other field keeps its place and its folding.
//  - In every field, each occurrence of sender.address (any case; not part
//    of a longer local part or domain) becomes sender.alias. In Message-ID,
//    In-Reply-To, References and Resent-Message-ID, each occurrence of the
//    sender's onion domain then becomes the exit domain, so the ids the
//    sender's client made stay unique and threads hold.
//  - Then every field is checked: its name, and its unfolded value as it is,
//    with RFC 2047 encoded words decoded and with %XX escapes decoded, must
//    not contain ".onion" (any case). The first field that does is kPermissionDenied
//    "onion name in <field>": its name as RFC 5322/2045 spell it when it is
//    one of theirs, else "a field" (a field name is the sender's text).
//  - There must be exactly one From field, and it and any Sender field must
//    hold exactly one '@', in sender.alias: else kPermissionDenied ("From is
//    not the sender" / "Sender is not the sender"), so no one sends as
//    someone else through the gateway.
//  - Error messages name standard fields, never values or addresses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace onionmail::mail {

inline constexpr size_t kMaxExitHeaderBytes = 256 * 1024;

struct ExitSender {
  std::string address;  // "alice@<v3 onion>"
  std::string alias;    // "alice@mail.example.org"
  // The gateway's own trace field, "Received: by <exit domain> ...\r\n"
  // (RFC 5321 section 4.4), put before the rewritten header by
  // ExitTransaction; never names an onion. Empty: none.
  std::string trace;
};

[[nodiscard]] Result<std::string> RewriteExitHeader(std::string_view header,
                                                    const ExitSender& sender);

}  // namespace onionmail::mail
