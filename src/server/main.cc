// onionmaild: the supervisor. Reads the config, opens the SMTP and POP3
// listeners, creates the control channels between the key role and the other
// roles, and runs four or five roles as separate executables (next to this one):
//
//   onionmail-key   state directory, token, every key operation (key_main.cc)
//   onionmail-smtp  SMTP front end, no files, no keys (smtp_main.cc)
//   onionmail-pop3  POP3 front end, no files, no keys (pop3_main.cc)
//   onionmail-peer  the only role that connects out: asks the unseal peers at
//                   boot, forwards KCTL certificates; no files, no keys
//                   (peer_main.cc)
//   onionmail-relay only with [relay] enabled: carries authenticated users'
//                   mail to other onion servers through Tor while the SMTP
//                   session waits; no files, no keys (relay_main.cc)
//
// A role that dies is restarted with exponential backoff and the reason is
// logged (SIGSYS names the blocked syscall when the role reported it); the
// listeners and control channels survive restarts, so clients queue in the
// backlog meanwhile. The peer and relay roles' deaths never stop the server.
// The relay role has a channel to the key role too, for its TKIM proofs.
// SIGTERM/SIGINT stop every role, then onionmaild.
//
//   onionmaild [--config FILE]
//
// Started as root, the supervisor stays root (to restart roles) under its own
// seccomp policy and each role drops to its [sandbox] user; started as
// another user, every role keeps that uid (still under seccomp, no_new_privs,
// non-dumpable). Start-up failures print a clear error and exit 1; so does a
// key role that cannot start at boot (wrong PIN, TPM unreachable, bad
// state): it is not retried in a loop that would lock the device. Later
// restarts (after a crash or a lost device) are retried with backoff.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/sandbox.h"
#include "base/version.h"
#include "config/config.h"
#include "ipc/channel.h"
#include "net/listener.h"
#include "seccomp/policies.h"
#include "server/supervisor.h"

namespace onionmail::server {
namespace {

constexpr const char* kUsage =
    "usage: onionmaild [--config FILE]\n"
    "Runs the SMTP and POP3 services in the foreground; logs to stderr.\n"
    "Without --config the embedded defaults apply (127.0.0.1:2525, 127.0.0.1:1110,\n"
    "state in /var/lib/onionmaild). See docs/configuration.md.\n";

int Fail(const std::string& what) {
  log::Error("onionmaild", what);
  return 1;
}

std::string SyscallName(int nr) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  if (name == nullptr) return "";
  std::string out(name);
  std::free(name);
  return out;
}

Result<std::string> RoleDirectory() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return MakeError(ErrorCode::kInternal, "cannot find my own executable");
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/'));
}

// In the forked child: keep exactly `keep` across exec, then exec the role.
int ExecRole(const std::string& path, std::vector<std::string> args, std::vector<int> keep) {
  // stdout too goes to the supervisor's pipe: a role inherits no file.
  if (::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) return 126;
  for (int fd : keep) {
    if (::fcntl(fd, F_SETFD, 0) != 0) return 126;
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(path.c_str(), argv.data());
  std::fprintf(stderr, "cannot execute %s: %s\n", path.c_str(), std::strerror(errno));
  return 127;
}

int Serve(const std::string& config_path, const config::Config& config) {
  // ENOENT only: under systemd without CAP_DAC_OVERRIDE, root cannot look
  // into the key user's 0700 state directory (EACCES); the key role will.
  if (::access(config.tls_cert_path().c_str(), F_OK) != 0 && errno == ENOENT) {
    return Fail("state directory " + config.state_dir +
                " is not initialised: run `onionmailctl init`");
  }
  const bool root = ::geteuid() == 0;
  if (root) {
    std::vector<std::string> users = {config.sandbox_key_user, config.sandbox_smtp_user,
                                      config.sandbox_pop3_user, config.sandbox_peer_user};
    if (config.relay_enabled) users.push_back(config.sandbox_relay_user);
    for (const std::string& u : users) {
      if (::getpwnam(u.c_str()) == nullptr) {
        return Fail("sandbox user " + u +
                    " does not exist: run provisioning/create-users.sh (or set [sandbox])");
      }
    }
  } else {
    log::Warning("onionmaild",
                 "not started as root: all roles share this uid (seccomp still applies)");
  }
  auto dir = RoleDirectory();
  if (!dir.ok()) return Fail(dir.error().message);
  const std::string key_bin = *dir + "/onionmail-key";
  const std::string smtp_bin = *dir + "/onionmail-smtp";
  const std::string pop3_bin = *dir + "/onionmail-pop3";
  const std::string peer_bin = *dir + "/onionmail-peer";
  const std::string relay_bin = *dir + "/onionmail-relay";
  std::vector<std::string> bins = {key_bin, smtp_bin, pop3_bin, peer_bin};
  if (config.relay_enabled) bins.push_back(relay_bin);
  for (const std::string& b : bins) {
    if (::access(b.c_str(), X_OK) != 0) return Fail("role executable missing: " + b);
  }

  auto smtp_addr = net::ParseHostPort(config.smtp_listen);
  auto pop3_addr = net::ParseHostPort(config.pop3_listen);
  if (!smtp_addr.ok() || !pop3_addr.ok()) return Fail("bad listen address");
  auto smtp_fd = net::Listen(*smtp_addr);
  if (!smtp_fd.ok()) return Fail("smtp: " + smtp_fd.error().message);
  auto pop3_fd = net::Listen(*pop3_addr);
  if (!pop3_fd.ok()) return Fail("pop3: " + pop3_fd.error().message);
  // Control channels (CLOEXEC; each role un-sets it only on its own ends).
  auto smtp_ctl = ipc::Channel::CreatePair();
  auto pop3_ctl = ipc::Channel::CreatePair();
  auto peer_ctl = ipc::Channel::CreatePair();
  auto relay_ctl = ipc::Channel::CreatePair();  // SMTP front end -> relay role
  auto key_relay = ipc::Channel::CreatePair();  // relay role -> key role: TKIM proofs
  if (!smtp_ctl.ok() || !pop3_ctl.ok() || !peer_ctl.ok() || !relay_ctl.ok() || !key_relay.ok()) {
    return Fail("cannot create the control channels");
  }
  const int smtp_key_end = smtp_ctl->first.fd(), smtp_fe_end = smtp_ctl->second.fd();
  const int pop3_key_end = pop3_ctl->first.fd(), pop3_fe_end = pop3_ctl->second.fd();
  const int peer_key_end = peer_ctl->first.fd(), peer_role_end = peer_ctl->second.fd();
  const int smtp_relay_end = relay_ctl->first.fd(), relay_role_end = relay_ctl->second.fd();
  const int relay_key_end = key_relay->first.fd(), relay_tkim_end = key_relay->second.fd();
  const bool relay = config.relay_enabled;

  SupervisorOptions options;
  options.syscall_name = SyscallName;
  Supervisor supervisor(options);
  auto fd_arg = [](int fd) { return std::to_string(fd); };
  std::vector<RoleSpec> roles;
  roles.push_back({"key",
                   [=] {
                     std::vector<std::string> args = {"--config",          config_path,
                                                      "--smtp-control-fd", fd_arg(smtp_key_end),
                                                      "--pop3-control-fd", fd_arg(pop3_key_end),
                                                      "--peer-control-fd", fd_arg(peer_key_end)};
                     std::vector<int> fds = {smtp_key_end, pop3_key_end, peer_key_end};
                     if (relay) {
                       args.insert(args.end(), {"--relay-control-fd", fd_arg(relay_key_end)});
                       fds.push_back(relay_key_end);
                     }
                     return ExecRole(key_bin, args, fds);
                   },
                   {}});
  roles.push_back({"smtp",
                   [=, l = *smtp_fd] {
                     std::vector<std::string> args = {"--config",     config_path,
                                                      "--listen-fd",  fd_arg(l),
                                                      "--control-fd", fd_arg(smtp_fe_end)};
                     std::vector<int> fds = {l, smtp_fe_end};
                     if (relay) {
                       args.insert(args.end(), {"--relay-control-fd", fd_arg(smtp_relay_end)});
                       fds.push_back(smtp_relay_end);
                     }
                     return ExecRole(smtp_bin, args, fds);
                   },
                   {}});
  roles.push_back({"pop3",
                   [=, l = *pop3_fd] {
                     return ExecRole(pop3_bin,
                                     {"--config", config_path, "--listen-fd", fd_arg(l),
                                      "--control-fd", fd_arg(pop3_fe_end)},
                                     {l, pop3_fe_end});
                   },
                   {}});
  // Restarted with backoff like the front ends; the monitor below stops the
  // server only for the key role, so a peer role that keeps dying (peers
  // unreachable is not a death: it retries by itself) never stops it.
  roles.push_back({"peer",
                   [=] {
                     return ExecRole(
                         peer_bin,
                         {"--config", config_path, "--key-control-fd", fd_arg(peer_role_end)},
                         {peer_role_end});
                   },
                   {}});
  // Only with [relay] enabled. Like the peer role, its deaths never stop the
  // server: the SMTP front end answers 451 while it is away.
  if (relay) {
    roles.push_back({"relay",
                     [=] {
                       return ExecRole(
                           relay_bin,
                           {"--config", config_path, "--control-fd", fd_arg(relay_role_end),
                            "--key-control-fd", fd_arg(relay_tkim_end)},
                           {relay_role_end, relay_tkim_end});
                     },
                     {}});
  }
  for (auto& r : roles) {
    auto added = supervisor.Add(std::move(r));
    if (!added.ok()) return Fail(added.error().message);
  }

  if (config.sandbox_seccomp) {
    SandboxOptions sandbox;
    sandbox.allow_root = true;  // the supervisor must stay root to restart roles
    // Filters stack, so this one bounds every role: TCP client sockets must
    // pass it for the peer role (and for the key role's swtpm/mssim TCTI).
    // Each role's own policy narrows that again (only the peer role, and the
    // key role with a TCP TCTI, may make one).
    sandbox.policy = seccomp::SupervisorPolicy(/*allow_tcp_client=*/true);
    auto entered = EnterSandbox(sandbox);
    if (!entered.ok()) return Fail("cannot enter the sandbox: " + entered.error().message);
  } else {
    log::Warning("onionmaild", "seccomp disabled by [sandbox] seccomp = false (debugging only)");
  }

  auto smtp_port = net::BoundPort(*smtp_fd);
  auto pop3_port = net::BoundPort(*pop3_fd);
  log::Info("onionmaild", "ready: domain " + config.domain + ", smtp " + smtp_addr->host + ":" +
                              std::to_string(smtp_port.ok() ? *smtp_port : 0) +
                              " (STARTTLS required), pop3 " + pop3_addr->host + ":" +
                              std::to_string(pop3_port.ok() ? *pop3_port : 0) +
                              " (STLS required), key store " + config.keys_backend +
                              "; roles key, smtp, pop3, peer" + (relay ? ", relay" : "") +
                              (root ? " under their own users" : ""));

  std::atomic<bool> stop{false};
  std::thread waiter([&stop] {
    sigset_t wait_set;
    sigemptyset(&wait_set);
    sigaddset(&wait_set, SIGTERM);
    sigaddset(&wait_set, SIGINT);
    int sig = 0;
    sigwait(&wait_set, &sig);
    log::Info("onionmaild", std::string("stopping on ") + strsignal(sig));
    stop = true;
  });
  // The key role exits with status 1 only when it cannot start (config,
  // state, device: wrong PIN, TPM unreachable). At boot, retrying that in a loop
  // would burn the token's PIN counter or the TPM's lockout budget, so the
  // whole server stops with an error instead (systemd may restart it later).
  std::atomic<bool> key_failed{false};
  std::thread monitor([&] {
    while (!stop.load()) {
      for (const RoleStatus& r : supervisor.Status()) {
        if (r.name == "key" && r.starts == 1 && r.last_exit.kind == ExitInfo::Kind::kExited &&
            r.last_exit.status == 1) {
          key_failed = true;
          stop = true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  auto ran = supervisor.Run(stop);
  stop = true;
  monitor.join();
  if (key_failed.load()) {
    log::Error("onionmaild", "the key role could not start (see its error above); stopping");
    std::fflush(stderr);
    _exit(1);
  }
  if (!ran.ok()) {
    log::Error("onionmaild", ran.error().message);
    std::fflush(stderr);
    _exit(1);
  }
  log::Info("onionmaild", "stopped");
  std::fflush(stderr);
  _exit(0);  // the waiter thread is still blocked in sigwait if Run failed early
}

}  // namespace
}  // namespace onionmail::server

int main(int argc, char** argv) {
  using namespace onionmail;
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(server::kUsage, stdout);
      return 0;
    }
    if (a == "--version") {
      std::puts(kSoftware);
      return 0;
    }
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else {
      std::fputs(server::kUsage, stderr);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);

  auto config = config::LoadConfig(config_path);
  if (!config.ok()) return server::Fail(config.error().message);
  log::Level level;
  if (log::ParseLevel(config->log_level, &level)) log::SetLevel(level);
  if (!config_path.empty() && config_path[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) != nullptr) config_path = std::string(cwd) + "/" + config_path;
  }
  return server::Serve(config_path, *config);
}
