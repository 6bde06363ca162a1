// onionmailctl's master-key commands (issue 5; operator guide: docs/unseal.md):
//
//   onionmailctl [--config FILE] pin
//   onionmailctl [--config FILE] enrol --threshold T --peer HOST:PORT=PIN [--peer ...]
//                --kctl-out FILE [--credits N] [--recovery TR/NR --recovery-out FILE]
//                [--socks5 HOST:PORT] [--re-enrol]
//   onionmailctl [--config FILE] recover --shares-file FILE --threshold T
//                --peer HOST:PORT=PIN [--peer ...] --kctl-out FILE [--credits N]
//                [--recovery TR/NR --recovery-out FILE] [--socks5 HOST:PORT]
//   onionmailctl [--config FILE] kctl ...                      (ctl/kctl_commands.h)
//
// Contract:
//  - Secrets never come from or go to argv or the environment: the KCTL private key and
//    the recovery shares are written to new files (mode 0600, never overwriting, durable;
//    ctl/output_files.h), recovery shares are read from a file.
//  - As root, every input is read and every output path checked (and its writer started)
//    before `drop` runs; then the state is opened as the key role's user (as for `user`).
//  - pin: prints this server's TLS pin (SHA-256 of its certificate's SubjectPublicKeyInfo,
//    what other operators give as PIN) and its server id (SHA-256 of the server RSA key's
//    SubjectPublicKeyInfo, what KCTL certificates name).
//  - enrol: refused when the state has users (the master key changes every derived key) or
//    is already enrolled (--re-enrol: keep the master key, rebuilt from the current peers,
//    and move to the given peers with a new KCTL key). First a STAT to every peer
//    (ctl/peer_calls.h CheckPeersForEnrolment: nothing is sent or written unless all are
//    ready), then one PUSH each; if any PUSH fails nothing is written here. Then the KCTL
//    key and the recovery shares are written, then the enrolment record (unseal::Enrol).
//    If the record cannot be written, the recovery shares are removed again and the KCTL
//    key is kept (the peers know it).
//  - recover: the break-glass path. Imports the printed recovery shares against the
//    commitment of the existing enrolment record, then enrols the given (new) peers with
//    the same master key (EnrolMode::kReEnrolSameKey) and a new KCTL key.
//  - Exit status: 0 ok, 1 failed, 2 usage error.
#pragma once

#include <functional>
#include <optional>

#include "base/result.h"
#include "config/config.h"

namespace onionmail::ctl {

// Drops to the key role's user; called only when running as root.
using DropPrivileges = std::function<Result<void>(const config::Config&)>;

inline constexpr const char* kUnsealUsage =
    "  pin                                    print this server's TLS pin and server id\n"
    "  peers                                  each unseal peer's counters for this server\n"
    "                                         (signed STAT; no credit used)\n"
    "  enrol --threshold T --peer HOST:PORT=PIN [--peer ...] --kctl-out FILE\n"
    "        [--credits N] [--recovery TR/NR --recovery-out FILE] [--socks5 HOST:PORT]\n"
    "        [--re-enrol]                     protect the state with a master key shared\n"
    "                                         T-of-(peers+1) with unseal peers\n"
    "  recover --shares-file FILE --threshold T --peer HOST:PORT=PIN [--peer ...]\n"
    "        --kctl-out FILE [--credits N] [--recovery TR/NR --recovery-out FILE]\n"
    "                                         rebuild the master key from recovery shares\n"
    "                                         and enrol it with new peers\n";

// Runs pin, peers, enrol, recover or kctl when argv names one of them and returns its exit
// status; std::nullopt for every other command (the caller runs it).
std::optional<int> RunUnsealCommand(int argc, char** argv, const DropPrivileges& drop);

// For `status`: prints <state>/unseal/status (written by the running server), or whether
// the state is enrolled at all. The peer side (which servers enrolled here) is listed
// nowhere on disk by design: the partner files are named by keyed hashes.
void PrintUnsealStatus(const config::Config& config);

}  // namespace onionmail::ctl
