// onionmailctl vmat (see vmat_commands.h).
#include "ctl/vmat_commands.h"

#include <cstdio>

#include "mail/vmat.h"

namespace onionmail::ctl {
namespace {

int Fail(const Error& e) {
  std::fprintf(stderr, "onionmailctl: %s\n", e.message.c_str());
  return 1;
}

// One alias's line; " (sends)" when it is its target's sending alias.
Result<void> PrintAlias(keys::KeyService& keys, const VmatCommand& c, const std::string& alias,
                        const std::string& target) {
  auto sender = keys.SenderVmat(target);
  if (!sender.ok()) return sender.error();
  const bool sends = sender->has_value() && **sender == alias;
  std::printf("%s@%s -> %s%s\n", alias.c_str(), c.exit_domain.c_str(), target.c_str(),
              sends ? " (sends)" : "");
  return Ok();
}

// The alias of `c`: its line, or exit status 1 when there is none.
int Show(keys::KeyService& keys, const VmatCommand& c) {
  auto target = keys.LookupVmat(c.alias);
  if (!target.ok()) return Fail(target.error());
  if (!target->has_value()) return Fail(MakeError(ErrorCode::kNotFound, "no such VMAT alias"));
  auto printed = PrintAlias(keys, c, c.alias, **target);
  return printed.ok() ? 0 : Fail(printed.error());
}

}  // namespace

std::optional<VmatCommand> ParseVmatCommand(const std::vector<std::string>& args,
                                            const std::string& exit_domain, std::string* why) {
  if (exit_domain.empty()) {
    *why = "vmat: this server is no enter gateway (set [exit] domain, docs/gateways.md)";
    return std::nullopt;
  }
  VmatCommand command;
  command.exit_domain = exit_domain;
  const bool add = args.size() == 3 && args[0] == "add";
  const bool one =
      args.size() == 2 && (args[0] == "remove" || args[0] == "show" || args[0] == "sender");
  if (args.size() == 1 && args[0] == "list") {
    command.op = VmatCommand::Op::kList;
    return command;
  }
  if (!add && !one) {
    *why = "vmat commands: add ALIAS USER@ONION, remove ALIAS, show ALIAS, sender ALIAS, list";
    return std::nullopt;
  }
  auto alias = mail::CanonicalVmatAlias(args[1], exit_domain);
  if (!alias) {
    *why =
        "a VMAT alias is 1-64 characters of a-z 0-9 . _ - (no leading/trailing '.'), not a "
        "reserved name (postmaster, abuse, server, *.list...), optionally @" +
        exit_domain;
    return std::nullopt;
  }
  command.alias = *alias;
  if (add) {
    auto target = mail::CanonicalVmatTarget(args[2]);
    if (!target) {
      *why = "a VMAT target is a mailbox at a v3 onion: user@<56 characters>.onion";
      return std::nullopt;
    }
    command.op = VmatCommand::Op::kAdd;
    command.target = *target;
  } else {
    command.op = args[0] == "remove"   ? VmatCommand::Op::kRemove
                 : args[0] == "sender" ? VmatCommand::Op::kSender
                                       : VmatCommand::Op::kShow;
  }
  return command;
}

int RunVmatCommand(keys::KeyService& keys, const VmatCommand& command) {
  switch (command.op) {
    case VmatCommand::Op::kAdd: {
      auto added = keys.AddVmat(command.alias, command.target);
      if (!added.ok()) {
        if (added.error().code == ErrorCode::kAlreadyExists) {
          return Fail(MakeError(
              ErrorCode::kAlreadyExists,
              command.alias + "@" + command.exit_domain + " exists: `vmat remove` it first"));
        }
        return Fail(added.error());
      }
      return Show(keys, command);
    }
    case VmatCommand::Op::kRemove: {
      auto removed = keys.RemoveVmat(command.alias);
      if (!removed.ok()) return Fail(removed.error());
      std::printf("removed %s@%s\n", command.alias.c_str(), command.exit_domain.c_str());
      return 0;
    }
    case VmatCommand::Op::kShow:
      return Show(keys, command);
    case VmatCommand::Op::kSender: {
      auto made = keys.MakeSenderVmat(command.alias);
      if (!made.ok()) return Fail(made.error());
      return Show(keys, command);
    }
    case VmatCommand::Op::kList: {
      auto all = keys.ListVmat();
      if (!all.ok()) return Fail(all.error());
      for (const mail::VmatRecord& r : *all) {
        if (auto printed = PrintAlias(keys, command, r.alias, r.target); !printed.ok()) {
          return Fail(printed.error());
        }
      }
      std::printf("%zu VMAT alias(es)\n", all->size());
      return 0;
    }
  }
  return 1;
}

}  // namespace onionmail::ctl
