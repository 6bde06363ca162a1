// The relay role's half of a VMAT alias asked of this server's exit gateway
// (mail/vmat.h, GatewayVmatService; docs/gateways.md, "Aliases for users of
// other servers"): server@ VMAT on a server with [relay] exit_gateway.
//
// Contract:
//  - AskGatewayVmat() opens a MailClient to "<exit_gateway>:<remote_port>"
//    through options.socks5_proxy (OnionClientOptions), sends this server's
//    TKIM proof for the connection (options.tkim_proof, signed by the key
//    role), then `VMAT ON <user> <alias>` | `VMAT SHOW <user>` | `VMAT OFF
//    <user>`, and QUIT. The answer is a VmatLookupReply: kOk with the
//    address of a `250` whose text is "<valid alias>@<domain>" (lower case),
//    else the status of the gateway's refusal: 550 5.1.1 kNotFound, 553 5.1.0
//    kAlreadyExists, 550 5.7.0 kFailedPrecondition, 553 5.1.3 or 501
//    kInvalidArgument, 550 5.7.1 or no TKIM/VMAT offered kPermissionDenied,
//    a refused proof or 530 kUnauthenticated, 452 kResourceExhausted; an
//    unreachable gateway, a broken connection, a 250 without a good address
//    or any other reply kUnavailable. No exit gateway, no proxy or no proof
//    signer in `options`: kInternal, nothing connected. kOn without an alias,
//    or an op out of range: kInvalidArgument, nothing connected.
//  - One log line per request, its outcome only: never a user, an alias, the
//    address or the gateway's name.
#pragma once

#include "ipc/messages.h"
#include "server/relay_session.h"

namespace onionmail::server {

ipc::VmatLookupReply AskGatewayVmat(const ipc::RelayVmatRequest& request,
                                    const RelayOptions& options);

}  // namespace onionmail::server
