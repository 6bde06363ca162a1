// Start-up shared by the two roles that connect out, onionmail-peer
// (peer_main.cc) and onionmail-relay (relay_main.cc): argv, config, the
// inherited control channel, warm-ups, then the sandbox.
//
// Contract:
//  - ParseOutboundRoleArgs() accepts exactly `--config FILE`, `<fd_flag>
//    N` (an inherited fd number) and, when `key_fd_flag` is given, an
//    optional `<key_fd_flag> M` (the relay role's channel to the key role);
//    anything else prints `usage` (or, without the required fd, "<prog>:
//    <fd_flag> is required") to stderr and returns 2, else 0.
//  - StartOutboundRole(), in order: loads the config (its log level applies
//    from then on), adopts the control channel fd (and the key channel fd
//    when given), warms up OpenSSL's TLS
//    client (peer::WarmUpTlsClient) and then runs `warm_up` (anything else
//    that must touch files before the sandbox), preloads libraries, and
//    enters the sandbox: drop to the `user` the config names when root,
//    no_new_privs, non-dumpable, no core, and `policy` with violations
//    reported by name, unless [sandbox] seccomp = false (logged as a
//    warning). Every failure is logged under `role` and returned; the
//    caller exits with status 1.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/result.h"
#include "config/config.h"
#include "ipc/channel.h"
#include "seccomp/policy.h"

namespace onionmail::server {

struct OutboundRoleArgs {
  std::string config_path;
  int control_fd = -1;
  int key_fd = -1;  // -1: none given
};

int ParseOutboundRoleArgs(int argc, char** argv, const char* prog, const char* fd_flag,
                          const char* usage, OutboundRoleArgs* out,
                          const char* key_fd_flag = nullptr);

struct OutboundRole {
  config::Config config;
  ipc::Channel channel;
  std::optional<ipc::Channel> key_channel;  // set when args.key_fd was given
};

[[nodiscard]] Result<OutboundRole> StartOutboundRole(
    const char* role, const OutboundRoleArgs& args,
    const std::function<std::string(const config::Config&)>& user,
    const std::function<seccomp::Policy()>& policy, const std::function<void()>& warm_up = {});

}  // namespace onionmail::server
