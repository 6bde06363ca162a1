// onionmailctl voucher (see voucher_commands.h).
#include "ctl/voucher_commands.h"

#include <cstdio>

#include "keys/vouchers.h"

namespace onionmail::ctl {

namespace {

int Fail(const Error& e) {
  std::fprintf(stderr, "onionmailctl: %s\n", e.message.c_str());
  return 1;
}

// 1..kMaxAdd in decimal digits only (no sign, no spaces, at most 4 digits).
std::optional<size_t> ParseCount(const std::string& text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  size_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (n < 1 || n > keys::Vouchers::kMaxAdd) return std::nullopt;
  return n;
}

}  // namespace

std::optional<VoucherCommand> ParseVoucherCommand(const std::vector<std::string>& args,
                                                  std::string* why) {
  VoucherCommand command;
  if (args.size() >= 1 && args[0] == "add" && args.size() <= 2) {
    command.op = VoucherCommand::Op::kAdd;
    if (args.size() == 2) {
      auto n = ParseCount(args[1]);
      if (!n) {
        *why = "voucher add takes a count from 1 to " + std::to_string(keys::Vouchers::kMaxAdd);
        return std::nullopt;
      }
      command.count = *n;
    }
    return command;
  }
  if (args.size() == 1 && args[0] == "count") {
    command.op = VoucherCommand::Op::kCount;
    return command;
  }
  if (args.size() == 1 && args[0] == "clear") {
    command.op = VoucherCommand::Op::kClear;
    return command;
  }
  *why = "voucher commands: add [N], count, clear";
  return std::nullopt;
}

int RunVoucherCommand(keys::KeyService& keys, const VoucherCommand& command) {
  switch (command.op) {
    case VoucherCommand::Op::kAdd: {
      auto made = keys.AddVouchers(command.count);
      if (!made.ok()) return Fail(made.error());
      for (const SecretBytes& voucher : *made) {
        auto raw = voucher.Reveal(SecretAccess::Grant());
        std::fwrite(raw.data(), 1, raw.size(), stdout);
        std::fputc('\n', stdout);
      }
      if (std::fflush(stdout) != 0) {
        return Fail(MakeError(ErrorCode::kInternal, "cannot write the vouchers to stdout"));
      }
      std::fprintf(stderr,
                   "onionmailctl: %zu one-time voucher(s): each opens one account, once "
                   "(POP3 RQUS); hand each to one person, privately. They are shown only "
                   "now: the server keeps a keyed hash of each, not the voucher.\n",
                   made->size());
      return 0;
    }
    case VoucherCommand::Op::kCount: {
      auto n = keys.CountVouchers();
      if (!n.ok()) return Fail(n.error());
      std::printf("%zu unused voucher(s)\n", *n);
      return 0;
    }
    case VoucherCommand::Op::kClear: {
      auto n = keys.CountVouchers();
      if (!n.ok()) return Fail(n.error());
      auto cleared = keys.ClearVouchers();
      if (!cleared.ok()) return Fail(cleared.error());
      std::printf("deleted %zu unused voucher(s)\n", *n);
      return 0;
    }
  }
  return 1;
}

}  // namespace onionmail::ctl
