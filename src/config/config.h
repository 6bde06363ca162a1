// Config: the one TOML configuration file of onionmaild and onionmailctl.
//
// Contract: every key is optional and has the documented default
// (docs/configuration.md); an unknown section or key, a value of the wrong
// type or out of range is an error that names the key, so typos are caught
// at start-up. Parsing never throws. With no file the embedded defaults are
// used: listen on 127.0.0.1 only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace onionmail::config {

inline constexpr size_t kMaxVmatServers = 1024;  // [exit] vmat_servers

struct Config {
  // [server]
  std::string domain = "localhost.onion";
  std::string hostname;  // empty: same as domain
  std::string state_dir = "/var/lib/onionmaild";
  uint32_t auth_failure_delay_ms = 300;
  // [smtp]
  std::string smtp_listen = "127.0.0.1:2525";
  uint64_t smtp_max_message_bytes = 25ull * 1024 * 1024;
  uint32_t smtp_max_recipients = 100;
  uint32_t smtp_max_unknown_recipients = 10;  // per session; the next is 421 and close
  uint32_t smtp_max_received_headers = 100;   // more: a mail loop (RFC 5321 section 6.3)
  uint32_t smtp_max_connections = 64;
  uint32_t smtp_idle_timeout_seconds = 300;
  uint32_t smtp_session_timeout_seconds = 1800;
  // [pop3]
  std::string pop3_listen = "127.0.0.1:1110";
  uint32_t pop3_max_connections = 64;
  uint32_t pop3_idle_timeout_seconds = 600;
  uint32_t pop3_session_timeout_seconds = 3600;
  // RQUS: people with a voucher (`onionmailctl voucher add`) open their own
  // account over POP3 (docs/PROTOCOL.md, "Registration: RQUS").
  bool pop3_registration = false;
  // [store]
  uint32_t retention_days = 60;
  uint32_t sweep_interval_seconds = 3600;
  uint32_t min_free_mib = 64;  // free space new mail may not take; 0 = off (store/free_space.h)
  uint32_t mailbox_quota_mib = 1024;  // per mailbox; 0 = off (store/mailbox_usage.h)
  std::string inbox_key = "x25519";   // x25519 | rsa: inbox key type for new users
  uint32_t rsa_bits = 2048;           // RSA inbox key size (inbox_key = "rsa")
  // [tls]: 0 = every full handshake is signed by the token's TLS key; 1..168 =
  // by a session key of the key role, certified by the token, made anew
  // every that many hours (server/session_tls.h).
  uint32_t tls_session_key_hours = 0;
  // [kdf]
  uint32_t argon2_t_cost = 3;
  uint32_t argon2_m_cost_kib = 65536;
  uint32_t argon2_parallelism = 1;
  uint32_t kdf_max_concurrent = 0;           // Argon2id runs at once; 0 = one per core
  uint32_t smtp_auth_cache_seconds = 300;    // remember successful SMTP AUTH; 0 = off
  uint32_t pop3_unlock_cache_seconds = 300;  // remember a POP3 login's KDF output; 0 = off
  // [keys]
  std::string keys_backend = "file";  // file | pkcs11 | tpm2
  std::string pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string pkcs11_token_label = "onionmaild";
  std::string pkcs11_pin_file;  // required for pkcs11
  std::string softhsm2_conf;    // optional: SOFTHSM2_CONF for the SoftHSM2 module
  std::string tpm2_tcti = "device:/dev/tpmrm0";
  std::string tpm2_key_dir;    // empty: <state_dir>/tpm2
  std::string tpm2_auth_file;  // optional authValue of the TPM objects
  std::vector<int> tpm2_pcrs;  // optional PCR policy (SHA-256 bank)
  // [peer]: this server as an unseal peer for other servers (TORM PUSH, DERK,
  // STAT, KCTL over SMTP inside TLS 1.3; docs/PROTOCOL.md).
  bool peer_serve = false;               // off: TORM is an unknown command
  uint32_t peer_max_partners = 64;       // servers that may enrol here
  uint32_t peer_max_credits = 1000;      // cap on DERK answers per partner
  uint32_t peer_rate_limit_answers = 6;  // DERK answers per partner per window
  uint32_t peer_rate_limit_window_seconds = 60;
  // [peer], client side (the onionmail-peer role: unseal at boot, KCTL
  // forwarding). Empty proxy: connect directly, numeric addresses only
  // (tests); otherwise a numeric "host:port" of Tor's SOCKS port.
  std::string peer_socks5_proxy;
  uint32_t peer_timeout_seconds = 30;  // one whole TORM call, proxy included
  // [relay]: authenticated local users may send to other v3 onion domains;
  // the onionmail-relay role carries each transaction through Tor while the
  // client waits (docs/federation.md). Enabled needs a SOCKS5 proxy: the
  // relay never connects directly.
  bool relay_enabled = false;
  std::string relay_socks5_proxy;                // numeric "host:port" of Tor's SOCKS port
  uint32_t relay_max_concurrent = 16;            // relayed transactions at once
  uint32_t relay_max_servers_per_message = 8;    // remote servers one transaction reaches
  uint32_t relay_connect_timeout_seconds = 120;  // Tor circuit + SMTP up to EHLO in TLS
  // MAIL FROM another v3 onion domain needs a TKIM proof of that server in
  // the session (docs/PROTOCOL.md, "TKIM"); needs relay_enabled (the check
  // calls the sender back through the relay role).
  bool relay_require_tkim = false;
  // The exit gateway (docs/gateways.md, "The exit direction"): a v3 onion
  // that carries this server's users' mail to Internet addresses; empty:
  // mail to the Internet is refused. Needs relay_enabled.
  std::string relay_exit_gateway;
  // [bot]: the server@ command bot (docs/PROTOCOL.md, "server@: the server's
  // command bot"); it answers only this server's logged-in users.
  bool bot_enabled = true;
  // Mailing lists, <name>.list@ (docs/PROTOCOL.md, "Mailing lists"),
  // managed through the bot's LIST commands: served only with the bot.
  bool bot_lists = true;
  std::string bot_rules;  // the RULEZ text: at most 16 KiB, no control bytes but TAB and line ends
  // The user (a local part) whose server@ VOUCHER command makes registration
  // vouchers (docs/PROTOCOL.md, "server@"); empty: no one.
  std::string bot_sysop;
  // [exit]: an enter gateway (docs/gateways.md). `domain` is the Internet
  // domain this server also answers for; mail from anyone to
  // <alias>@<domain> goes over Tor to the onion mailbox of that VMAT alias
  // (onionmailctl vmat). Empty: no gateway. Needs relay_enabled.
  std::string exit_domain;
  // How many connections clients not on loopback (Internet MTAs) may hold at
  // once, together (0 in the file: half of smtp.max_connections, at least 1;
  // never more than smtp.max_connections) and from one IPv4 address or IPv6
  // /64. Used only with exit_domain.
  uint32_t exit_max_connections = 0;
  uint32_t exit_max_connections_per_address = 4;
  // New connections a minute one such address (IPv4, IPv6 /64) may open; 0:
  // no limit. Used only with exit_domain.
  uint32_t exit_connections_per_minute_per_address = 60;
  // Where this gateway hands mail to the Internet: a numeric "ip:port" of an
  // MTA (STARTTLS with TLS 1.3 required); empty: this gateway does not send
  // to the Internet. Needs exit_domain.
  std::string exit_smarthost;
  // The smarthost's TLS pin: 64 hex digits, SHA-256 of its certificate's
  // SubjectPublicKeyInfo (stored lower case); empty: any key. Needs
  // exit_smarthost.
  std::string exit_smarthost_pin;
  // The onion servers (v3, stored lower case, each once, at most
  // kMaxVmatServers) whose users may register an alias here through their
  // server (SMTP VMAT after TKIM; docs/gateways.md). Needs exit_domain.
  std::vector<std::string> exit_vmat_servers;
  // [log]
  std::string log_level = "info";
  bool log_addresses = false;
  // [sandbox]: the users the roles drop to when onionmaild starts as root
  // (onionmailctl as root drops to the key user); not used when not root.
  // Valid user names ([a-z_][a-z0-9_-]*, <= 32 chars), all distinct.
  std::string sandbox_key_user = "onionmail";
  std::string sandbox_smtp_user = "onionmail-smtp";
  std::string sandbox_pop3_user = "onionmail-pop3";
  std::string sandbox_peer_user = "onionmail-peer";
  std::string sandbox_relay_user = "onionmail-relay";
  bool sandbox_seccomp = true;  // false (debugging only) installs no syscall filter, root or not

  const std::string& greeting_name() const { return hostname.empty() ? domain : hostname; }
  std::string tls_cert_path() const { return state_dir + "/tls/cert.pem"; }
  std::string tls_key_path() const { return state_dir + "/tls/key.pem"; }  // file backend: RSA
  std::string tls_ca_path() const { return state_dir + "/tls/ca.pem"; }    // session keys' issuer
  std::string tls_ecdsa_key_path() const { return state_dir + "/tls/ecdsa-key.pem"; }
  std::string server_key_path() const { return state_dir + "/server.key"; }
  std::string tpm2_key_dir_path() const {
    return tpm2_key_dir.empty() ? state_dir + "/tpm2" : tpm2_key_dir;
  }
};

Result<Config> ParseConfig(std::string_view toml_text);
// Reads and parses `path`; an empty path gives the embedded defaults.
Result<Config> LoadConfig(const std::string& path);

}  // namespace onionmail::config
