// onionmail-key: the key role, the only process that links the hardware key
// store (tss2, p11-kit) and holds key material. It owns the state directory
// (user records, ciphertext mailboxes) and serves the front ends over their
// control channels (key_service_role.h). Exec'd by onionmaild:
//
//   onionmail-key --config FILE --smtp-control-fd A --pop3-control-fd B
//                 [--peer-control-fd C] [--relay-control-fd D]
//
// C is the peer role's channel (unseal at boot, KCTL forwarding), D the
// relay role's (TKIM proofs, only with [relay] enabled): both served by
// UnsealService, each in a thread of its own.
//
// Start-up, in order: read the config; drop to [sandbox] key_user when root
// (so every file it creates is the key user's); open the state directory
// and the token; no_new_privs, non-dumpable, no core; the key-role seccomp
// policy. Logs the device operations at start-up and, on SIGTERM, since
// start. Exit status 1 = start-up failed, 3 = a front end broke the control
// protocol (the supervisor restarts the role either way).
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "base/log.h"
#include "base/sandbox.h"
#include "base/secret_bytes.h"
#include "config/config.h"
#include "crypto/argon2id.h"
#include "crypto/huge_pages.h"
#include "ipc/channel.h"
#include "net/remote_key.h"
#include "seccomp/policies.h"
#include "server/key_role_openssl.h"
#include "server/key_service_role.h"
#include "server/session_tls.h"
#include "server/state.h"
#include "server/tkim_vouch.h"
#include "server/tls_identity.h"
#include "server/torm_handler.h"
#include "server/unseal_service.h"
#include "store/durable_file.h"
#include "unseal/master_key.h"
#include "unseal/partner_store.h"

namespace onionmail::server {
namespace {

int Fail(const std::string& what) {
  log::Error("key", what);
  return 1;
}

// [tls] session_key_hours: the first session key, and the issuing
// certificate written to <state>/tls/ca.pem for the operator to give to
// clients that check certificates (server/session_tls.h).
Result<std::unique_ptr<SessionTlsKeys>> MakeSessionTlsKeys(const config::Config& config,
                                                           State& state, const TlsIdentity& tls) {
  if (tls.kind != TlsKeyKind::kEcdsaP256) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "[tls] session_key_hours needs the ECDSA TLS key: run `onionmailctl tls-key`");
  }
  std::chrono::seconds lifetime = std::chrono::hours(config.tls_session_key_hours);
#ifdef ONIONMAIL_TEST_HOOKS
  // Test builds only: a lifetime in seconds, so that a test sees rotations.
  if (const char* s = std::getenv("ONIONMAIL_TEST_SESSION_KEY_SECONDS"); s != nullptr) {
    lifetime = std::chrono::seconds(std::strtol(s, nullptr, 10));
  }
#endif
  auto keys = SessionTlsKeys::Create(
      tls.certificate_pem, tls.public_key,
      [st = &state](std::span<const uint8_t> digest) { return st->TlsSign(digest); }, lifetime);
  if (!keys.ok()) return keys.error();
  const std::string& ca = (*keys)->ca_pem();
  const std::string dir = config.state_dir + "/tls";
  ONIONMAIL_RETURN_IF_ERROR(store::WriteFileDurably(
      dir, config.tls_ca_path(), {reinterpret_cast<const uint8_t*>(ca.data()), ca.size()}, true));
  log::Info("key", "session TLS keys: a new one every " +
                       std::to_string(config.tls_session_key_hours) +
                       " h, certified by the token's TLS key; clients that check certificates "
                       "trust " +
                       config.tls_ca_path());
  return keys;
}

bool UsesTcpTcti(const config::Config& c) {
  return c.keys_backend == "tpm2" &&
         (c.tpm2_tcti.rfind("swtpm", 0) == 0 || c.tpm2_tcti.rfind("mssim", 0) == 0);
}

void ServeFrontEnd(KeyRoleServer* server, int fd, FrontEnd fe) {
  auto channel = ipc::Channel::FromFd(fd);
  Result<void> r = channel.ok() ? server->ServeControl(std::move(*channel), fe) : channel.error();
  const char* name = fe == FrontEnd::kSmtp ? "smtp" : "pop3";
  log::Error("key", std::string("control channel of ") + name +
                        " failed: " + (r.ok() ? "closed" : r.error().message) + "; exiting");
  std::fflush(stderr);
  _exit(3);
}

void ServePeerRole(UnsealService* service, int fd) {
  auto channel = ipc::Channel::FromFd(fd);
  Result<void> r = channel.ok() ? service->ServePeer(std::move(*channel)) : channel.error();
  log::Error("key", "control channel of the peer role failed: " +
                        (r.ok() ? std::string("closed") : r.error().message) + "; exiting");
  std::fflush(stderr);
  _exit(3);
}

// The relay role's TKIM proofs. Unlike the peer channel, a failure here
// does not restart the key role: the relay role then sends no proofs.
void ServeRelayRole(UnsealService* service, int fd) {
  auto channel = ipc::Channel::FromFd(fd);
  Result<void> r = channel.ok() ? service->ServeRelay(std::move(*channel)) : channel.error();
  if (!r.ok() && r.error().code != ErrorCode::kUnavailable) {
    log::Error("key", "channel of the relay role failed: " + r.error().message +
                          "; no more TKIM proofs until the key role restarts");
  }
}

int Run(const config::Config& config, int smtp_fd, int pop3_fd, int peer_fd, int relay_fd) {
  // Files created from here on belong to the key user, never to root.
  auto dropped = DropToUser(::geteuid() == 0 ? config.sandbox_key_user : "", false);
  if (!dropped.ok()) return Fail(dropped.error().message);
  auto state = State::Open(config);
  if (!state.ok()) return Fail(state.error().message);
  auto tls = LoadTlsIdentity(**state);
  if (!tls.ok()) return Fail("TLS identity: " + tls.error().message);
  if (tls->kind == TlsKeyKind::kRsa) {
    log::Warning("key",
                 "the TLS certificate is for the RSA server key (a state directory made before "
                 "the ECDSA TLS key): `onionmailctl tls-key` moves TLS to its own key");
  }
  auto public_key = (*state)->ServerPublicKey();
  if (!public_key.ok()) return Fail("server key: " + public_key.error().message);
  static SessionTlsKeys* session_tls = nullptr;  // lives until _exit
  if (config.tls_session_key_hours > 0) {
    auto made = MakeSessionTlsKeys(config, **state, *tls);
    if (!made.ok()) return Fail(made.error().message);
    session_tls = made->release();
  }

  // The master key (issue 5): an enrolled state starts sealed; the peer
  // role asks the peers, this process unblinds, combines and unseals.
  std::unique_ptr<unseal::Unsealer> unsealer;
  if ((*state)->enrolled()) {
    auto loaded = unseal::Unsealer::Load(config.state_dir, (*state)->device_keys());
    if (!loaded.ok()) return Fail("unseal enrolment: " + loaded.error().message);
    unsealer = std::move(*loaded);
    log::Info("key", "sealed: waiting for the unseal peers");
  }
  auto sign_key = net::MakeRemoteRsaKey(
      *public_key,
      [st = state->get()](std::span<const uint8_t> in) { return st->ServerPrivateRaw(in); });
  if (!sign_key.ok()) return Fail("server key: " + sign_key.error().message);
  EVP_PKEY* request_key = *sign_key;  // lives until _exit
  // The relay role vouches through it for the onions that prove themselves
  // by TKIM; SMTP sessions show the vouches back (server/tkim_vouch.h).
  static const TkimVouches* vouches = new TkimVouches();  // lives until _exit
  static UnsealService* unseal_service = nullptr;
  unseal_service = new UnsealService(
      **state, std::move(unsealer),
      [request_key](unseal::Verb verb, const mail::ChannelBinding& binding,
                    std::span<const uint8_t> body) -> Result<std::vector<uint8_t>> {
        auto req = unseal::SignRequestWithKey(request_key, verb, binding, body);
        if (!req.ok()) return req.error();
        return unseal::EncodeSignedRequest(*req);
      });
  unseal_service->set_vouches(vouches);

  // This server as an unseal peer of others ([peer] serve): the partner
  // records are sealed by the device alone, so they work while sealed.
  static unseal::PartnerStore* partners = nullptr;  // live until _exit
  static TormHandler* torm = nullptr;
  if (config.peer_serve) {
    unseal::PartnerStoreOptions options;
    options.max_partners = config.peer_max_partners;
    options.max_credits = config.peer_max_credits;
    options.rate_limit_answers = config.peer_rate_limit_answers;
    options.rate_limit_window_s = config.peer_rate_limit_window_seconds;
    auto store = unseal::PartnerStore::Open(config.state_dir + "/" + unseal::kPartnersDirName,
                                            (*state)->device_keys(), options);
    if (!store.ok()) return Fail("partner records: " + store.error().message);
    partners = store->release();
    for (const std::string& e : partners->load_errors()) log::Warning("key", e);
    // Applied KCTL certificates go to the partner's other peers through the
    // peer role (outbound connections are not this role's).
    torm = new TormHandler(*partners,
                           [](std::vector<uint8_t> cert, std::vector<unseal::ForwardPeer> peers) {
                             unseal_service->EnqueueForward(cert, peers);
                           });
  }

  SandboxOptions sandbox;  // already the key user: EnterSandbox only checks
  if (config.sandbox_seccomp) {
    sandbox.policy = seccomp::KeyRolePolicy(UsesTcpTcti(config));
    sandbox.policy->ReportViolations(true);  // the supervisor's log names the syscall
  } else {
    log::Warning("key", "seccomp disabled by [sandbox] seccomp = false (debugging only)");
  }
  // Picks the Argon2id code for this CPU (sodium_init) and reads the huge
  // page size for its memory (sysfs) before the filter.
  const char* kdf_impl = crypto::Argon2idImplementation(
      {config.argon2_t_cost, config.argon2_m_cost_kib, config.argon2_parallelism},
      crypto::kArgon2SaltBytes);
  const size_t huge_page = crypto::HugePageSize();  // always: any blob's KDF may use libsodium
  const bool kdf_huge =
      huge_page != 0 && crypto::HugePageMappingsLinked() && std::strcmp(kdf_impl, "libsodium") == 0;
  auto entered = EnterSandbox(sandbox);
  if (!entered.ok()) return Fail("cannot enter the sandbox: " + entered.error().message);

  State* st = state->get();
  uint32_t max_sessions = config.smtp_max_connections + config.pop3_max_connections + 8;
  static KeyRoleServer* server = nullptr;  // lives until _exit
  server = new KeyRoleServer(*st, std::move(*tls), max_sessions);
  server->set_torm(torm);
  server->set_session_tls(session_tls);
  server->set_server_key(*public_key);
  server->set_tkim_vouches(vouches);
  log::Info("key", "ready: key store " + std::string(st->key_store_backend()) +
                       " (device operations at start-up: " +
                       std::to_string(st->device_operations()) + "), argon2id by " + kdf_impl +
                       (kdf_huge ? " in " + std::to_string(huge_page >> 10) + " KiB pages"
                                 : std::string(" in small pages")) +
                       ", seccomp " + (config.sandbox_seccomp ? "on" : "OFF"));
  std::thread(ServeFrontEnd, server, smtp_fd, FrontEnd::kSmtp).detach();
  std::thread(ServeFrontEnd, server, pop3_fd, FrontEnd::kPop3).detach();
  if (peer_fd >= 0) {
    std::thread(ServePeerRole, unseal_service, peer_fd).detach();
  } else if (st->enrolled()) {
    log::Warning("key", "no peer role channel: this server cannot unseal itself");
  }
  if (relay_fd >= 0) std::thread(ServeRelayRole, unseal_service, relay_fd).detach();
  std::thread([st, interval = config.sweep_interval_seconds] {
    for (;;) {
      auto removed = st->SweepExpired();
      if (!removed.ok()) {
        log::Warning("sweep", removed.error().message);
      } else if (*removed > 0) {
        log::Info("sweep", "removed " + std::to_string(*removed) + " expired messages");
      }
      std::this_thread::sleep_for(std::chrono::seconds(interval));
    }
  }).detach();
  // Empty spare files, made while deliveries pause, so that a delivery need
  // not allocate an inode (docs/store.md, "Spare files").
  std::thread([st] { st->RunSpareStocker(); }).detach();

  sigset_t wait_set;
  sigemptyset(&wait_set);
  sigaddset(&wait_set, SIGTERM);
  sigaddset(&wait_set, SIGINT);
  int sig = 0;
  sigwait(&wait_set, &sig);
  log::Info("key", std::string("stopping on ") + strsignal(sig) +
                       "; key store device operations since start: " +
                       std::to_string(st->device_operations()));
  // Sessions in flight are cut; a message without its 250 was never promised.
  std::fflush(stderr);
  _exit(0);
}

}  // namespace
}  // namespace onionmail::server

int main(int argc, char** argv) {
  using namespace onionmail;
  // Before any other OpenSSL call (key_role_openssl.h).
  if (!server::InitKeyRoleOpenSsl()) {
    std::fputs("onionmail-key: OpenSSL initialisation failed\n", stderr);
    return 1;
  }
  std::string config_path;
  int smtp_fd = -1, pop3_fd = -1, peer_fd = -1, relay_fd = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--config" && has_value) {
      config_path = argv[++i];
    } else if (a == "--smtp-control-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &smtp_fd)) {
      ++i;
    } else if (a == "--pop3-control-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &pop3_fd)) {
      ++i;
    } else if (a == "--peer-control-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &peer_fd)) {
      ++i;
    } else if (a == "--relay-control-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &relay_fd)) {
      ++i;
    } else {
      std::fputs(
          "usage: onionmail-key --config FILE --smtp-control-fd A --pop3-control-fd B "
          "[--peer-control-fd C] [--relay-control-fd D]\n"
          "A role of onionmaild, started by it; not meant to be run by hand.\n",
          stderr);
      return 2;
    }
  }
  if (smtp_fd < 0 || pop3_fd < 0) {
    std::fputs("onionmail-key: both control fds are required\n", stderr);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  if (!InitSecureMemory()) {
    log::Warning("key", "secure heap unavailable; secrets use the normal heap");
  }
  auto config = config::LoadConfig(config_path);
  if (!config.ok()) return server::Fail(config.error().message);
  log::Level level;
  if (log::ParseLevel(config->log_level, &level)) log::SetLevel(level);
  const int rc = server::Run(*config, smtp_fd, pop3_fd, peer_fd, relay_fd);
  // _exit: no atexit work in a sandboxed role (a sanitizer's exit-time leak
  // check would trace the process, which every policy forbids).
  std::fflush(stderr);
  _exit(rc);
}
