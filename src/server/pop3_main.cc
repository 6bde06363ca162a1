// onionmail-pop3: the POP3 front-end process (see frontend.h). Parses
// attacker input; holds no key, opens no file; mailboxes are opened, read
// and expunged by the key role for the session that authenticated.
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "config/config.h"
#include "pop3/session.h"
#include "seccomp/policies.h"
#include "server/frontend.h"

int main(int argc, char** argv) {
  using namespace onionmail;
  signal(SIGPIPE, SIG_IGN);
  server::FrontEndArgs args;
  if (int rc = server::ParseFrontEndArgs(argc, argv, "onionmail-pop3", &args); rc != 0) return rc;
  (void)InitSecureMemory();
  auto config = config::LoadConfig(args.config_path);
  if (!config.ok()) {
    log::Error("pop3", config.error().message);
    return 1;
  }
  log::Level level;
  if (log::ParseLevel(config->log_level, &level)) log::SetLevel(level);

  pop3::SessionConfig pc;
  pc.hostname = config->greeting_name();
  pc.domain = config->domain;
  pc.auth_failure_delay_ms = config->auth_failure_delay_ms;
  pc.expire_days = config->retention_days;

  server::FrontEndSpec spec;
  spec.name = "pop3";
  spec.busy_reply = "-ERR [SYS/TEMP] Too many connections\r\n";
  spec.unavailable_reply = "-ERR [SYS/TEMP] Service temporarily unavailable\r\n";
  spec.max_connections = config->pop3_max_connections;
  spec.idle_timeout_seconds = config->pop3_idle_timeout_seconds;
  spec.session_timeout_seconds = config->pop3_session_timeout_seconds;
  spec.user = config->sandbox_pop3_user;
  spec.policy = [] { return seccomp::Pop3FrontEndPolicy(); };
  const bool registration = config->pop3_registration;
  spec.serve = [pc, registration](net::Connection& conn, server::SessionLink& link,
                                  const std::string& tag, bool /*from_loopback*/) {
    server::RemoteMailboxes mailboxes(link);
    pop3::SessionConfig c = pc;
    c.log_tag = tag;
    // RQUS: the key role checks the voucher and makes the account
    // (RemoteMailboxes is the RegistrationService).
    pop3::Session(conn, mailboxes, c, registration ? &mailboxes : nullptr).Run();
  };
  const int rc = server::RunFrontEnd(args, *config, std::move(spec));
  // _exit: no atexit work in a sandboxed role (a sanitizer's exit-time leak
  // check would trace the process, which every policy forbids).
  std::fflush(stderr);
  _exit(rc);
}
