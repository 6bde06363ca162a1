// Start-up of the outbound roles; see outbound_role.h.
#include "server/outbound_role.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>

#include "base/log.h"
#include "base/sandbox.h"
#include "peer/tls_client.h"

namespace onionmail::server {

int ParseOutboundRoleArgs(int argc, char** argv, const char* prog, const char* fd_flag,
                          const char* usage, OutboundRoleArgs* out, const char* key_fd_flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--config" && has_value) {
      out->config_path = argv[++i];
    } else if (a == fd_flag && has_value && ipc::ParseInheritedFd(argv[i + 1], &out->control_fd)) {
      ++i;
    } else if (key_fd_flag != nullptr && a == key_fd_flag && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &out->key_fd)) {
      ++i;
    } else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  if (out->control_fd < 0) {
    std::fprintf(stderr, "%s: %s is required\n", prog, fd_flag);
    return 2;
  }
  return 0;
}

Result<OutboundRole> StartOutboundRole(
    const char* role, const OutboundRoleArgs& args,
    const std::function<std::string(const config::Config&)>& user,
    const std::function<seccomp::Policy()>& policy, const std::function<void()>& warm_up) {
  auto fail = [role](const std::string& what, const Error& error) {
    log::Error(role, what + error.message);
    return error;
  };
  auto config = config::LoadConfig(args.config_path);
  if (!config.ok()) return fail("", config.error());
  log::Level level;
  if (log::ParseLevel(config->log_level, &level)) log::SetLevel(level);
  auto channel = ipc::Channel::FromFd(args.control_fd);
  if (!channel.ok()) return fail("bad control channel: ", channel.error());
  std::optional<ipc::Channel> key_channel;
  if (args.key_fd >= 0) {
    auto key = ipc::Channel::FromFd(args.key_fd);
    if (!key.ok()) return fail("bad key role channel: ", key.error());
    key_channel.emplace(std::move(*key));
  }
  if (auto warm = peer::WarmUpTlsClient(); !warm.ok()) return fail("", warm.error());
  if (warm_up) warm_up();
  if (auto preloaded = PreloadLibrariesForSandbox(); !preloaded.ok()) {
    return fail("", preloaded.error());
  }
  SandboxOptions sandbox;
  sandbox.user = ::geteuid() == 0 ? user(*config) : "";
  if (config->sandbox_seccomp) {
    sandbox.policy = policy();
    // As the front ends: the blocked syscall is named in the supervisor's log.
    sandbox.policy->ReportViolations(true);
  } else {
    log::Warning(role, "seccomp disabled by [sandbox] seccomp = false (debugging only)");
  }
  if (auto entered = EnterSandbox(sandbox); !entered.ok()) {
    return fail("cannot enter the sandbox: ", entered.error());
  }
  return OutboundRole{std::move(*config), std::move(*channel), std::move(key_channel)};
}

}  // namespace onionmail::server
