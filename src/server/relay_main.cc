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
#include "config/config.h"
#include "mail/relay.h"
#include "seccomp/policies.h"
#include "server/outbound_role.h"
#include "server/relay_session.h"

namespace onionmail::server {
namespace {

constexpr const char* kUsage =
    "usage: onionmail-relay --config FILE --control-fd N\n"
    "A role of onionmaild, started by it; not meant to be run by hand.\n";

int Run(const OutboundRoleArgs& args) {
  auto started = StartOutboundRole(
      "relay", args, [](const config::Config& c) { return c.sandbox_relay_user; },
      [] { return seccomp::RelayPolicy(); },
      // Fetches SHA3-256 (the onion checksum) from OpenSSL's provider now.
      [] { (void)mail::IsV3OnionDomain(std::string(56, 'a') + ".onion"); });
  if (!started.ok()) return 1;
  const config::Config& config = started->config;

  RelayOptions options;
  options.socks5_proxy = config.relay_socks5_proxy;
  // The remote learns this server's domain from MAIL FROM anyway; EHLO names it too.
  options.helo_name = config.greeting_name();
  options.connect_timeout = std::chrono::seconds(config.relay_connect_timeout_seconds);
  options.max_concurrent = config.relay_max_concurrent;
  log::Info("relay", "started (pid " + std::to_string(::getpid()) + ", seccomp " +
                         (config.sandbox_seccomp ? "on" : "OFF") + ")");
  std::atomic<bool> stop{false};  // SIGTERM ends the process (default action)
  auto ran = ServeRelayControl(started->channel, options, &stop);
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
  server::OutboundRoleArgs args;
  if (int rc = server::ParseOutboundRoleArgs(argc, argv, "onionmail-relay", "--control-fd",
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
