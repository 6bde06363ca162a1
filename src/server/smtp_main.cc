// onionmail-smtp: the SMTP front-end process (see frontend.h). Parses
// attacker input; holds no key, opens no file, reaches storage and keys only
// through its session channels to the key role.
//
// Test builds only (-DONIONMAIL_TEST_HOOKS=ON): a client line
// "XSECCOMP-TEST-OPEN" makes this process call openat(2), which its seccomp
// policy forbids, so integration tests can check that a compromised front
// end dies with SIGSYS, is restarted, and that the server keeps delivering.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>

#include "base/log.h"
#include "base/secret_bytes.h"
#include "base/version.h"
#include "bot/bot.h"
#include "config/config.h"
#include "ipc/channel.h"
#include "mail/relay.h"
#include "seccomp/policies.h"
#include "server/frontend.h"
#include "server/relay_backend.h"
#include "server/tkim_backend.h"
#include "smtp/session.h"

namespace onionmail::server {
namespace {

#ifdef ONIONMAIL_TEST_HOOKS
class TestHookConnection : public net::Connection {
 public:
  explicit TestHookConnection(net::Connection& inner) : inner_(inner) {}
  Result<net::Line> ReadLine(size_t max_bytes) override {
    auto line = inner_.ReadLine(max_bytes);
    if (line.ok() && line->text == "XSECCOMP-TEST-OPEN") {
      log::Warning("smtp", "test hook: calling openat(2), which the policy forbids");
      int fd = ::open("/etc/hostname", O_RDONLY | O_CLOEXEC);  // SIGSYS here
      if (fd >= 0) ::close(fd);
    }
    return line;
  }
  Result<void> Write(std::string_view bytes) override { return inner_.Write(bytes); }
  Result<void> Flush() override { return inner_.Flush(); }
  Result<void> StartTls() override { return inner_.StartTls(); }
  bool IsTls() const override { return inner_.IsTls(); }
  size_t Buffered() const override { return inner_.Buffered(); }
  void WipeBuffers() override { inner_.WipeBuffers(); }
  Result<std::array<uint8_t, 32>> TlsExporterBinding() const override {
    return inner_.TlsExporterBinding();
  }

 private:
  net::Connection& inner_;
};
#endif

}  // namespace
}  // namespace onionmail::server

int main(int argc, char** argv) {
  using namespace onionmail;
  signal(SIGPIPE, SIG_IGN);
  server::FrontEndArgs args;
  if (int rc = server::ParseFrontEndArgs(argc, argv, "onionmail-smtp", &args); rc != 0) return rc;
  (void)InitSecureMemory();
  auto config = config::LoadConfig(args.config_path);
  if (!config.ok()) {
    log::Error("smtp", config.error().message);
    return 1;
  }
  log::Level level;
  if (log::ParseLevel(config->log_level, &level)) log::SetLevel(level);

  smtp::SessionConfig sc;
  sc.domain = config->domain;
  sc.hostname = config->greeting_name();
  sc.max_message_bytes = config->smtp_max_message_bytes;
  sc.max_recipients = config->smtp_max_recipients;
  sc.max_unknown_recipients = config->smtp_max_unknown_recipients;
  sc.max_received_headers = config->smtp_max_received_headers;
  sc.auth_failure_delay_ms = config->auth_failure_delay_ms;
  sc.require_tkim = config->relay_require_tkim;
  sc.max_remote_servers = config->relay_max_servers_per_message;
  sc.exit_domain = config->exit_domain;          // an enter gateway (docs/gateways.md)
  sc.exit_gateway = config->relay_exit_gateway;  // where users' Internet mail goes
  sc.exit_to_internet = !config->exit_smarthost.empty();
  sc.vmat_for_servers = !config->exit_vmat_servers.empty();  // SMTP VMAT (docs/PROTOCOL.md)

  server::FrontEndSpec spec;
  spec.name = "smtp";
  spec.busy_reply = "421 4.7.0 Too many connections\r\n";
  spec.unavailable_reply = "421 4.3.0 Service temporarily unavailable\r\n";
  spec.max_connections = config->smtp_max_connections;
  if (!config->exit_domain.empty()) {  // Internet MTAs share a part (docs/gateways.md)
    spec.outside_max_connections = config->exit_max_connections;
    spec.outside_max_per_address = config->exit_max_connections_per_address;
    spec.outside_per_minute_per_address = config->exit_connections_per_minute_per_address;
    spec.outside_busy_reply = "421 4.7.0 Too many connections from your address\r\n";
  }
  spec.idle_timeout_seconds = config->smtp_idle_timeout_seconds;
  spec.session_timeout_seconds = config->smtp_session_timeout_seconds;
  spec.user = config->sandbox_smtp_user;
  spec.policy = [] { return seccomp::SmtpFrontEndPolicy(); };
  const bool serve_torm = config->peer_serve;
  // [relay] enabled: onionmaild passes the channel to onionmail-relay, and
  // onion recipients of authenticated users are relayed (docs/federation.md).
  std::shared_ptr<server::RemoteRelayBackend> relay;
  if (args.relay_control_fd >= 0) {
    auto channel = ipc::Channel::FromFd(args.relay_control_fd);
    if (!channel.ok()) {
      log::Error("smtp", "bad relay control channel: " + channel.error().message);
      return 1;
    }
    relay = std::make_shared<server::RemoteRelayBackend>(std::move(*channel));
    // Fetches SHA3-256 from OpenSSL's provider now, before the sandbox.
    (void)mail::IsV3OnionDomain(std::string(56, 'a') + ".onion");
  }
  // server@ (docs/PROTOCOL.md, "server@: the server's command bot").
  std::optional<bot::ServerFacts> bot_facts;
  if (config->bot_enabled) {
    bot::ServerFacts facts;
    facts.domain = config->domain;
    facts.software = kSoftware;
    facts.max_message_bytes = config->smtp_max_message_bytes;
    facts.max_recipients = config->smtp_max_recipients;
    facts.max_remote_servers = config->relay_max_servers_per_message;
    facts.mailbox_quota_bytes = uint64_t{config->mailbox_quota_mib} * 1024 * 1024;
    facts.relay_enabled = relay != nullptr;
    facts.require_tkim = config->relay_require_tkim;
    facts.torm_served = serve_torm;
    facts.rules = config->bot_rules;
    facts.sysop = config->bot_sysop;
    facts.registration = config->pop3_registration;
    facts.exit_domain = config->exit_domain;
    facts.exit_sends = !config->exit_smarthost.empty();
    facts.exit_gateway = config->relay_exit_gateway;  // VMAT asks it (through the relay role)
    bot_facts = std::move(facts);
  }
  // Mailing lists (docs/PROTOCOL.md, "Mailing lists") are managed through
  // the bot, so they are served only with it.
  const bool serve_lists = config->bot_enabled && config->bot_lists;
  spec.serve = [sc, serve_torm, relay, bot_facts, serve_lists](
                   net::Connection& conn, server::SessionLink& link, const std::string& tag,
                   bool from_loopback) {
    server::RemoteDelivery delivery(link);
    std::optional<bot::Bot> bot;
    // SPAM and LIST commands and list posts: the key role acts only for the
    // user authenticated on this session (RemoteDelivery is the
    // BlockListService and the ListService; for VOUCHER, the VoucherService,
    // and the key role checks that this user is the sysop).
    mail::ListService* lists = serve_lists ? &delivery : nullptr;
    if (bot_facts) {
      mail::VoucherService* vouchers = bot_facts->sysop.empty() ? nullptr : &delivery;
      // On a gateway, VMAT: the key role acts for this session's user only.
      mail::VmatService* own_vmat = bot_facts->exit_domain.empty() ? nullptr : &delivery;
      // Not a gateway: VMAT asks the exit gateway for this session's user.
      mail::GatewayVmatService* gateway_vmat = relay.get();
      bot.emplace(
          *bot_facts, [&link] { return server::FetchServerKey(link); }, nullptr, &delivery, lists,
          vouchers, own_vmat, gateway_vmat);
    }
    mail::BotService* bot_service = bot ? &*bot : nullptr;
    server::RemoteTorm torm(link);
    mail::TormService* torm_service = serve_torm ? &torm : nullptr;
    // TKIM (docs/PROTOCOL.md) needs the relay role: it calls the sender back.
    std::optional<server::RemoteTkim> tkim;
    if (relay) tkim.emplace(link, *relay);
    mail::TkimService* tkim_service = tkim ? &*tkim : nullptr;
    // VMAT aliases of an enter gateway: the key role holds them.
    mail::VmatService* vmat = sc.exit_domain.empty() ? nullptr : &delivery;
    smtp::SessionConfig c = sc;
    c.log_tag = tag;
    // On a gateway, a client from anywhere but loopback (Tor's onion service
    // connects from there) is an Internet MTA: it delivers to aliases only.
    c.internet_client = !sc.exit_domain.empty() && !from_loopback;
#ifdef ONIONMAIL_TEST_HOOKS
    server::TestHookConnection hooked(conn);
    smtp::Session(hooked, delivery, c, torm_service, relay.get(), tkim_service, bot_service, lists,
                  vmat)
        .Run();
#else
    smtp::Session(conn, delivery, c, torm_service, relay.get(), tkim_service, bot_service, lists,
                  vmat)
        .Run();
#endif
  };
  const int rc = server::RunFrontEnd(args, *config, std::move(spec));
  // _exit: no atexit work in a sandboxed role (a sanitizer's exit-time leak
  // check would trace the process, which every policy forbids).
  std::fflush(stderr);
  _exit(rc);
}
