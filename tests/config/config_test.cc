// Tests for the TOML configuration parser.
#include "config/config.h"

#include <gtest/gtest.h>

#include <cctype>

namespace onionmail::config {
namespace {

TEST(ConfigTest, EmptyFileGivesLoopbackDefaults) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->smtp_listen, "127.0.0.1:2525");
  EXPECT_EQ(c->pop3_listen, "127.0.0.1:1110");
  EXPECT_EQ(c->retention_days, 60u);
  EXPECT_EQ(c->min_free_mib, 64u);
  EXPECT_EQ(c->mailbox_quota_mib, 1024u);
  EXPECT_EQ(c->inbox_key, "x25519");
  EXPECT_EQ(c->rsa_bits, 2048u);
  EXPECT_EQ(c->greeting_name(), "localhost.onion");
}

TEST(ConfigTest, ValuesAreReadFromTheirSections) {
  auto c = ParseConfig(R"(
[server]
domain = "Abcdefghijklmnop.onion"
state_dir = "/tmp/x"
[smtp]
listen = "127.0.0.1:0"
max_recipients = 5
[kdf]
argon2_m_cost_kib = 8192
[log]
log_addresses = true
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->domain, "abcdefghijklmnop.onion");  // lower-cased
  EXPECT_EQ(c->state_dir, "/tmp/x");
  EXPECT_EQ(c->smtp_max_recipients, 5u);
  EXPECT_EQ(c->argon2_m_cost_kib, 8192u);
  EXPECT_TRUE(c->log_addresses);
  EXPECT_EQ(c->tls_cert_path(), "/tmp/x/tls/cert.pem");
}

TEST(ConfigTest, PeerSectionDefaultsToNotServingAndDirectConnections) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->peer_serve);
  EXPECT_EQ(c->peer_max_partners, 64u);
  EXPECT_EQ(c->peer_rate_limit_answers, 6u);
  EXPECT_EQ(c->peer_socks5_proxy, "");
  EXPECT_EQ(c->peer_timeout_seconds, 30u);
  EXPECT_EQ(c->sandbox_peer_user, "onionmail-peer");
}

TEST(ConfigTest, PeerSectionIsReadAndChecked) {
  auto c = ParseConfig(R"(
[peer]
serve = true
max_partners = 8
max_credits = 50
rate_limit_answers = 2
rate_limit_window_seconds = 120
socks5_proxy = "127.0.0.1:9050"
timeout_seconds = 20
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->peer_serve);
  EXPECT_EQ(c->peer_max_partners, 8u);
  EXPECT_EQ(c->peer_max_credits, 50u);
  EXPECT_EQ(c->peer_rate_limit_answers, 2u);
  EXPECT_EQ(c->peer_rate_limit_window_seconds, 120u);
  EXPECT_EQ(c->peer_socks5_proxy, "127.0.0.1:9050");
  EXPECT_EQ(c->peer_timeout_seconds, 20u);
  EXPECT_FALSE(ParseConfig("[peer]\nmax_partners = 0\n").ok());
  EXPECT_FALSE(ParseConfig("[peer]\ntimeout_seconds = 0\n").ok());
  EXPECT_FALSE(ParseConfig("[peer]\nsocks5_proxy = \"tor.example:9050\"\n").ok());
  EXPECT_FALSE(ParseConfig("[sandbox]\npeer_user = \"onionmail\"\n").ok());  // = key user
}

TEST(ConfigTest, RelayIsOffByDefault) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->relay_enabled);
  EXPECT_EQ(c->relay_socks5_proxy, "");
  EXPECT_EQ(c->relay_max_concurrent, 16u);
  EXPECT_EQ(c->relay_max_servers_per_message, 8u);
  EXPECT_EQ(c->relay_connect_timeout_seconds, 120u);
  EXPECT_EQ(c->sandbox_relay_user, "onionmail-relay");
}

TEST(ConfigTest, RelaySectionIsReadAndNeedsANumericProxyWhenEnabled) {
  auto c = ParseConfig(R"(
[relay]
enabled = true
socks5_proxy = "127.0.0.1:9050"
max_concurrent = 4
max_servers_per_message = 3
connect_timeout_seconds = 60
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->relay_enabled);
  EXPECT_EQ(c->relay_socks5_proxy, "127.0.0.1:9050");
  EXPECT_EQ(c->relay_max_concurrent, 4u);
  EXPECT_EQ(c->relay_max_servers_per_message, 3u);
  EXPECT_EQ(c->relay_connect_timeout_seconds, 60u);
  auto no_proxy = ParseConfig("[relay]\nenabled = true\n");
  ASSERT_FALSE(no_proxy.ok());
  EXPECT_NE(no_proxy.error().message.find("relay.socks5_proxy"), std::string::npos);
  EXPECT_FALSE(ParseConfig("[relay]\nsocks5_proxy = \"localhost.example:9050\"\n").ok());
  EXPECT_FALSE(ParseConfig("[relay]\nmax_concurrent = 0\n").ok());
  EXPECT_FALSE(ParseConfig("[relay]\nmax_servers_per_message = 0\n").ok());
  auto over = ParseConfig("[relay]\nmax_concurrent = 4\nmax_servers_per_message = 5\n");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("relay.max_servers_per_message"), std::string::npos);
  EXPECT_FALSE(ParseConfig("[relay]\nconnect_timeout_seconds = 5\n").ok());
  EXPECT_FALSE(ParseConfig("[sandbox]\nrelay_user = \"onionmail-peer\"\n").ok());
}

TEST(ConfigTest, RequireTkimIsOffByDefaultAndNeedsTheRelay) {
  auto defaults = ParseConfig("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->relay_require_tkim);
  auto on = ParseConfig(
      "[relay]\nenabled = true\nsocks5_proxy = \"127.0.0.1:9050\"\nrequire_tkim = true\n");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(on->relay_require_tkim);
  auto alone = ParseConfig("[relay]\nrequire_tkim = true\n");
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.error().message.find("relay.require_tkim"), std::string::npos);
}

TEST(ConfigTest, BotIsOnByDefaultWithoutRulesAndTakesAMultiLineRulesText) {
  auto defaults = ParseConfig("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->bot_enabled);
  EXPECT_EQ(defaults->bot_rules, "");
  EXPECT_TRUE(defaults->bot_lists);
  EXPECT_FALSE(defaults->pop3_registration);
  auto registration = ParseConfig("[pop3]\nregistration = true\n");
  ASSERT_TRUE(registration.ok());
  EXPECT_TRUE(registration->pop3_registration);
  auto no_lists = ParseConfig("[bot]\nlists = false\n");
  ASSERT_TRUE(no_lists.ok());
  EXPECT_FALSE(no_lists->bot_lists);
  auto set = ParseConfig("[bot]\nenabled = false\nrules = \"\"\"\nNo spam.\n\tBe kind.\n\"\"\"\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_FALSE(set->bot_enabled);
  EXPECT_EQ(set->bot_rules, "No spam.\n\tBe kind.\n");
}

TEST(ConfigTest, BotRulesWithControlBytesOrOver16KiBAreRefused) {
  auto escape = ParseConfig("[bot]\nrules = \"a\\u001b[2Jb\"\n");
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.error().message.find("bot.rules"), std::string::npos);
  EXPECT_FALSE(ParseConfig("[bot]\nrules = \"a\\u0000b\"\n").ok());
  EXPECT_FALSE(ParseConfig("[bot]\nrules = \"" + std::string(16 * 1024 + 1, 'x') + "\"\n").ok());
  EXPECT_TRUE(ParseConfig("[bot]\nrules = \"" + std::string(16 * 1024, 'x') + "\"\n").ok());
}

TEST(ConfigTest, BotSysopIsEmptyOrAUserNameThatIsNoListAddress) {
  auto none = ParseConfig("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->bot_sysop, "");
  auto set = ParseConfig("[bot]\nsysop = \"alice\"\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->bot_sysop, "alice");
  for (const char* bad : {"Alice", "al ice", "team.list", ".alice", "a@b.onion"}) {
    auto refused = ParseConfig(std::string("[bot]\nsysop = \"") + bad + "\"\n");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("bot.sysop"), std::string::npos) << bad;
  }
}

TEST(ConfigTest, ExitDomainIsEmptyOrAnInternetDomainOfAServerThatRelays) {
  const std::string relay = "[relay]\nenabled = true\nsocks5_proxy = \"127.0.0.1:9050\"\n";
  auto none = ParseConfig("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->exit_domain, "");
  auto set = ParseConfig(relay + "[exit]\ndomain = \"Mail.Example.ORG\"\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->exit_domain, "mail.example.org");
  for (const char* bad :
       {"example", "a.onion", "x..y", "ex ample.org", ".example.org", "localhost.onion"}) {
    auto refused = ParseConfig(relay + "[exit]\ndomain = \"" + bad + "\"\n");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("exit.domain"), std::string::npos) << bad;
  }
  auto same = ParseConfig("[server]\ndomain = \"mail.example.org\"\n" + relay +
                          "[exit]\ndomain = \"mail.example.org\"\n");
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.error().message.find("exit.domain"), std::string::npos);
  auto no_relay = ParseConfig("[exit]\ndomain = \"mail.example.org\"\n");
  ASSERT_FALSE(no_relay.ok());
  EXPECT_NE(no_relay.error().message.find("relay.enabled"), std::string::npos)
      << no_relay.error().message;
}

TEST(ConfigTest, InternetClientsGetHalfTheSmtpConnectionsUnlessSetAndNeverMore) {
  const std::string gateway =
      "[relay]\nenabled = true\nsocks5_proxy = \"127.0.0.1:9050\"\n"
      "[exit]\ndomain = \"mail.example.org\"\n";
  auto defaults = ParseConfig(gateway);
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->exit_max_connections, 32u);  // half of smtp.max_connections (64)
  EXPECT_EQ(defaults->exit_max_connections_per_address, 4u);
  EXPECT_EQ(defaults->exit_connections_per_minute_per_address, 60u);
  auto one = ParseConfig("[smtp]\nmax_connections = 1\n" + gateway);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->exit_max_connections, 1u);  // at least one
  auto set = ParseConfig(gateway +
                         "max_connections = 10\nmax_connections_per_address = 2\n"
                         "connections_per_minute_per_address = 0\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->exit_max_connections, 10u);
  EXPECT_EQ(set->exit_max_connections_per_address, 2u);
  EXPECT_EQ(set->exit_connections_per_minute_per_address, 0u);
  auto over = ParseConfig(gateway + "max_connections = 65\n");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("exit.max_connections"), std::string::npos);
  auto zero = ParseConfig(gateway + "max_connections_per_address = 0\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message.find("exit.max_connections_per_address"), std::string::npos);
}

TEST(ConfigTest, ASmarthostPinIsSixtyFourHexDigitsAndNeedsASmarthost) {
  const std::string gateway =
      "[relay]\nenabled = true\nsocks5_proxy = \"127.0.0.1:9050\"\n"
      "[exit]\ndomain = \"mail.example.org\"\n";
  const std::string pin(64, 'A');
  auto pinned =
      ParseConfig(gateway + "smarthost = \"127.0.0.1:2525\"\nsmarthost_pin = \"" + pin + "\"\n");
  ASSERT_TRUE(pinned.ok()) << pinned.error().message;
  EXPECT_EQ(pinned->exit_smarthost_pin, std::string(64, 'a'));
  EXPECT_EQ(ParseConfig(gateway + "smarthost = \"127.0.0.1:2525\"\n")->exit_smarthost_pin, "");
  for (const std::string& bad :
       {std::string(63, 'a'), std::string(64, 'g'), std::string(65, '0')}) {
    auto r =
        ParseConfig(gateway + "smarthost = \"127.0.0.1:2525\"\nsmarthost_pin = \"" + bad + "\"\n");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("exit.smarthost_pin"), std::string::npos);
  }
  auto alone = ParseConfig(gateway + "smarthost_pin = \"" + pin + "\"\n");
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.error().message.find("needs exit.smarthost"), std::string::npos);
}

TEST(ConfigTest, VmatServersAreDistinctV3OnionsOfOtherServersAndNeedAnExitDomain) {
  const std::string relay = "[relay]\nenabled = true\nsocks5_proxy = \"127.0.0.1:9050\"\n";
  const std::string a = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
  const std::string b = "eaqseizeeutcokbjfivsyljof4ydcmrtgq2tmnzyhe5dwpb5hy74yhqd.onion";
  auto none = ParseConfig("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->exit_vmat_servers.empty());
  const std::string gateway = relay + "[exit]\ndomain = \"mail.example.org\"\n";
  std::string upper = a;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto set = ParseConfig(gateway + "vmat_servers = [\"" + upper + "\", \"" + b + "\"]\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->exit_vmat_servers, (std::vector<std::string>{a, b}));
  for (const std::string& bad :
       {"[\"" + a + "\", \"" + a + "\"]", std::string("[\"x.onion\"]"),
        std::string("[\"localhost.onion\"]"), std::string("[1]"), std::string("\"") + a + "\""}) {
    auto r = ParseConfig(gateway + "vmat_servers = " + bad + "\n");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("exit.vmat_servers"), std::string::npos) << bad;
  }
  auto no_exit = ParseConfig(relay + "[exit]\nvmat_servers = [\"" + a + "\"]\n");
  ASSERT_FALSE(no_exit.ok());
  EXPECT_NE(no_exit.error().message.find("needs exit.domain"), std::string::npos);
}

TEST(ConfigTest, AnExitGatewayIsAnotherV3OnionOfAServerThatRelays) {
  const std::string onion = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
  const std::string relay = "[relay]\nenabled = true\nsocks5_proxy = \"127.0.0.1:9050\"\n";
  auto none = ParseConfig("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->relay_exit_gateway, "");
  auto set = ParseConfig(relay + "exit_gateway = \"" + onion.substr(0, 10) + "\"\n");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message.find("relay.exit_gateway"), std::string::npos);
  std::string upper = onion;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto good = ParseConfig(relay + "exit_gateway = \"" + upper + "\"\n");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->relay_exit_gateway, onion);
  auto own = ParseConfig("[server]\ndomain = \"" + onion + "\"\n" + relay + "exit_gateway = \"" +
                         onion + "\"\n");
  ASSERT_FALSE(own.ok());
  EXPECT_NE(own.error().message.find("relay.exit_gateway"), std::string::npos);
  auto no_relay = ParseConfig("[relay]\nexit_gateway = \"" + onion + "\"\n");
  ASSERT_FALSE(no_relay.ok());
  EXPECT_NE(no_relay.error().message.find("relay.enabled"), std::string::npos);
}

TEST(ConfigTest, ASmarthostIsANumericAddressOfAGateway) {
  const std::string gateway =
      "[relay]\nenabled = true\nsocks5_proxy = \"127.0.0.1:9050\"\n"
      "[exit]\ndomain = \"mail.example.org\"\n";
  auto good = ParseConfig(gateway + "smarthost = \"127.0.0.1:2525\"\n");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->exit_smarthost, "127.0.0.1:2525");
  EXPECT_TRUE(ParseConfig(gateway + "smarthost = \"[::1]:25\"\n").ok());
  for (const char* bad : {"mx.example.org:25", "127.0.0.1", "127.0.0.1:0", "x"}) {
    auto refused = ParseConfig(gateway + "smarthost = \"" + bad + "\"\n");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("exit.smarthost"), std::string::npos) << bad;
  }
  auto no_gateway = ParseConfig("[exit]\nsmarthost = \"127.0.0.1:2525\"\n");
  ASSERT_FALSE(no_gateway.ok());
  EXPECT_NE(no_gateway.error().message.find("exit.domain"), std::string::npos);
}

TEST(ConfigTest, UnknownKeyIsAnErrorNamingTheKey) {
  auto c = ParseConfig("[smtp]\nmax_recipient = 5\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message.find("smtp.max_recipient"), std::string::npos);
}

TEST(ConfigTest, UnknownSectionIsAnError) {
  EXPECT_FALSE(ParseConfig("[smtpd]\nlisten = \"127.0.0.1:25\"\n").ok());
}

TEST(ConfigTest, WrongTypeIsAnError) {
  auto c = ParseConfig("[smtp]\nmax_recipients = \"five\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("integer"), std::string::npos);
}

TEST(ConfigTest, PasswordCachesDefaultToFiveMinutesAndCanBeTurnedOff) {
  auto d = ParseConfig("");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->smtp_auth_cache_seconds, 300u);
  EXPECT_EQ(d->pop3_unlock_cache_seconds, 300u);
  auto off = ParseConfig("[smtp]\nauth_cache_seconds = 0\n[pop3]\nunlock_cache_seconds = 0\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off->smtp_auth_cache_seconds, 0u);
  EXPECT_EQ(off->pop3_unlock_cache_seconds, 0u);
  auto too_long = ParseConfig("[pop3]\nunlock_cache_seconds = 3601\n");
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("pop3.unlock_cache_seconds"), std::string::npos);
}

TEST(ConfigTest, InboxKeyIsX25519OrRsa) {
  auto rsa = ParseConfig("[store]\ninbox_key = \"rsa\"\nrsa_bits = 3072\n");
  ASSERT_TRUE(rsa.ok());
  EXPECT_EQ(rsa->inbox_key, "rsa");
  EXPECT_EQ(rsa->rsa_bits, 3072u);
  for (const char* bad : {"\"ed25519\"", "\"RSA\"", "\"\"", "1"}) {
    auto c = ParseConfig(std::string("[store]\ninbox_key = ") + bad + "\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.error().message.find("store.inbox_key"), std::string::npos) << bad;
  }
}

TEST(ConfigTest, OutOfRangeValuesAreRejected) {
  EXPECT_FALSE(ParseConfig("[store]\nrsa_bits = 1024\n").ok());
  EXPECT_FALSE(ParseConfig("[store]\nretention_days = 0\n").ok());
  EXPECT_FALSE(ParseConfig("[store]\nmin_free_mib = -1\n").ok());
  EXPECT_EQ(ParseConfig("[store]\nmin_free_mib = 0\n")->min_free_mib, 0u);
  EXPECT_EQ(ParseConfig("[store]\nmailbox_quota_mib = 0\n")->mailbox_quota_mib, 0u);
  EXPECT_EQ(ParseConfig("[store]\nmailbox_quota_mib = 50\n")->mailbox_quota_mib, 50u);
  EXPECT_FALSE(ParseConfig("[store]\nmailbox_quota_mib = -1\n").ok());
}

TEST(ConfigTest, ReceivedHeaderLimitDefaultsToAHundredAndRefusesTooLowALimit) {
  EXPECT_EQ(ParseConfig("")->smtp_max_received_headers, 100u);  // RFC 5321 section 6.3
  EXPECT_EQ(ParseConfig("[smtp]\nmax_received_headers = 50\n")->smtp_max_received_headers, 50u);
  auto low = ParseConfig("[smtp]\nmax_received_headers = 9\n");
  ASSERT_FALSE(low.ok());
  EXPECT_NE(low.error().message.find("smtp.max_received_headers"), std::string::npos);
  EXPECT_FALSE(ParseConfig("[smtp]\nmax_received_headers = 1001\n").ok());
}

TEST(ConfigTest, AQuotaSmallerThanTheLargestMessageIsRejected) {
  // 25 MiB messages by default: a 10 MiB quota could never take one.
  auto c = ParseConfig("[store]\nmailbox_quota_mib = 10\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("store.mailbox_quota_mib"), std::string::npos);
  EXPECT_NE(c.error().message.find("smtp.max_message_bytes"), std::string::npos);
  EXPECT_TRUE(ParseConfig("[store]\nmailbox_quota_mib = 25\n").ok());
  EXPECT_TRUE(
      ParseConfig("[smtp]\nmax_message_bytes = 1048576\n[store]\nmailbox_quota_mib = 1\n").ok());
  EXPECT_FALSE(ParseConfig("[kdf]\nargon2_t_cost = 0\n").ok());
}

TEST(ConfigTest, SessionKeyHoursAreReadAndRefusedForAPeerThatServes) {
  EXPECT_EQ(ParseConfig("")->tls_session_key_hours, 0u);
  EXPECT_EQ(ParseConfig("[tls]\nsession_key_hours = 24\n")->tls_session_key_hours, 24u);
  EXPECT_EQ(ParseConfig("[tls]\nsession_key_hours = 168\n")->tls_session_key_hours, 168u);
  EXPECT_FALSE(ParseConfig("[tls]\nsession_key_hours = 169\n").ok());
  EXPECT_FALSE(ParseConfig("[tls]\nsession_key_hours = -1\n").ok());
  auto both = ParseConfig("[tls]\nsession_key_hours = 24\n[peer]\nserve = true\n");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("tls.session_key_hours"), std::string::npos);
  EXPECT_TRUE(ParseConfig("[tls]\nsession_key_hours = 0\n[peer]\nserve = true\n").ok());
}

TEST(ConfigTest, SyntaxErrorReportsTheLine) {
  auto c = ParseConfig("[smtp]\nlisten = \n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("line 2"), std::string::npos);
}

TEST(ConfigTest, RelativeStateDirAndBadListenAreRejected) {
  EXPECT_FALSE(ParseConfig("[server]\nstate_dir = \"var/lib\"\n").ok());
  EXPECT_FALSE(ParseConfig("[smtp]\nlisten = \"127.0.0.1\"\n").ok());
  EXPECT_FALSE(ParseConfig("[server]\ndomain = \"../etc\"\n").ok());
}

// Regression (tests/fuzz/config): toml++ 3.3 hit __builtin_unreachable() on
// non-ASCII code points such as U+01FE or U+00A7 after a line continuation.
TEST(ConfigTest, NonAsciiBytesAreRejectedWithTheirLine) {
  for (std::string_view text :
       {"[server]\ndomain = \"a\xC7\xBE\"\n", "s = \"\"\"\\\n\xC2\xA7\"\"\"\n", "# caf\xC3\xA9\n",
        "[server]\n\n\xCC\xAA"}) {
    auto c = ParseConfig(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().message.find("non-ASCII"), std::string::npos);
  }
  auto c = ParseConfig("[server]\n\n\xCC\xAA");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("line 3"), std::string::npos);
}

TEST(ConfigTest, LeadingUtf8ByteOrderMarkIsSkipped) {
  auto c = ParseConfig("\xEF\xBB\xBF[server]\ndomain = \"bom.onion\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->domain, "bom.onion");
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto c = LoadConfig("/nonexistent/onionmaild.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace onionmail::config

namespace onionmail::config {
namespace {

TEST(ConfigKeysTest, DefaultBackendIsTheDevelopmentFileStore) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->keys_backend, "file");
  EXPECT_EQ(c->tpm2_key_dir_path(), "/var/lib/onionmaild/tpm2");
}

TEST(ConfigKeysTest, Pkcs11AndTpm2SettingsAreRead) {
  auto c = ParseConfig(R"(
[keys]
backend = "tpm2"
tcti = "swtpm:host=127.0.0.1,port=2321"
tpm2_auth_file = "/etc/onionmaild/tpm.auth"
pcrs = [0, 7]
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->keys_backend, "tpm2");
  EXPECT_EQ(c->tpm2_tcti, "swtpm:host=127.0.0.1,port=2321");
  EXPECT_EQ(c->tpm2_pcrs, (std::vector<int>{0, 7}));
}

TEST(ConfigKeysTest, UnknownBackendAndBadPcrsAreRejected) {
  EXPECT_FALSE(ParseConfig("[keys]\nbackend = \"yubikey\"\n").ok());
  EXPECT_FALSE(ParseConfig("[keys]\npcrs = [24]\n").ok());
  EXPECT_FALSE(ParseConfig("[keys]\npcrs = \"0,7\"\n").ok());
}

TEST(ConfigKeysTest, Pkcs11NeedsAPinFile) {
  auto c = ParseConfig("[keys]\nbackend = \"pkcs11\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("keys.pin_file"), std::string::npos);
}

}  // namespace
}  // namespace onionmail::config

namespace onionmail::config {
namespace {

TEST(ConfigSandboxTest, DefaultsAreThreeSeparateUsersAndSeccompOn) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sandbox_key_user, "onionmail");
  EXPECT_EQ(c->sandbox_smtp_user, "onionmail-smtp");
  EXPECT_EQ(c->sandbox_pop3_user, "onionmail-pop3");
  EXPECT_TRUE(c->sandbox_seccomp);
}

TEST(ConfigSandboxTest, OverridesAreRead) {
  auto c = ParseConfig(R"(
[sandbox]
key_user = "_om-key"
smtp_user = "om_smtp1"
pop3_user = "om-pop3"
seccomp = false
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->sandbox_key_user, "_om-key");
  EXPECT_EQ(c->sandbox_smtp_user, "om_smtp1");
  EXPECT_EQ(c->sandbox_pop3_user, "om-pop3");
  EXPECT_FALSE(c->sandbox_seccomp);
}

TEST(ConfigSandboxTest, BadUserNamesAreRejectedNamingTheKey) {
  const std::string too_long(33, 'a');
  for (std::string_view bad :
       {"", "1mail", "-mail", "Onionmail", "mail user", "mail.user", "mail$", "root:x", "../etc"}) {
    auto c = ParseConfig("[sandbox]\nsmtp_user = \"" + std::string(bad) + "\"\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().message.find("sandbox.smtp_user"), std::string::npos) << bad;
  }
  EXPECT_FALSE(ParseConfig("[sandbox]\nkey_user = \"" + too_long + "\"\n").ok());
  EXPECT_TRUE(ParseConfig("[sandbox]\nkey_user = \"" + too_long.substr(1) + "\"\n").ok());
  EXPECT_FALSE(ParseConfig("[sandbox]\npop3_user = \"\"\n").ok());
}

TEST(ConfigSandboxTest, WrongTypesAndUnknownKeysAreRejected) {
  auto c = ParseConfig("[sandbox]\nseccomp = \"no\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("sandbox.seccomp"), std::string::npos);
  EXPECT_FALSE(ParseConfig("[sandbox]\nkey_user = 1000\n").ok());
  auto u = ParseConfig("[sandbox]\nuser = \"onionmail\"\n");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.error().message.find("sandbox.user"), std::string::npos);
}

TEST(ConfigSandboxTest, TheThreeUsersMustBeDistinct) {
  auto a = ParseConfig("[sandbox]\nsmtp_user = \"onionmail\"\n");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("sandbox.smtp_user"), std::string::npos);
  auto b = ParseConfig("[sandbox]\npop3_user = \"onionmail-smtp\"\n");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("sandbox.pop3_user"), std::string::npos);
  auto k = ParseConfig("[sandbox]\nkey_user = \"onionmail-pop3\"\n");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().message.find("sandbox.pop3_user"), std::string::npos);
  // Swapping names is fine as long as they stay distinct.
  EXPECT_TRUE(ParseConfig("[sandbox]\nsmtp_user = \"onionmail-pop3\"\n"
                          "pop3_user = \"onionmail-smtp\"\n")
                  .ok());
}

}  // namespace
}  // namespace onionmail::config
