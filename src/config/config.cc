// TOML configuration parsing with toml++ (header-only, exceptions disabled).
#include "config/config.h"

#include <arpa/inet.h>

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>
#include <utility>

#include "base/ascii.h"
#include "mail/backend.h"
#include "mail/mailing_list.h"
#include "mail/relay.h"
#include "net/listener.h"

namespace onionmail::config {

namespace {

using Setter = std::function<Result<void>(const toml::node&, Config&)>;

Error BadValue(std::string_view key, std::string_view want) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "config: " + std::string(key) + " must be " + std::string(want));
}

Setter String(std::string Config::*field, std::string key) {
  return [field, key](const toml::node& n, Config& c) -> Result<void> {
    auto v = n.value<std::string>();
    if (!v || !n.is_string()) return BadValue(key, "a string");
    c.*field = *v;
    return Ok();
  };
}

template <typename T>
Setter Number(T Config::*field, std::string key, int64_t min, int64_t max) {
  return [field, key, min, max](const toml::node& n, Config& c) -> Result<void> {
    if (!n.is_integer()) return BadValue(key, "an integer");
    int64_t v = *n.value<int64_t>();
    if (v < min || v > max) {
      return BadValue(key, "between " + std::to_string(min) + " and " + std::to_string(max));
    }
    c.*field = static_cast<T>(v);
    return Ok();
  };
}

Setter Bool(bool Config::*field, std::string key) {
  return [field, key](const toml::node& n, Config& c) -> Result<void> {
    if (!n.is_boolean()) return BadValue(key, "true or false");
    c.*field = *n.value<bool>();
    return Ok();
  };
}

Setter IntList(std::vector<int> Config::*field, std::string key, int64_t min, int64_t max) {
  return [field, key, min, max](const toml::node& n, Config& c) -> Result<void> {
    const toml::array* a = n.as_array();
    if (a == nullptr) return BadValue(key, "an array of integers");
    std::vector<int> out;
    for (const toml::node& e : *a) {
      if (!e.is_integer()) return BadValue(key, "an array of integers");
      int64_t v = *e.value<int64_t>();
      if (v < min || v > max) {
        return BadValue(key,
                        "integers between " + std::to_string(min) + " and " + std::to_string(max));
      }
      out.push_back(static_cast<int>(v));
    }
    c.*field = std::move(out);
    return Ok();
  };
}

Setter StringList(std::vector<std::string> Config::*field, std::string key) {
  return [field, key](const toml::node& n, Config& c) -> Result<void> {
    const toml::array* a = n.as_array();
    if (a == nullptr) return BadValue(key, "an array of strings");
    std::vector<std::string> out;
    for (const toml::node& e : *a) {
      if (!e.is_string()) return BadValue(key, "an array of strings");
      out.push_back(*e.value<std::string>());
    }
    c.*field = std::move(out);
    return Ok();
  };
}

const std::map<std::string, Setter>& Setters() {
  static const auto* setters = new std::map<std::string, Setter>{
      {"server.domain", String(&Config::domain, "server.domain")},
      {"server.hostname", String(&Config::hostname, "server.hostname")},
      {"server.state_dir", String(&Config::state_dir, "server.state_dir")},
      {"server.auth_failure_delay_ms",
       Number(&Config::auth_failure_delay_ms, "server.auth_failure_delay_ms", 0, 60000)},
      {"smtp.listen", String(&Config::smtp_listen, "smtp.listen")},
      {"smtp.max_message_bytes",
       Number(&Config::smtp_max_message_bytes, "smtp.max_message_bytes", 1024, int64_t{1} << 32)},
      {"smtp.max_recipients",
       Number(&Config::smtp_max_recipients, "smtp.max_recipients", 1, 10000)},
      {"smtp.max_unknown_recipients",
       Number(&Config::smtp_max_unknown_recipients, "smtp.max_unknown_recipients", 1, 10000)},
      {"smtp.max_received_headers",
       Number(&Config::smtp_max_received_headers, "smtp.max_received_headers", 10, 1000)},
      {"smtp.max_connections",
       Number(&Config::smtp_max_connections, "smtp.max_connections", 1, 100000)},
      {"smtp.idle_timeout_seconds",
       Number(&Config::smtp_idle_timeout_seconds, "smtp.idle_timeout_seconds", 1, 86400)},
      {"smtp.session_timeout_seconds",
       Number(&Config::smtp_session_timeout_seconds, "smtp.session_timeout_seconds", 1, 86400)},
      {"pop3.listen", String(&Config::pop3_listen, "pop3.listen")},
      {"pop3.registration", Bool(&Config::pop3_registration, "pop3.registration")},
      {"pop3.max_connections",
       Number(&Config::pop3_max_connections, "pop3.max_connections", 1, 100000)},
      {"pop3.unlock_cache_seconds",
       Number(&Config::pop3_unlock_cache_seconds, "pop3.unlock_cache_seconds", 0, 3600)},
      {"pop3.idle_timeout_seconds",
       Number(&Config::pop3_idle_timeout_seconds, "pop3.idle_timeout_seconds", 1, 86400)},
      {"pop3.session_timeout_seconds",
       Number(&Config::pop3_session_timeout_seconds, "pop3.session_timeout_seconds", 1, 86400)},
      {"store.retention_days", Number(&Config::retention_days, "store.retention_days", 1, 36500)},
      {"store.sweep_interval_seconds",
       Number(&Config::sweep_interval_seconds, "store.sweep_interval_seconds", 1, 86400)},
      {"store.min_free_mib", Number(&Config::min_free_mib, "store.min_free_mib", 0, 1 << 20)},
      {"store.mailbox_quota_mib",
       Number(&Config::mailbox_quota_mib, "store.mailbox_quota_mib", 0, 1 << 24)},
      {"store.inbox_key", String(&Config::inbox_key, "store.inbox_key")},
      {"store.rsa_bits", Number(&Config::rsa_bits, "store.rsa_bits", 2048, 8192)},
      {"tls.session_key_hours",
       Number(&Config::tls_session_key_hours, "tls.session_key_hours", 0, 168)},
      {"kdf.argon2_t_cost", Number(&Config::argon2_t_cost, "kdf.argon2_t_cost", 1, 100)},
      {"kdf.argon2_m_cost_kib",
       Number(&Config::argon2_m_cost_kib, "kdf.argon2_m_cost_kib", 8, 4 * 1024 * 1024)},
      {"kdf.argon2_parallelism",
       Number(&Config::argon2_parallelism, "kdf.argon2_parallelism", 1, 64)},
      {"keys.backend", String(&Config::keys_backend, "keys.backend")},
      {"keys.pkcs11_module", String(&Config::pkcs11_module, "keys.pkcs11_module")},
      {"keys.token_label", String(&Config::pkcs11_token_label, "keys.token_label")},
      {"keys.pin_file", String(&Config::pkcs11_pin_file, "keys.pin_file")},
      {"keys.softhsm2_conf", String(&Config::softhsm2_conf, "keys.softhsm2_conf")},
      {"keys.tcti", String(&Config::tpm2_tcti, "keys.tcti")},
      {"keys.tpm2_key_dir", String(&Config::tpm2_key_dir, "keys.tpm2_key_dir")},
      {"keys.tpm2_auth_file", String(&Config::tpm2_auth_file, "keys.tpm2_auth_file")},
      {"keys.pcrs", IntList(&Config::tpm2_pcrs, "keys.pcrs", 0, 23)},
      {"kdf.max_concurrent", Number(&Config::kdf_max_concurrent, "kdf.max_concurrent", 0, 1024)},
      {"smtp.auth_cache_seconds",
       Number(&Config::smtp_auth_cache_seconds, "smtp.auth_cache_seconds", 0, 86400)},
      {"peer.serve", Bool(&Config::peer_serve, "peer.serve")},
      {"peer.max_partners", Number(&Config::peer_max_partners, "peer.max_partners", 1, 4096)},
      {"peer.max_credits", Number(&Config::peer_max_credits, "peer.max_credits", 1, 1000000)},
      {"peer.rate_limit_answers",
       Number(&Config::peer_rate_limit_answers, "peer.rate_limit_answers", 1, 10000)},
      {"peer.rate_limit_window_seconds",
       Number(&Config::peer_rate_limit_window_seconds, "peer.rate_limit_window_seconds", 1, 86400)},
      {"peer.socks5_proxy", String(&Config::peer_socks5_proxy, "peer.socks5_proxy")},
      {"peer.timeout_seconds",
       Number(&Config::peer_timeout_seconds, "peer.timeout_seconds", 1, 600)},
      {"relay.enabled", Bool(&Config::relay_enabled, "relay.enabled")},
      {"relay.require_tkim", Bool(&Config::relay_require_tkim, "relay.require_tkim")},
      {"relay.socks5_proxy", String(&Config::relay_socks5_proxy, "relay.socks5_proxy")},
      {"relay.exit_gateway", String(&Config::relay_exit_gateway, "relay.exit_gateway")},
      {"relay.max_concurrent",
       Number(&Config::relay_max_concurrent, "relay.max_concurrent", 1, 1024)},
      {"relay.max_servers_per_message",
       Number(&Config::relay_max_servers_per_message, "relay.max_servers_per_message", 1, 64)},
      {"relay.connect_timeout_seconds",
       Number(&Config::relay_connect_timeout_seconds, "relay.connect_timeout_seconds", 10, 600)},
      {"bot.enabled", Bool(&Config::bot_enabled, "bot.enabled")},
      {"bot.rules", String(&Config::bot_rules, "bot.rules")},
      {"bot.lists", Bool(&Config::bot_lists, "bot.lists")},
      {"bot.sysop", String(&Config::bot_sysop, "bot.sysop")},
      {"exit.domain", String(&Config::exit_domain, "exit.domain")},
      {"exit.smarthost", String(&Config::exit_smarthost, "exit.smarthost")},
      {"exit.smarthost_pin", String(&Config::exit_smarthost_pin, "exit.smarthost_pin")},
      {"exit.vmat_servers", StringList(&Config::exit_vmat_servers, "exit.vmat_servers")},
      {"exit.max_connections",
       Number(&Config::exit_max_connections, "exit.max_connections", 0, 100000)},
      {"exit.max_connections_per_address", Number(&Config::exit_max_connections_per_address,
                                                  "exit.max_connections_per_address", 1, 100000)},
      {"exit.connections_per_minute_per_address",
       Number(&Config::exit_connections_per_minute_per_address,
              "exit.connections_per_minute_per_address", 0, 1000000)},
      {"log.level", String(&Config::log_level, "log.level")},
      {"log.log_addresses", Bool(&Config::log_addresses, "log.log_addresses")},
      {"sandbox.key_user", String(&Config::sandbox_key_user, "sandbox.key_user")},
      {"sandbox.smtp_user", String(&Config::sandbox_smtp_user, "sandbox.smtp_user")},
      {"sandbox.pop3_user", String(&Config::sandbox_pop3_user, "sandbox.pop3_user")},
      {"sandbox.peer_user", String(&Config::sandbox_peer_user, "sandbox.peer_user")},
      {"sandbox.relay_user", String(&Config::sandbox_relay_user, "sandbox.relay_user")},
      {"sandbox.seccomp", Bool(&Config::sandbox_seccomp, "sandbox.seccomp")},
  };
  return *setters;
}

bool ValidDomain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  for (char c : d) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return d.find("..") == std::string_view::npos;
}

// A system user name as useradd(8) accepts it on Debian without
// --badname: [a-z_][a-z0-9_-]*, at most 32 characters.
bool ValidUserName(std::string_view u) {
  if (u.empty() || u.size() > 32) return false;
  if (!((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_')) return false;
  for (char c : u) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The SOCKS5 proxy is reached without name resolution (the peer role has no
// DNS): a numeric IPv4/IPv6 address ("localhost" is 127.0.0.1, as for the
// listen addresses) and a non-zero port.
bool ValidProxy(std::string_view text) {
  auto hp = net::ParseHostPort(text);
  if (!hp.ok() || hp->port == 0) return false;
  in_addr v4;
  in6_addr v6;
  return inet_pton(AF_INET, hp->host.c_str(), &v4) == 1 ||
         inet_pton(AF_INET6, hp->host.c_str(), &v6) == 1;
}

Result<void> ValidateSandbox(const Config& c) {
  const std::pair<const char*, const std::string*> users[] = {
      {"sandbox.key_user", &c.sandbox_key_user},     {"sandbox.smtp_user", &c.sandbox_smtp_user},
      {"sandbox.pop3_user", &c.sandbox_pop3_user},   {"sandbox.peer_user", &c.sandbox_peer_user},
      {"sandbox.relay_user", &c.sandbox_relay_user},
  };
  for (const auto& [key, value] : users) {
    if (!ValidUserName(*value)) {
      return BadValue(key, "a user name ([a-z_][a-z0-9_-]*, at most 32 characters)");
    }
  }
  // Separate users are the point: with a shared uid one role could signal
  // another, and a hole in one role's filter would reach the other's files.
  for (size_t i = 0; i < std::size(users); ++i) {
    for (size_t j = i + 1; j < std::size(users); ++j) {
      if (*users[i].second == *users[j].second) {
        return BadValue(users[j].first,
                        std::string("different from ") + users[i].first + " (one user per role)");
      }
    }
  }
  return Ok();
}

Result<void> Validate(Config& c) {
  c.domain = AsciiLower(c.domain);
  if (!ValidDomain(c.domain)) return BadValue("server.domain", "a lower-case domain name");
  if (!c.hostname.empty() && !ValidDomain(c.hostname)) {
    return BadValue("server.hostname", "a lower-case host name");
  }
  if (c.state_dir.empty() || c.state_dir.front() != '/') {
    return BadValue("server.state_dir", "an absolute path");
  }
  if (!net::ParseHostPort(c.smtp_listen).ok()) return BadValue("smtp.listen", "host:port");
  if (!net::ParseHostPort(c.pop3_listen).ok()) return BadValue("pop3.listen", "host:port");
  if (c.keys_backend != "file" && c.keys_backend != "pkcs11" && c.keys_backend != "tpm2") {
    return BadValue("keys.backend", "file, pkcs11 or tpm2");
  }
  if (c.mailbox_quota_mib != 0 &&
      (uint64_t{c.mailbox_quota_mib} << 20) < c.smtp_max_message_bytes) {
    // Else a message the server takes could never fit: 452 4.2.2 for days.
    return BadValue("store.mailbox_quota_mib", "0, or at least smtp.max_message_bytes in MiB");
  }
  if (c.inbox_key != "x25519" && c.inbox_key != "rsa") {
    return BadValue("store.inbox_key", "x25519 or rsa");
  }
  if (c.keys_backend == "pkcs11" && (c.pkcs11_pin_file.empty() || c.pkcs11_module.empty())) {
    return BadValue("keys.pin_file", "set (with keys.pkcs11_module) when keys.backend = pkcs11");
  }
  if (!c.peer_socks5_proxy.empty() && !ValidProxy(c.peer_socks5_proxy)) {
    return BadValue("peer.socks5_proxy",
                    "empty, or a numeric IP address and port (\"127.0.0.1:9050\")");
  }
  if (!c.relay_socks5_proxy.empty() && !ValidProxy(c.relay_socks5_proxy)) {
    return BadValue("relay.socks5_proxy",
                    "empty, or a numeric IP address and port (\"127.0.0.1:9050\")");
  }
  if (c.relay_max_servers_per_message > c.relay_max_concurrent) {
    // Each remote server of a transaction holds one relayed transaction.
    return BadValue("relay.max_servers_per_message", "at most relay.max_concurrent");
  }
  if (c.bot_rules.size() > 16 * 1024) return BadValue("bot.rules", "at most 16 KiB");
  for (char ch : c.bot_rules) {
    auto byte = static_cast<unsigned char>(ch);
    if ((byte < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || byte == 0x7f) {
      return BadValue("bot.rules", "control characters other than TAB and line ends");
    }
  }
  if (!c.bot_sysop.empty() &&
      (!mail::ValidLocalPart(c.bot_sysop) || mail::ListNameOf(c.bot_sysop).has_value())) {
    return BadValue("bot.sysop", "empty, or a user name (lower case, not a list's address)");
  }
  if (c.relay_require_tkim && !c.relay_enabled) {
    return BadValue("relay.require_tkim",
                    "needs relay.enabled = true (TKIM checks go through Tor)");
  }
  if (c.relay_enabled && c.relay_socks5_proxy.empty()) {
    // Mail goes to onion addresses only, which only Tor reaches.
    return BadValue("relay.socks5_proxy", "set (Tor's SOCKS port) when relay.enabled = true");
  }
  c.exit_domain = AsciiLower(c.exit_domain);
  if (!c.exit_domain.empty()) {
    const std::string_view d = c.exit_domain;
    if (!ValidDomain(d) || d.find('.') == std::string_view::npos ||
        (d.size() >= 6 && d.substr(d.size() - 6) == ".onion") || d == c.domain) {
      return BadValue("exit.domain",
                      "empty, or an Internet domain name (with a dot, not .onion, not "
                      "server.domain)");
    }
    if (!c.relay_enabled) {
      // Mail to a VMAT alias is carried to its onion mailbox over Tor.
      return BadValue("exit.domain", "needs relay.enabled = true (VMAT mail goes on over Tor)");
    }
  }
  c.relay_exit_gateway = AsciiLower(c.relay_exit_gateway);
  if (!c.relay_exit_gateway.empty()) {
    if (!mail::IsV3OnionDomain(c.relay_exit_gateway) || c.relay_exit_gateway == c.domain) {
      return BadValue("relay.exit_gateway", "empty, or the v3 onion name of another server");
    }
    if (!c.relay_enabled) {
      return BadValue("relay.exit_gateway", "needs relay.enabled = true (it is reached over Tor)");
    }
  }
  if (!c.exit_smarthost.empty()) {
    if (!ValidProxy(c.exit_smarthost)) {
      return BadValue("exit.smarthost", "empty, or a numeric \"host:port\"");
    }
    if (c.exit_domain.empty()) {
      return BadValue("exit.smarthost", "needs exit.domain (mail leaves under its aliases)");
    }
  }
  c.exit_smarthost_pin = AsciiLower(c.exit_smarthost_pin);
  if (!c.exit_smarthost_pin.empty()) {
    if (c.exit_smarthost_pin.size() != 64 ||
        c.exit_smarthost_pin.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return BadValue("exit.smarthost_pin",
                      "empty, or 64 hex digits (SHA-256 of the smarthost's public key)");
    }
    if (c.exit_smarthost.empty()) return BadValue("exit.smarthost_pin", "needs exit.smarthost");
  }
  if (!c.exit_vmat_servers.empty()) {
    if (c.exit_domain.empty()) return BadValue("exit.vmat_servers", "needs exit.domain");
    if (c.exit_vmat_servers.size() > kMaxVmatServers) {
      return BadValue("exit.vmat_servers",
                      "at most " + std::to_string(kMaxVmatServers) + " onion names");
    }
    for (std::string& s : c.exit_vmat_servers) s = AsciiLower(s);
    std::vector<std::string> sorted = c.exit_vmat_servers;
    std::sort(sorted.begin(), sorted.end());
    const bool all_onions = std::all_of(sorted.begin(), sorted.end(), [&](const std::string& s) {
      return mail::IsV3OnionDomain(s) && s != c.domain;
    });
    if (!all_onions || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      return BadValue("exit.vmat_servers",
                      "v3 onion names of other servers, each once (\"<56 chars>.onion\")");
    }
  }
  if (c.exit_max_connections > c.smtp_max_connections) {
    return BadValue("exit.max_connections", "at most smtp.max_connections");
  }
  if (c.exit_max_connections == 0) {
    c.exit_max_connections = std::max<uint32_t>(1, c.smtp_max_connections / 2);
  }
  if (c.tls_session_key_hours > 0 && c.peer_serve) {
    // Peers pin this server's TLS key itself (docs/PROTOCOL.md, TORM): a
    // session certificate would fail their pin.
    return BadValue("tls.session_key_hours", "0 while peer.serve = true (peers pin the TLS key)");
  }
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warning" &&
      c.log_level != "error") {
    return BadValue("log.level", "debug, info, warning or error");
  }
  return ValidateSandbox(c);
}

// toml++ 3.3 (Debian 12) reaches __builtin_unreachable() on some non-ASCII
// code points (upstream issues #190 and #295, found by tests/fuzz/config):
// undefined behaviour on attacker-free but still untrusted input. Every value
// we accept is ASCII anyway, so non-ASCII bytes never reach toml++. A leading
// UTF-8 byte order mark is tolerated and skipped.
Result<std::string_view> AsciiOnly(std::string_view text) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  size_t line = 1;
  for (char c : text) {
    if (c == '\n') ++line;
    if (static_cast<unsigned char>(c) >= 0x80) {
      return MakeError(ErrorCode::kInvalidArgument, "config: non-ASCII byte at line " +
                                                        std::to_string(line) +
                                                        " (the configuration must be ASCII)");
    }
  }
  return text;
}

}  // namespace

Result<Config> ParseConfig(std::string_view toml_text) {
  auto ascii = AsciiOnly(toml_text);
  if (!ascii.ok()) return ascii.error();
  toml::parse_result parsed = toml::parse(*ascii);
  if (!parsed) {
    const auto& err = parsed.error();
    std::ostringstream msg;
    msg << "config: syntax error at line " << err.source().begin.line << ": " << err.description();
    return MakeError(ErrorCode::kInvalidArgument, msg.str());
  }
  Config config;
  const toml::table& root = parsed.table();
  for (const auto& [section_key, section] : root) {
    std::string section_name(section_key.str());
    const toml::table* table = section.as_table();
    if (table == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "config: unknown top-level key '" + section_name + "'");
    }
    for (const auto& [key, value] : *table) {
      std::string full = section_name + "." + std::string(key.str());
      auto it = Setters().find(full);
      if (it == Setters().end()) {
        return MakeError(ErrorCode::kInvalidArgument, "config: unknown key '" + full + "'");
      }
      ONIONMAIL_RETURN_IF_ERROR(it->second(value, config));
    }
  }
  ONIONMAIL_RETURN_IF_ERROR(Validate(config));
  return config;
}

Result<Config> LoadConfig(const std::string& path) {
  if (path.empty()) return ParseConfig("");
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kNotFound, "config: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = ParseConfig(text.str());
  if (!parsed.ok()) {
    return MakeError(parsed.error().code, parsed.error().message + " (in " + path + ")");
  }
  return parsed;
}

}  // namespace onionmail::config
