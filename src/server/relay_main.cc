// onionmail-relay: the relay role (docs/federation.md). It carries a local
// user's message to another onion server through Tor while the user's SMTP
// session waits; it holds no key and opens no file. Exec'd by onionmaild when
// [relay] enabled = true:
//
//   onionmail-relay --config FILE --control-fd N
//
// N is its end of the control channel from the SMTP front end, on which each
// relayed transaction arrives as a session channel (server/relay_session.h).
// Start-up, in order: read the config; warm up OpenSSL's TLS client (so no
// file is opened later); EnterSandbox: drop to [sandbox] relay_user when
// root, no_new_privs, non-dumpable, no core, RelayPolicy (TCP client sockets
// only: no file, no other socket, no exec, no fork); then serve. Exit status
// 1 = start-up failed, 3 = the control channel failed (the supervisor
// restarts the role either way; its death never stops the server).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include "base/log.h"
#include "base/sandbox.h"
#include "config/config.h"
#include "ipc/channel.h"
#include "mail/relay.h"
#include "peer/tls_client.h"
#include "seccomp/policies.h"
#include "server/relay_session.h"

namespace onionmail::server {
namespace {

constexpr const char* kUsage =
    "usage: onionmail-relay --config FILE --control-fd N\n"
    "A role of onionmaild, started by it; not meant to be run by hand.\n";

int Run(const std::string& config_path, int control_fd) {
  auto config = config::LoadConfig(config_path);
  if (!config.ok()) {
    log::Error("relay", config.error().message);
    return 1;
  }
  log::Level level;
  if (log::ParseLevel(config->log_level, &level)) log::SetLevel(level);
  auto channel = ipc::Channel::FromFd(control_fd);
  if (!channel.ok()) {
    log::Error("relay", "bad control channel: " + channel.error().message);
    return 1;
  }
  if (auto warm = peer::WarmUpTlsClient(); !warm.ok()) {
    log::Error("relay", warm.error().message);
    return 1;
  }
  // Fetches SHA3-256 (the onion checksum) from OpenSSL's provider now.
  (void)mail::IsV3OnionDomain(std::string(56, 'a') + ".onion");
  if (auto preloaded = PreloadLibrariesForSandbox(); !preloaded.ok()) {
    log::Error("relay", preloaded.error().message);
    return 1;
  }
  SandboxOptions sandbox;
  sandbox.user = ::geteuid() == 0 ? config->sandbox_relay_user : "";
  if (config->sandbox_seccomp) {
    sandbox.policy = seccomp::RelayPolicy();
    sandbox.policy->ReportViolations(true);  // the blocked syscall is named in the log
  } else {
    log::Warning("relay", "seccomp disabled by [sandbox] seccomp = false (debugging only)");
  }
  auto entered = EnterSandbox(sandbox);
  if (!entered.ok()) {
    log::Error("relay", "cannot enter the sandbox: " + entered.error().message);
    return 1;
  }

  RelayOptions options;
  options.socks5_proxy = config->relay_socks5_proxy;
  // The remote learns this server's domain from MAIL FROM anyway; EHLO names it too.
  options.helo_name = config->greeting_name();
  options.connect_timeout = std::chrono::seconds(config->relay_connect_timeout_seconds);
  options.max_concurrent = config->relay_max_concurrent;
  log::Info("relay", "started (pid " + std::to_string(::getpid()) + ", seccomp " +
                         (config->sandbox_seccomp ? "on" : "OFF") + ")");
  std::atomic<bool> stop{false};  // SIGTERM ends the process (default action)
  auto ran = ServeRelayControl(*channel, options, &stop);
  if (!ran.ok()) {
    log::Error("relay", "control channel from the SMTP front end failed: " + ran.error().message +
                            "; exiting");
    return 3;
  }
  return 0;
}

}  // namespace
}  // namespace onionmail::server

int main(int argc, char** argv) {
  using namespace onionmail;
  signal(SIGPIPE, SIG_IGN);
  std::string config_path;
  int control_fd = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--config" && has_value) {
      config_path = argv[++i];
    } else if (a == "--control-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &control_fd)) {
      ++i;
    } else {
      std::fputs(server::kUsage, stderr);
      return 2;
    }
  }
  if (control_fd < 0) {
    std::fputs("onionmail-relay: --control-fd is required\n", stderr);
    return 2;
  }
  const int rc = server::Run(config_path, control_fd);
  // _exit: no atexit work in a sandboxed role (a sanitizer's exit-time leak
  // check would trace the process, which every policy forbids).
  std::fflush(stderr);
  _exit(rc);
}
