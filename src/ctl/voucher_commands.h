// `onionmailctl voucher add [N] | count | clear`: the operator's side of
// self-registration (mail/registration.h, docs/PROTOCOL.md "Registration:
// RQUS").
//
// Contract:
//  - ParseVoucherCommand() reads the positional arguments after "voucher"
//    (nothing else is accepted: the caller refuses options); N is 1..
//    keys::Vouchers::kMaxAdd in decimal, 1 when left out. A bad command or N
//    gives nullopt and the reason in *why (a usage error, exit status 2).
//  - RunVoucherCommand() runs it on the key service of an opened (and, if
//    enrolled, unsealed) state, as the key role's user:
//      add:   prints the new vouchers, one per line, on stdout and nothing
//             else there (scripts read it); a line on stderr says they are
//             one-time and to be handed over privately.
//      count: "<N> unused voucher(s)" on stdout.
//      clear: deletes every unused voucher; "deleted <N> unused voucher(s)".
//    Vouchers go straight from their SecretBytes to stdout; nothing is
//    logged. Returns the exit status (0, or 1 with the error on stderr).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "keys/key_service.h"

namespace onionmail::ctl {

inline constexpr const char* kVoucherUsage =
    "  voucher add [N]                        make N (1-1000, default 1) one-time vouchers for\n"
    "                                         self-registration (POP3 RQUS) and print them\n"
    "  voucher count                          how many vouchers are unused\n"
    "  voucher clear                          delete every unused voucher\n";

struct VoucherCommand {
  enum class Op { kAdd, kCount, kClear };
  Op op = Op::kCount;
  size_t count = 1;  // kAdd
};

// `args`: the positional arguments after "voucher".
std::optional<VoucherCommand> ParseVoucherCommand(const std::vector<std::string>& args,
                                                  std::string* why);
int RunVoucherCommand(keys::KeyService& keys, const VoucherCommand& command);

}  // namespace onionmail::ctl
