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
#include <string>

#include "base/log.h"
#include "config/config.h"
#include "seccomp/policies.h"
#include "server/outbound_role.h"
#include "server/peer_role.h"

namespace onionmail::server {
namespace {

constexpr const char* kUsage =
    "usage: onionmail-peer --config FILE --key-control-fd N\n"
    "A role of onionmaild, started by it; not meant to be run by hand.\n";

int Run(const OutboundRoleArgs& args) {
  auto started = StartOutboundRole(
      "peer", args, [](const config::Config& c) { return c.sandbox_peer_user; },
      [] { return seccomp::PeerClientPolicy(); });
  if (!started.ok()) return 1;
  const config::Config& config = started->config;

  peer::ClientOptions options;
  options.socks5_proxy = config.peer_socks5_proxy;
  options.timeout = std::chrono::seconds(config.peer_timeout_seconds);
  // EHLO keeps the library's neutral name, not [server] domain: through Tor
  // the outbound connection must not name the onion service it comes from.
  PeerRole role(started->channel, options);
  log::Info("peer", "started (pid " + std::to_string(::getpid()) + ", seccomp " +
                        (config.sandbox_seccomp ? "on" : "OFF") + ")");
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
  server::OutboundRoleArgs args;
  if (int rc = server::ParseOutboundRoleArgs(argc, argv, "onionmail-peer", "--key-control-fd",
                                             server::kUsage, &args);
      rc != 0) {
    return rc;
  }
  const int rc = server::Run(args);
  // _exit: no atexit work in a sandboxed role (a sanitizer's exit-time leak
  // check would trace the process, which every policy forbids).
  std::fflush(stderr);
  _exit(rc);
}
