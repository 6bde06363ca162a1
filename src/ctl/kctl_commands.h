// onionmailctl kctl: the operator's KCTL certificates (docs/unseal.md, docs/PROTOCOL.md
// "KCTL certificates"). Runs on the operator's machine: it needs neither a config file nor a
// state directory nor the key-store device, only the KCTL private key (PEM, from `enrol
// --kctl-out`) and, to deliver the certificate, network access to the peers.
//
//   onionmailctl kctl --key FILE --server-id HEX --action disable|enable|reset-credits|destroy
//                     --serial N [--credits N] [--valid-hours H]
//                     [--send HOST:PORT=PIN ...] [--socks5 HOST:PORT] [--out FILE]
//   onionmailctl kctl --key FILE --server-id HEX --action query
//                     [--send HOST:PORT=PIN ...] [--socks5 HOST:PORT] [--out FILE]
//   onionmailctl kctl --cert FILE --send HOST:PORT=PIN ... [--socks5 HOST:PORT]
//
// Contract:
//  - The first two forms build the certificate (ctl/unseal_args.h BuildKctlOrder: an order
//    has serial >= 1, a window of 1..720 hours starting 5 minutes ago, credits only for
//    reset-credits; a query has serial 0 and a 10-minute window starting 1 minute ago, and
//    refuses --serial, --credits and --valid-hours) and sign it with the key; --out writes it
//    (base64, one line, a new file) for delivery from another machine with the last form.
//    At least one of --send / --out is required.
//  - Each --send peer gets the certificate with TORM KCTL (TLS pinned to PIN); its outcome
//    is printed as one line: "peer ADDRESS: applied|already applied, disabled yes/no,
//    destroyed yes/no, credits left N, answered total N, last answer <UTC ISO 8601>|never"
//    (a query: the same without "applied|already applied, "), or "refused: <keyword>" /
//    "failed: <error>".
//  - [peer] socks5_proxy / timeout_seconds come from --config when one is given; --socks5
//    overrides the proxy. Without a proxy only numeric addresses are reachable.
//  - Exit status: 0 when every peer applied (or already had) the certificate, or answered the
//    query; 1 when any refused or could not be reached, or on a local failure; 2 for a usage
//    error.
#pragma once

#include "ctl/unseal_args.h"

namespace onionmail::ctl {

inline constexpr const char* kKctlUsage =
    "  kctl --key FILE --server-id HEX --action disable|enable|reset-credits|destroy\n"
    "       --serial N [--credits N] [--valid-hours H] [--send HOST:PORT=PIN ...]\n"
    "       [--socks5 HOST:PORT] [--out FILE]\n"
    "                                         sign a KCTL certificate with the KCTL key and\n"
    "                                         send it to the peers and/or write it to FILE;\n"
    "                                         needs no state (run it on the operator's machine)\n"
    "  kctl --key FILE --server-id HEX --action query [--send HOST:PORT=PIN ...]\n"
    "       [--socks5 HOST:PORT] [--out FILE]\n"
    "                                         ask the peers for their state and counters for\n"
    "                                         the server (valid 10 minutes; changes nothing)\n"
    "  kctl --cert FILE --send HOST:PORT=PIN ... [--socks5 HOST:PORT]\n"
    "                                         send a certificate written by --out\n";

int RunKctl(const CommandLine& command_line);

}  // namespace onionmail::ctl
