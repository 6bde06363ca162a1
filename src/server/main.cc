// onionmaild: the server. Reads the config, opens the state directory,
// listens for SMTP and POP3 on loopback (by default) and serves until
// SIGTERM/SIGINT.
//
//   onionmaild [--config FILE]
//
// Start-up failures (bad config, state not initialised, port in use) print a
// clear error and exit with status 1.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "config/config.h"
#include "net/listener.h"
#include "net/socket_connection.h"
#include "net/tls_context.h"
#include "pop3/session.h"
#include "server/acceptor.h"
#include "server/state.h"
#include "smtp/session.h"

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

net::Timeouts MakeTimeouts(uint32_t idle_s, uint32_t session_s) {
  net::Timeouts t;
  t.idle = std::chrono::seconds(idle_s);
  t.session = std::chrono::seconds(session_s);
  return t;
}

int Serve(const config::Config& config) {
  auto state = State::Open(config);
  if (!state.ok()) return Fail(state.error().message);
  auto tls = (*state)->Tls();
  if (!tls.ok()) return Fail(tls.error().message);

  auto smtp_addr = net::ParseHostPort(config.smtp_listen);
  auto pop3_addr = net::ParseHostPort(config.pop3_listen);
  if (!smtp_addr.ok() || !pop3_addr.ok()) return Fail("bad listen address");
  auto smtp_fd = net::Listen(*smtp_addr);
  if (!smtp_fd.ok()) return Fail("smtp: " + smtp_fd.error().message);
  auto pop3_fd = net::Listen(*pop3_addr);
  if (!pop3_fd.ok()) return Fail("pop3: " + pop3_fd.error().message);

  smtp::SessionConfig smtp_config;
  smtp_config.domain = config.domain;
  smtp_config.hostname = config.greeting_name();
  smtp_config.max_message_bytes = config.smtp_max_message_bytes;
  smtp_config.max_recipients = config.smtp_max_recipients;
  smtp_config.auth_failure_delay_ms = config.auth_failure_delay_ms;
  pop3::SessionConfig pop3_config;
  pop3_config.hostname = config.greeting_name();
  pop3_config.auth_failure_delay_ms = config.auth_failure_delay_ms;
  pop3_config.expire_days = config.retention_days;

  State* st = state->get();
  std::shared_ptr<net::TlsContext> tls_ctx = *tls;
  auto smtp_timeouts =
      MakeTimeouts(config.smtp_idle_timeout_seconds, config.smtp_session_timeout_seconds);
  auto pop3_timeouts =
      MakeTimeouts(config.pop3_idle_timeout_seconds, config.pop3_session_timeout_seconds);

  Acceptor smtp_acceptor(
      "smtp", *smtp_fd, config.smtp_max_connections, "421 4.7.0 Too many connections\r\n",
      [st, tls_ctx, smtp_config, smtp_timeouts](int fd, const std::string& tag) {
        net::SocketConnection conn(fd, tls_ctx, smtp_timeouts);
        smtp::SessionConfig c = smtp_config;
        c.log_tag = tag;
        smtp::Session(conn, st->delivery(), c).Run();
      });
  Acceptor pop3_acceptor(
      "pop3", *pop3_fd, config.pop3_max_connections, "-ERR [SYS/TEMP] Too many connections\r\n",
      [st, tls_ctx, pop3_config, pop3_timeouts](int fd, const std::string& tag) {
        net::SocketConnection conn(fd, tls_ctx, pop3_timeouts);
        pop3::SessionConfig c = pop3_config;
        c.log_tag = tag;
        pop3::Session(conn, st->mailboxes(), c).Run();
      });

  std::atomic<bool> stop{false};
  std::thread smtp_thread([&] { smtp_acceptor.Run(stop); });
  std::thread pop3_thread([&] { pop3_acceptor.Run(stop); });
  std::thread sweeper([&] {
    auto next = std::chrono::steady_clock::now();
    while (!stop.load()) {
      if (std::chrono::steady_clock::now() >= next) {
        auto removed = st->SweepExpired();
        if (!removed.ok()) {
          log::Warning("sweep", removed.error().message);
        } else if (*removed > 0) {
          log::Info("sweep", "removed " + std::to_string(*removed) + " expired messages");
        }
        next = std::chrono::steady_clock::now() +
               std::chrono::seconds(config.sweep_interval_seconds);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });

  auto smtp_port = net::BoundPort(*smtp_fd);
  auto pop3_port = net::BoundPort(*pop3_fd);
  log::Info("onionmaild",
            "ready: domain " + config.domain + ", smtp " + smtp_addr->host + ":" +
                std::to_string(smtp_port.ok() ? *smtp_port : 0) + " (STARTTLS required), pop3 " +
                pop3_addr->host + ":" + std::to_string(pop3_port.ok() ? *pop3_port : 0) +
                " (STLS required), key store " + std::string((*state)->key_store_backend()) +
                " (device operations at start-up: " +
                std::to_string((*state)->device_operations()) + ")");

  sigset_t wait_set;
  sigemptyset(&wait_set);
  sigaddset(&wait_set, SIGTERM);
  sigaddset(&wait_set, SIGINT);
  int sig = 0;
  sigwait(&wait_set, &sig);
  log::Info("onionmaild", std::string("stopping on ") + strsignal(sig) +
                              "; key store device operations since start: " +
                              std::to_string((*state)->device_operations()));
  stop = true;
  smtp_thread.join();
  pop3_thread.join();
  sweeper.join();
  // Sessions still running are cut: none of them has been promised anything
  // that is not already durable (a 250 follows the fsync).
  std::fflush(stderr);
  _exit(0);
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
      std::puts("onionmaild 0.1.0");
      return 0;
    }
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else {
      std::fputs(server::kUsage, stderr);
      return 2;
    }
  }
  // Signals: SIGPIPE ignored (errors come back from send); SIGTERM/SIGINT are
  // taken synchronously by the main thread only.
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);

  if (!InitSecureMemory()) {
    log::Warning("onionmaild", "secure heap unavailable; secrets use the normal heap");
  }
  auto config = config::LoadConfig(config_path);
  if (!config.ok()) return server::Fail(config.error().message);
  log::Level level;
  if (log::ParseLevel(config->log_level, &level)) log::SetLevel(level);
  return server::Serve(*config);
}
