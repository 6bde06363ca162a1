// onionmailctl: the operator's command-line tool.
//
//   onionmailctl [--config FILE] init
//   onionmailctl [--config FILE] tls-key   (state made before the ECDSA TLS key: move TLS to it)
//   onionmailctl [--config FILE] user add NAME [--smtp-password-file F] [--pop3-password-file F]
//   onionmailctl [--config FILE] user del NAME
//   onionmailctl [--config FILE] user show NAME
//   onionmailctl [--config FILE] user passwd NAME --smtp [--password-file F]
//   onionmailctl [--config FILE] user passwd NAME --pop3 [--password-file F]
//                                                        [--old-password-file F]
//   onionmailctl [--config FILE] status
//   onionmailctl [--config FILE] voucher add [N] | voucher count | voucher clear
//                                   (self-registration vouchers: ctl/voucher_commands.h)
//   onionmailctl [--config FILE] vmat add ALIAS USER@ONION | remove ALIAS | show ALIAS | list
//                                   (an enter gateway's aliases: ctl/vmat_commands.h)
//   onionmailctl [--config FILE] pin | enrol ... | recover ... | kctl ...
//                                   (master-key unseal: ctl/unseal_commands.h, docs/unseal.md)
//
// On an enrolled state (issue 5), `user` commands first unseal the master key
// with the unseal peers (ctl/peer_calls.h UnsealForAdmin; one DERK credit per
// peer asked).
//
// Passwords come from files or a terminal prompt, never from argv or the
// environment; `user add` without password files generates both and prints
// them once. Exit status: 0 ok, 1 operation failed, 2 usage error.
//
// Run as root, onionmailctl first reads every input (config, password files,
// prompts) and then drops to [sandbox] key_user before it touches the state
// directory or the key store, so every file it creates belongs to the key
// role's user. `init` as root creates the state directory (0700) for that
// user before dropping. As non-root it keeps the invoking uid.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "base/log.h"
#include "base/sandbox.h"
#include "base/secret_bytes.h"
#include "config/config.h"
#include "ctl/kctl_commands.h"
#include "ctl/password_input.h"
#include "ctl/peer_calls.h"
#include "ctl/unseal_commands.h"
#include "ctl/vmat_commands.h"
#include "ctl/voucher_commands.h"
#include "keys/user_record.h"
#include "mail/backend.h"
#include "mail/bot.h"
#include "mail/mailing_list.h"
#include "server/state.h"
#include "store/mailbox_usage.h"

namespace onionmail::ctl {
namespace {

constexpr const char* kUsage =
    "usage: onionmailctl [--config FILE] COMMAND\n"
    "commands:\n"
    "  init                                   create the state directory, server key, TLS cert\n"
    "  tls-key                                move TLS to its own ECDSA key (state made before "
    "it)\n"
    "  user add NAME [--smtp-password-file F] [--pop3-password-file F]\n"
    "                                         add a user; without files both passwords are\n"
    "                                         generated and printed once\n"
    "  user del NAME                          delete a user and all of their mail\n"
    "  user show NAME                         the user's mailbox: its id as the log names it,\n"
    "                                         the mail it holds and its quota\n"
    "  user passwd NAME --smtp [--password-file F]\n"
    "  user passwd NAME --pop3 [--password-file F] [--old-password-file F]\n"
    "                                         change a password (POP3: re-wraps the inbox key)\n"
    "  status                                 show the state directory, user count, stored\n"
    "                                         mail, mailboxes at their quota, unused\n"
    "                                         vouchers and unseal state\n";

constexpr const char* kUsageNotes =
    "Passwords are read from files or a terminal prompt, never from arguments.\n"
    "As root, onionmailctl reads its inputs, then runs as [sandbox] key_user (default\n"
    "onionmail) so that the files it creates belong to the server's key role.\n";

int Fail(const Error& e) {
  std::fprintf(stderr, "onionmailctl: %s\n", e.message.c_str());
  return 1;
}

void PrintUsage(FILE* out) {
  std::fputs(kUsage, out);
  std::fputs(kVoucherUsage, out);
  std::fputs(kVmatUsage, out);
  std::fputs(kUnsealUsage, out);
  std::fputs(kKctlUsage, out);
  std::fputs(kUsageNotes, out);
}

int Usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "onionmailctl: %s\n", why);
  PrintUsage(stderr);
  return 2;
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --x VALUE
  std::vector<std::string> flags;              // --smtp, --pop3
};

bool Parse(int argc, char** argv, Args* out, std::string* config_path) {
  static const char* kValued[] = {"--config", "--smtp-password-file", "--pop3-password-file",
                                  "--password-file", "--old-password-file"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool valued = false;
    for (const char* v : kValued) valued = valued || a == v;
    if (valued) {
      if (i + 1 >= argc) return false;
      if (a == "--config") {
        *config_path = argv[++i];
      } else {
        out->options[a] = argv[++i];
      }
    } else if (a == "--smtp" || a == "--pop3") {
      out->flags.push_back(a);
    } else if (a.rfind("--", 0) == 0) {
      return false;
    } else {
      out->positional.push_back(a);
    }
  }
  return true;
}

Result<SecretBytes> PasswordFrom(const Args& args, const std::string& option,
                                 const std::string& prompt) {
  auto it = args.options.find(option);
  if (it != args.options.end()) return ReadPasswordFile(it->second);
  return PromptPassword(prompt, /*confirm=*/option != "--old-password-file");
}

std::string Normalise(std::string name) { return AsciiLower(name); }

// Writes a generated password straight from its wiping buffer to stdout.
void PrintPassword(const char* label, const SecretBytes& password) {
  auto raw = password.Reveal(SecretAccess::Grant());
  std::fprintf(stdout, "%s: ", label);
  std::fwrite(raw.data(), 1, raw.size(), stdout);
  std::fputc('\n', stdout);
}

// Every password a command needs, read before any privilege change (the
// files may be readable by root only) and before the state is opened.
struct Passwords {
  SecretBytes smtp;      // user add; user passwd --smtp (the new one)
  SecretBytes pop3;      // user add; user passwd --pop3 (the new one)
  SecretBytes old_pop3;  // user passwd --pop3
  bool smtp_generated = false;
  bool pop3_generated = false;
};

Result<SecretBytes> FileOrGenerated(const Args& args, const std::string& option, bool* generated) {
  auto it = args.options.find(option);
  *generated = it == args.options.end();
  if (*generated) return GeneratePassword();
  auto pw = ReadPasswordFile(it->second);
  if (pw.ok()) ONIONMAIL_RETURN_IF_ERROR(CheckNewPassword(*pw));
  return pw;
}

Result<Passwords> ReadUserAddPasswords(const Args& args) {
  Passwords p;
  auto smtp = FileOrGenerated(args, "--smtp-password-file", &p.smtp_generated);
  if (!smtp.ok()) return smtp.error();
  auto pop3 = FileOrGenerated(args, "--pop3-password-file", &p.pop3_generated);
  if (!pop3.ok()) return pop3.error();
  if (smtp->Equals(*pop3)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the SMTP and POP3 passwords must differ (one sends, one reads)");
  }
  p.smtp = std::move(*smtp);
  p.pop3 = std::move(*pop3);
  return p;
}

Result<Passwords> ReadPasswdPasswords(const Args& args, bool smtp) {
  Passwords p;
  if (smtp) {
    auto pw = PasswordFrom(args, "--password-file", "New SMTP password");
    if (!pw.ok()) return pw.error();
    ONIONMAIL_RETURN_IF_ERROR(CheckNewPassword(*pw));
    p.smtp = std::move(*pw);
    return p;
  }
  auto old_pw = PasswordFrom(args, "--old-password-file", "Current POP3 password");
  if (!old_pw.ok()) return old_pw.error();
  auto pw = PasswordFrom(args, "--password-file", "New POP3 password");
  if (!pw.ok()) return pw.error();
  ONIONMAIL_RETURN_IF_ERROR(CheckNewPassword(*pw));
  p.old_pop3 = std::move(*old_pw);
  p.pop3 = std::move(*pw);
  return p;
}

int UserAdd(server::State& state, const Passwords& pw, const std::string& name) {
  auto r = state.keys().CreateUser(name, pw.smtp, pw.pop3);
  if (!r.ok()) return Fail(r.error());
  std::printf("user %s added (mail address %s@%s)\n", name.c_str(), name.c_str(),
              state.config().domain.c_str());
  if (pw.smtp_generated) PrintPassword("smtp-password", pw.smtp);
  if (pw.pop3_generated) PrintPassword("pop3-password", pw.pop3);
  if (pw.smtp_generated || pw.pop3_generated) {
    std::printf("These passwords are shown once and stored nowhere in clear.\n");
  }
  return 0;
}

int UserPasswd(server::State& state, const Passwords& pw, const std::string& name, bool smtp) {
  auto r = smtp ? state.keys().ChangeSmtpPassword(name, pw.smtp)
                : state.keys().ChangePop3Password(name, pw.old_pop3, pw.pop3);
  if (!r.ok()) return Fail(r.error());
  std::printf("password changed for %s\n", name.c_str());
  return 0;
}

// The user's mailbox: the id prefix the key role's log lines name it by, the
// mail it holds (counted from its directory) and the quota.
int UserShow(server::State& state, const config::Config& config, const std::string& name) {
  auto user = state.keys().LookupUser(name);
  if (!user.ok()) return Fail(user.error());
  auto size = store::MailboxUsage::Measure(config.state_dir + "/mbox/" + user->mailbox_id);
  if (!size.ok()) return Fail(size.error());
  std::printf("user %s: mailbox %.8s... (as the log names it)\n", name.c_str(),
              user->mailbox_id.c_str());
  auto version = state.keys().RecordVersion(name);
  if (!version.ok()) return Fail(version.error());
  if (*version >= keys::kUserRecordVersion) {
    std::printf("record: version %u (each POP3 password guess needs the key store)\n",
                unsigned{*version});
  } else {
    std::printf(
        "record: version %u (the key store's half of the inbox wrap does not depend on the "
        "password; the user's next POP3 login, or `user passwd %s --pop3`, makes it version %u)\n",
        unsigned{*version}, name.c_str(), unsigned{keys::kUserRecordVersion});
  }
  std::printf("mail: %zu message(s), %.1f MiB\n", size->messages,
              static_cast<double>(size->bytes) / (1 << 20));
  const uint64_t quota = uint64_t{config.mailbox_quota_mib} << 20;
  if (quota == 0) {
    std::printf("quota: off\n");
  } else {
    std::printf(
        "quota: %u MiB, %s\n", config.mailbox_quota_mib,
        size->bytes >= quota ? "full: new mail gets 452 4.2.2 until some is deleted" : "not full");
  }
  return 0;
}

// ----------------------------------------------------------- root: drop

Error SysError(const std::string& what) {
  return MakeError(ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

Result<std::pair<uid_t, gid_t>> LookUpKeyUser(const std::string& user) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0) {
    return MakeError(ErrorCode::kInternal, "cannot look up user " + user);
  }
  if (found == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     "the key role's user '" + user +
                         "' ([sandbox] key_user) does not exist; "
                         "create the users with provisioning/create-users.sh (as root)");
  }
  if (pw.pw_uid == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "[sandbox] key_user '" + user + "' must not be uid 0");
  }
  return std::make_pair(pw.pw_uid, pw.pw_gid);
}

// `init` as root: creates the state directory for the key user. The chown
// goes through an fd opened with O_NOFOLLOW, so a symlink planted in its
// place is refused rather than followed.
Result<void> CreateStateDirFor(const std::string& dir, uid_t uid, gid_t gid) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Ok();
    return SysError("cannot create state directory " + dir);
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return SysError("cannot open new state directory " + dir);
  Result<void> r = Ok();
  if (::fchown(fd, uid, gid) != 0) {
    r = SysError("cannot chown state directory " + dir);
  } else if (::fchmod(fd, 0700) != 0) {
    r = SysError("cannot chmod state directory " + dir);
  }
  ::close(fd);
  return r;
}

// Run as root: everything after this runs as [sandbox] key_user, the user of
// the key role, so the files it creates or changes stay readable by the
// server. A state directory owned by someone else (e.g. root, from before
// the process split) is refused with the command that fixes it.
Result<void> BecomeKeyUser(const config::Config& config, bool init) {
  const std::string& user = config.sandbox_key_user;
  auto ids = LookUpKeyUser(user);
  if (!ids.ok()) return ids.error();
  const std::string& dir = config.state_dir;
  if (init) ONIONMAIL_RETURN_IF_ERROR(CreateStateDirFor(dir, ids->first, ids->second));
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 && st.st_uid != ids->first) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "state directory " + dir + " is owned by uid " + std::to_string(st.st_uid) +
                         ", not by the key role's user " + user +
                         " ([sandbox] key_user); fix with: chown -R " + user + ": " + dir);
  }
  auto dropped = DropToUser(user, /*allow_root=*/false);
  if (!dropped.ok()) {
    return MakeError(dropped.error().code,
                     "cannot drop to user " + user + ": " + dropped.error().message);
  }
  if (::stat(dir.c_str(), &st) != 0 && errno == EACCES) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "user " + user + " cannot reach " + dir +
                         ": a parent directory is not searchable by it (e.g. under /root)");
  }
  return Ok();
}

int Run(int argc, char** argv) {
  Args args;
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      PrintUsage(stdout);
      return 0;
    }
  }
  // pin, enrol, recover, kctl (their own options; inputs read before the drop).
  if (auto rc = RunUnsealCommand(
          argc, argv, [](const config::Config& c) { return BecomeKeyUser(c, /*init=*/false); })) {
    return *rc;
  }
  if (!Parse(argc, argv, &args, &config_path) || args.positional.empty()) return Usage(nullptr);
  auto config = config::LoadConfig(config_path);
  if (!config.ok()) return Fail(config.error());
  const auto& cmd = args.positional;

  // 1. Which command, and every input it needs, as the invoking user.
  enum class Command {
    kInit,
    kTlsKey,
    kStatus,
    kUserAdd,
    kUserDel,
    kUserPasswd,
    kUserShow,
    kVoucher,
    kVmat
  };
  Command command = Command::kStatus;
  std::string name;
  bool passwd_smtp = false;
  Passwords passwords;
  VoucherCommand voucher;
  VmatCommand vmat;
  if (cmd[0] == "init" && cmd.size() == 1) {
    command = Command::kInit;
  } else if (cmd[0] == "tls-key" && cmd.size() == 1) {
    command = Command::kTlsKey;
  } else if (cmd[0] == "status" && cmd.size() == 1) {
    command = Command::kStatus;
  } else if (cmd[0] == "user" && cmd.size() == 3 &&
             (cmd[1] == "add" || cmd[1] == "del" || cmd[1] == "passwd" || cmd[1] == "show")) {
    name = Normalise(cmd[2]);
    if (!mail::ValidLocalPart(name)) {
      return Usage("user names are 1-64 characters of a-z 0-9 . _ - (no leading/trailing '.')");
    }
    if (cmd[1] == "add") {
      if (name == mail::kBotLocalPart) {
        return Usage("\"server\" is the server@ command bot's address (docs/PROTOCOL.md)");
      }
      if (mail::ListNameOf(name)) {
        return Usage("names ending in \".list\" are mailing lists' addresses (docs/PROTOCOL.md)");
      }
      command = Command::kUserAdd;
      auto pw = ReadUserAddPasswords(args);
      if (!pw.ok()) return Fail(pw.error());
      passwords = std::move(*pw);
    } else if (cmd[1] == "del") {
      command = Command::kUserDel;
    } else if (cmd[1] == "show") {
      command = Command::kUserShow;
    } else {
      command = Command::kUserPasswd;
      bool pop3 = false;
      for (const auto& f : args.flags) {
        passwd_smtp = passwd_smtp || f == "--smtp";
        pop3 = pop3 || f == "--pop3";
      }
      if (passwd_smtp == pop3) return Usage("user passwd needs exactly one of --smtp or --pop3");
      auto pw = ReadPasswdPasswords(args, passwd_smtp);
      if (!pw.ok()) return Fail(pw.error());
      passwords = std::move(*pw);
    }
  } else if (cmd[0] == "voucher") {
    std::string why;
    auto parsed = ParseVoucherCommand({cmd.begin() + 1, cmd.end()}, &why);
    if (!parsed) return Usage(why.c_str());
    if (!args.options.empty() || !args.flags.empty()) return Usage("voucher takes no options");
    command = Command::kVoucher;
    voucher = *parsed;
  } else if (cmd[0] == "vmat") {
    std::string why;
    auto parsed = ParseVmatCommand({cmd.begin() + 1, cmd.end()}, config->exit_domain, &why);
    if (!parsed) return Usage(why.c_str());
    if (!args.options.empty() || !args.flags.empty()) return Usage("vmat takes no options");
    command = Command::kVmat;
    vmat = *parsed;
  } else {
    return Usage("unknown command");
  }

  // 2. As root: become the key role's user before touching any state.
  if (::geteuid() == 0) {
    auto dropped = BecomeKeyUser(*config, command == Command::kInit);
    if (!dropped.ok()) return Fail(dropped.error());
  }

  // 3. The state directory and the key store.
  if (command == Command::kInit) {
    auto r = server::InitState(*config);
    if (!r.ok()) return Fail(r.error());
    std::printf("initialised %s for %s\n  TLS certificate: %s\n", config->state_dir.c_str(),
                config->domain.c_str(), config->tls_cert_path().c_str());
    return 0;
  }
  if (command == Command::kTlsKey) {
    auto moved = server::MoveTlsToOwnKey(*config);
    if (!moved.ok()) return Fail(moved.error());
    if (!*moved) {
      std::printf("the TLS certificate is already for the ECDSA TLS key; nothing changed\n");
      return 0;
    }
    std::printf(
        "TLS now uses its own ECDSA P-256 key; new certificate: %s\n"
        "The server key and server-id are unchanged; the tls-pin has changed: run `onionmailctl "
        "pin` and give the new tls-pin to every server that lists this one as an unseal peer.\n"
        "Restart onionmaild.\n",
        config->tls_cert_path().c_str());
    return 0;
  }
  auto state = server::State::Open(*config);
  if (!state.ok()) return Fail(state.error());
  if (command != Command::kStatus && (*state)->sealed()) {
    // Enrolled: the user services need the master key (one DERK credit per peer asked).
    auto unsealed = UnsealForAdmin(**state, *config, /*socks5=*/"");
    if (!unsealed.ok()) return Fail(unsealed.error());
  }
  switch (command) {
    case Command::kStatus: {
      std::printf("state_dir: %s\ndomain: %s\nkey_store: %s\n", config->state_dir.c_str(),
                  config->domain.c_str(), std::string((*state)->key_store_backend()).c_str());
      if ((*state)->sealed()) {
        std::printf("users: not counted (sealed: counting would ask the unseal peers)\n");
      } else {
        auto users = (*state)->keys().CountUsers();
        if (!users.ok()) return Fail(users.error());
        std::printf("users: %zu\n", *users);
        auto vouchers = (*state)->keys().CountVouchers();
        if (!vouchers.ok()) return Fail(vouchers.error());
        std::printf("unused vouchers: %zu\n", *vouchers);
        auto census = (*state)->keys().CensusRecords();
        if (!census.ok()) return Fail(census.error());
        if (census->version1 > 0) {
          std::printf(
              "user records of version 1: %zu (the key store's half of their inbox wrap does not "
              "depend on the password; each moves to version 2 at its user's next POP3 login)\n",
              census->version1);
        }
        if (census->unreadable > 0) {
          std::printf(
              "user records that do not open: %zu (their users cannot log in: damaged, or sealed "
              "by another key store)\n",
              census->unreadable);
        }
      }
      auto mail =
          store::SummarizeMailboxes(config->state_dir, uint64_t{config->mailbox_quota_mib} << 20);
      if (!mail.ok()) return Fail(mail.error());
      std::printf("mail: %zu message(s), %.1f MiB in %zu mailbox(es)\n", mail->total.messages,
                  static_cast<double>(mail->total.bytes) / (1 << 20), mail->mailboxes);
      if (config->mailbox_quota_mib == 0) {
        std::printf("mailbox quota: off\n");
      } else {
        std::printf("mailbox quota: %u MiB; mailboxes that hold it: %zu\n",
                    config->mailbox_quota_mib, mail->at_quota);
      }
      if (!config->exit_domain.empty()) {
        std::printf("enter gateway for: %s (aliases: onionmailctl vmat list)\n",
                    config->exit_domain.c_str());
      }
      PrintUnsealStatus(*config);
      return 0;
    }
    case Command::kUserAdd:
      return UserAdd(**state, passwords, name);
    case Command::kUserDel: {
      auto r = (*state)->keys().DeleteUser(name);
      if (!r.ok()) return Fail(r.error());
      std::printf("user %s deleted with all of their mail\n", name.c_str());
      return 0;
    }
    case Command::kUserPasswd:
      return UserPasswd(**state, passwords, name, passwd_smtp);
    case Command::kUserShow:
      return UserShow(**state, *config, name);
    case Command::kVoucher:
      return RunVoucherCommand((*state)->keys(), voucher);
    case Command::kVmat:
      return RunVmatCommand((*state)->keys(), vmat);
    case Command::kInit:
    case Command::kTlsKey:
      break;
  }
  return Usage("unknown command");
}

}  // namespace
}  // namespace onionmail::ctl

int main(int argc, char** argv) {
  if (!onionmail::InitSecureMemory()) {
    onionmail::log::Warning("onionmailctl", "secure heap unavailable; secrets use the normal heap");
  }
  return onionmail::ctl::Run(argc, argv);
}
