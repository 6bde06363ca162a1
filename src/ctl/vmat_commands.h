// `onionmailctl vmat add ALIAS TARGET | remove ALIAS | show ALIAS | sender
// ALIAS | list`:
// the operator's side of an enter gateway's VMAT aliases (mail/vmat.h,
// docs/gateways.md). Only on a server with `[exit] domain` set.
//
// Contract:
//  - ParseVmatCommand() reads the positional arguments after "vmat". ALIAS
//    is a bare alias or "alias@<exit domain>", in any case
//    (mail::CanonicalVmatAlias); TARGET is "user@<v3 onion>", in any case
//    (mail::CanonicalVmatTarget). A bad command, alias or target, or an empty
//    `exit_domain`, gives nullopt and the reason in *why (a usage error, exit
//    status 2).
//  - RunVmatCommand() runs it on the key service of an opened (and, if
//    enrolled, unsealed) state, as the key role's user; prints on stdout:
//      add:    "<alias>@<exit domain> -> <target>" (an alias that exists is
//              an error: remove it first);
//      remove: "removed <alias>@<exit domain>" (none: an error);
//      show:   "<alias>@<exit domain> -> <target>" (none: an error), with
//              " (sends)" when it is its target's sending alias (the address
//              the target's mail to the Internet leaves under);
//      sender: makes ALIAS its target's sending alias, then as show;
//      list:   one line per alias as show, sorted, then "<N> VMAT alias(es)".
//    Returns the exit status (0, or 1 with the error on stderr).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keys/key_service.h"

namespace onionmail::ctl {

inline constexpr const char* kVmatUsage =
    "  vmat add ALIAS USER@ONION              an enter gateway ([exit] domain): mail from the\n"
    "                                         Internet to ALIAS@<exit domain> goes to USER@ONION\n"
    "  vmat remove ALIAS | show ALIAS | list  remove, show or list the VMAT aliases\n"
    "  vmat sender ALIAS                      mail from ALIAS's target to the Internet\n"
    "                                         leaves as ALIAS (an exit gateway)\n";

struct VmatCommand {
  enum class Op { kAdd, kRemove, kShow, kSender, kList };
  Op op = Op::kList;
  std::string alias;   // canonical, without the domain (not for kList)
  std::string target;  // kAdd: canonical
  std::string exit_domain;
};

// `args`: the positional arguments after "vmat"; `exit_domain`: [exit] domain.
std::optional<VmatCommand> ParseVmatCommand(const std::vector<std::string>& args,
                                            const std::string& exit_domain, std::string* why);
int RunVmatCommand(keys::KeyService& keys, const VmatCommand& command);

}  // namespace onionmail::ctl
