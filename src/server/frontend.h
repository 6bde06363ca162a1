// RunFrontEnd: the common start-up and accept loop of the SMTP and POP3
// front-end processes (onionmail-smtp, onionmail-pop3), exec'd by the
// supervisor with an inherited listening socket and a control channel to the
// key role.
//
//   onionmail-smtp --config FILE --listen-fd N --control-fd M
//
// Contract, in order:
//  1. reads the config (before any privilege drop);
//  2. asks the key role, over a session channel, for the TLS certificate
//     chain and public key; the private key stays in the key role (or its
//     token) and every handshake signature is a TlsSignRequest or
//     TlsEcdsaSignRequest; with session TLS keys ([tls] session_key_hours)
//     each connection asks again which key is current and a new context is
//     built when it changed;
//  3. EnterSandbox: drops to the role's user (when root), no_new_privs,
//     non-dumpable, no core, the role's seccomp policy (unless
//     [sandbox] seccomp = false) -- from then on no file can be opened and
//     no socket but an AF_UNIX socketpair created;
//  4. serves: each accepted connection gets a fresh socketpair, one end sent
//     to the key role (NewSession), and runs `serve` in its own thread.
// Start-up failures are logged and return exit status 1 (the supervisor
// restarts the role with backoff).
#pragma once

#include <functional>
#include <string>

#include "config/config.h"
#include "mail/backend.h"
#include "net/connection.h"
#include "seccomp/policy.h"
#include "server/remote_backend.h"

namespace onionmail::server {

struct FrontEndSpec {
  std::string name;        // "smtp" or "pop3" (logs)
  std::string busy_reply;  // sent when max_connections is reached
  uint32_t max_connections = 0;
  // An enter gateway's limits for clients not on loopback (server/acceptor.h,
  // client_limits.h); 0: none of their own.
  uint32_t outside_max_connections = 0;
  uint32_t outside_max_per_address = 0;
  uint32_t outside_per_minute_per_address = 0;  // 0: no rate limit
  std::string outside_busy_reply;
  uint32_t idle_timeout_seconds = 0;
  uint32_t session_timeout_seconds = 0;
  std::string user;  // sandbox user when started as root
  std::function<seccomp::Policy()> policy;
  // Runs one session; the link reaches the key role for this connection;
  // `from_loopback`: the client connected from a loopback address (Acceptor).
  std::function<void(net::Connection& conn, SessionLink& link, const std::string& tag,
                     bool from_loopback)>
      serve;
  // Reply sent when the key role cannot be reached for a new connection.
  std::string unavailable_reply;
};

// argv parsing and config loading; fills `config` or prints usage (exit 2).
struct FrontEndArgs {
  std::string config_path;
  int listen_fd = -1;
  int control_fd = -1;
  int relay_control_fd = -1;  // SMTP with [relay] enabled: the channel to onionmail-relay
};
int ParseFrontEndArgs(int argc, char** argv, const char* prog, FrontEndArgs* out);

int RunFrontEnd(const FrontEndArgs& args, const config::Config& config, FrontEndSpec spec);

}  // namespace onionmail::server
