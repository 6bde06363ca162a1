// onionmailctl: the operator's command-line tool.
//
//   onionmailctl [--config FILE] init
//   onionmailctl [--config FILE] user add NAME [--smtp-password-file F] [--pop3-password-file F]
//   onionmailctl [--config FILE] user del NAME
//   onionmailctl [--config FILE] user passwd NAME --smtp [--password-file F]
//   onionmailctl [--config FILE] user passwd NAME --pop3 [--password-file F]
//                                                        [--old-password-file F]
//   onionmailctl [--config FILE] status
//
// Passwords come from files or a terminal prompt, never from argv or the
// environment; `user add` without password files generates both and prints
// them once. Exit status: 0 ok, 1 operation failed, 2 usage error.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "config/config.h"
#include "ctl/password_input.h"
#include "mail/backend.h"
#include "server/state.h"

namespace onionmail::ctl {
namespace {

constexpr const char* kUsage =
    "usage: onionmailctl [--config FILE] COMMAND\n"
    "commands:\n"
    "  init                                   create the state directory, server key, TLS cert\n"
    "  user add NAME [--smtp-password-file F] [--pop3-password-file F]\n"
    "                                         add a user; without files both passwords are\n"
    "                                         generated and printed once\n"
    "  user del NAME                          delete a user and all of their mail\n"
    "  user passwd NAME --smtp [--password-file F]\n"
    "  user passwd NAME --pop3 [--password-file F] [--old-password-file F]\n"
    "                                         change a password (POP3: re-wraps the inbox key)\n"
    "  status                                 show the state directory and user count\n"
    "Passwords are read from files or a terminal prompt, never from arguments.\n";

int Fail(const Error& e) {
  std::fprintf(stderr, "onionmailctl: %s\n", e.message.c_str());
  return 1;
}

int Usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "onionmailctl: %s\n", why);
  std::fputs(kUsage, stderr);
  return 2;
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --x VALUE
  std::vector<std::string> flags;               // --smtp, --pop3
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

std::string Normalise(std::string name) {
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// Writes a generated password straight from its wiping buffer to stdout.
void PrintPassword(const char* label, const SecretBytes& password) {
  auto raw = password.Reveal(SecretAccess::Grant());
  std::fprintf(stdout, "%s: ", label);
  std::fwrite(raw.data(), 1, raw.size(), stdout);
  std::fputc('\n', stdout);
}

int UserAdd(server::State& state, const Args& args, const std::string& name) {
  bool have_smtp = args.options.count("--smtp-password-file") != 0;
  bool have_pop3 = args.options.count("--pop3-password-file") != 0;
  SecretBytes smtp;
  SecretBytes pop3;
  if (have_smtp) {
    auto r = ReadPasswordFile(args.options.at("--smtp-password-file"));
    if (!r.ok()) return Fail(r.error());
    smtp = std::move(*r);
  } else {
    smtp = GeneratePassword();
  }
  if (have_pop3) {
    auto r = ReadPasswordFile(args.options.at("--pop3-password-file"));
    if (!r.ok()) return Fail(r.error());
    pop3 = std::move(*r);
  } else {
    pop3 = GeneratePassword();
  }
  if (smtp.Equals(pop3)) {
    return Fail(MakeError(ErrorCode::kInvalidArgument,
                          "the SMTP and POP3 passwords must differ (one sends, one reads)"));
  }
  auto r = state.keys().CreateUser(name, smtp, pop3);
  if (!r.ok()) return Fail(r.error());
  std::printf("user %s added (mail address %s@%s)\n", name.c_str(), name.c_str(),
              state.config().domain.c_str());
  if (!have_smtp) PrintPassword("smtp-password", smtp);
  if (!have_pop3) PrintPassword("pop3-password", pop3);
  if (!have_smtp || !have_pop3) {
    std::printf("These passwords are shown once and stored nowhere in clear.\n");
  }
  return 0;
}

int UserPasswd(server::State& state, const Args& args, const std::string& name) {
  bool smtp = false;
  bool pop3 = false;
  for (const auto& f : args.flags) {
    smtp = smtp || f == "--smtp";
    pop3 = pop3 || f == "--pop3";
  }
  if (smtp == pop3) return Usage("user passwd needs exactly one of --smtp or --pop3");
  if (smtp) {
    auto pw = PasswordFrom(args, "--password-file", "New SMTP password");
    if (!pw.ok()) return Fail(pw.error());
    auto r = state.keys().ChangeSmtpPassword(name, *pw);
    if (!r.ok()) return Fail(r.error());
  } else {
    auto old_pw = PasswordFrom(args, "--old-password-file", "Current POP3 password");
    if (!old_pw.ok()) return Fail(old_pw.error());
    auto pw = PasswordFrom(args, "--password-file", "New POP3 password");
    if (!pw.ok()) return Fail(pw.error());
    auto r = state.keys().ChangePop3Password(name, *old_pw, *pw);
    if (!r.ok()) return Fail(r.error());
  }
  std::printf("password changed for %s\n", name.c_str());
  return 0;
}

int Run(int argc, char** argv) {
  Args args;
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  if (!Parse(argc, argv, &args, &config_path) || args.positional.empty()) return Usage(nullptr);
  auto config = config::LoadConfig(config_path);
  if (!config.ok()) return Fail(config.error());
  const auto& cmd = args.positional;

  if (cmd[0] == "init" && cmd.size() == 1) {
    auto r = server::InitState(*config);
    if (!r.ok()) return Fail(r.error());
    std::printf("initialised %s for %s\n  TLS certificate: %s\n", config->state_dir.c_str(),
                config->domain.c_str(), config->tls_cert_path().c_str());
    return 0;
  }
  auto state = server::State::Open(*config);
  if (!state.ok()) return Fail(state.error());
  if (cmd[0] == "status" && cmd.size() == 1) {
    auto users = (*state)->keys().CountUsers();
    if (!users.ok()) return Fail(users.error());
    std::printf("state_dir: %s\ndomain: %s\nkey_store: %s\nusers: %zu\n",
                config->state_dir.c_str(), config->domain.c_str(),
                std::string((*state)->key_store_backend()).c_str(), *users);
    return 0;
  }
  if (cmd[0] == "user" && cmd.size() == 3) {
    std::string name = Normalise(cmd[2]);
    if (!mail::ValidLocalPart(name)) {
      return Usage("user names are 1-64 characters of a-z 0-9 . _ - (no leading/trailing '.')");
    }
    if (cmd[1] == "add") return UserAdd(**state, args, name);
    if (cmd[1] == "del") {
      auto r = (*state)->keys().DeleteUser(name);
      if (!r.ok()) return Fail(r.error());
      std::printf("user %s deleted with all of their mail\n", name.c_str());
      return 0;
    }
    if (cmd[1] == "passwd") return UserPasswd(**state, args, name);
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
