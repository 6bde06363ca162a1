// onionmail-peer: the peer role, the only process of the server that connects
// out to other servers (TORM over SMTP + STARTTLS, TLS 1.3 with the peer's
// key pinned, through Tor's SOCKS port when [peer] socks5_proxy is set). It
// asks the unseal peers at boot and forwards KCTL certificates; it holds no
// key: the key role builds every request (peer_role.h). Exec'd by onionmaild:
//
//   onionmail-peer --config FILE --key-control-fd N
//
// Start-up, in order: read the config; warm up OpenSSL's TLS client (so no
// file is opened later); EnterSandbox: drop to [sandbox] peer_user when root,
// no_new_privs, non-dumpable, no core, PeerClientPolicy (TCP client sockets
// only: no file, no other socket, no exec, no fork); then the Hello exchange
// with the key role and the loop. Exit status 1 = start-up failed, 3 = the
// control channel failed (the supervisor restarts the role either way; its
// death never stops the server).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/log.h"
#include "base/sandbox.h"
#include "config/config.h"
#include "ipc/channel.h"
#include "seccomp/policies.h"
#include "server/peer_role.h"

namespace onionmail::server {
namespace {

constexpr const char* kUsage =
    "usage: onionmail-peer --config FILE --key-control-fd N\n"
    "A role of onionmaild, started by it; not meant to be run by hand.\n";

int Run(const std::string& config_path, int key_fd) {
  auto config = config::LoadConfig(config_path);
  if (!config.ok()) {
    log::Error("peer", config.error().message);
    return 1;
  }
  log::Level level;
  if (log::ParseLevel(config->log_level, &level)) log::SetLevel(level);
  auto channel = ipc::Channel::FromFd(key_fd);
  if (!channel.ok()) {
    log::Error("peer", "bad control channel: " + channel.error().message);
    return 1;
  }
  if (auto warm = WarmUpTlsClient(); !warm.ok()) {
    log::Error("peer", warm.error().message);
    return 1;
  }
  if (auto preloaded = PreloadLibrariesForSandbox(); !preloaded.ok()) {
    log::Error("peer", preloaded.error().message);
    return 1;
  }
  SandboxOptions sandbox;
  sandbox.user = ::geteuid() == 0 ? config->sandbox_peer_user : "";
  if (config->sandbox_seccomp) {
    sandbox.policy = seccomp::PeerClientPolicy();
    // As the front ends: the blocked syscall is named in the supervisor's log.
    sandbox.policy->ReportViolations(true);
  } else {
    log::Warning("peer", "seccomp disabled by [sandbox] seccomp = false (debugging only)");
  }
  auto entered = EnterSandbox(sandbox);
  if (!entered.ok()) {
    log::Error("peer", "cannot enter the sandbox: " + entered.error().message);
    return 1;
  }

  peer::ClientOptions options;
  options.socks5_proxy = config->peer_socks5_proxy;
  options.timeout = std::chrono::seconds(config->peer_timeout_seconds);
  // EHLO keeps the library's neutral name, not [server] domain: through Tor
  // the outbound connection must not name the onion service it comes from.
  PeerRole role(*channel, options);
  log::Info("peer", "started (pid " + std::to_string(::getpid()) + ", seccomp " +
                        (config->sandbox_seccomp ? "on" : "OFF") + ")");
  std::atomic<bool> stop{false};  // SIGTERM ends the process (default action)
  auto ran = role.Run(stop);
  if (!ran.ok()) {
    log::Error("peer",
               "control channel to the key role failed: " + ran.error().message + "; exiting");
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
  int key_fd = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--config" && has_value) {
      config_path = argv[++i];
    } else if (a == "--key-control-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &key_fd)) {
      ++i;
    } else {
      std::fputs(server::kUsage, stderr);
      return 2;
    }
  }
  if (key_fd < 0) {
    std::fputs("onionmail-peer: --key-control-fd is required\n", stderr);
    return 2;
  }
  const int rc = server::Run(config_path, key_fd);
  // _exit: no atexit work in a sandboxed role (a sanitizer's exit-time leak
  // check would trace the process, which every policy forbids).
  std::fflush(stderr);
  _exit(rc);
}
