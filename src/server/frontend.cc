// Front-end process skeleton; see frontend.h.
#include "server/frontend.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "base/log.h"
#include "base/sandbox.h"
#include "net/remote_key.h"
#include "net/socket_connection.h"
#include "net/tls_context.h"
#include "server/acceptor.h"

namespace onionmail::server {
namespace {

bool IsEcKey(const std::vector<uint8_t>& spki) {
  const unsigned char* p = spki.data();
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  bool ec = k != nullptr && EVP_PKEY_get_base_id(k) == EVP_PKEY_EC;
  EVP_PKEY_free(k);
  ERR_clear_error();
  return ec;
}

Result<std::vector<uint8_t>> NoLink() {
  return MakeError(ErrorCode::kFailedPrecondition, "no key-role session on this thread");
}

// The key role's TLS identity (status checked).
Result<ipc::TlsIdentityReply> AskIdentity(SessionLink& link) {
  auto identity =
      link.Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, std::chrono::seconds(120));
  if (!identity.ok()) return identity.error();
  if (identity->status != ipc::Status::kOk) {
    return MakeError(ErrorCode::kUnavailable, "the key role did not give the TLS identity");
  }
  return identity;
}

// An identity as a context: the certificate's key is the token's ECDSA TLS
// key (generation 0), a session TLS key (its generation,
// server/session_tls.h) or the RSA server key of a state directory made
// before the TLS key (server/tls_identity.h). Signatures go to the key role
// over the thread's session link, naming the generation.
struct BuiltTls {
  std::shared_ptr<net::TlsContext> context;
  uint32_t generation = 0;
};

Result<BuiltTls> BuildTls(const ipc::TlsIdentityReply& identity) {
  const uint32_t generation = identity.generation;
  auto key = IsEcKey(identity.public_key)
                 ? net::MakeRemoteEcKey(identity.public_key,
                                        [generation](std::span<const uint8_t> digest) {
                                          SessionLink* link = ThreadLink();
                                          if (link == nullptr) return NoLink();
                                          return link->SignEcdsa(digest, generation);
                                        })
                 : net::MakeRemoteRsaKey(identity.public_key, [](std::span<const uint8_t> block) {
                     SessionLink* link = ThreadLink();
                     if (link == nullptr) return NoLink();
                     return link->Sign(block);
                   });
  if (!key.ok()) return MakeError(key.error().code, "unusable public key: " + key.error().message);
  std::string pem(identity.certificate_pem.begin(), identity.certificate_pem.end());
  auto context = net::TlsContext::LoadPemWithKey(pem, *key);
  EVP_PKEY_free(*key);  // the context holds its own reference
  if (!context.ok()) return context.error();
  return BuiltTls{std::move(*context), generation};
}

// The context a new connection gets. With the token's key (generation 0)
// it never changes. With session TLS keys each connection first asks the
// key role which key is current (one IPC round trip; the key role makes the
// next key then when the current one is old enough) and gets a new context
// when the generation changed: after a rotation, and after a restart of the
// key role, whose first generation is random, so a front end never presents
// a key the key role no longer holds. If the question fails the connection
// gets the context it would have had (its session then fails on the same
// broken link). Contexts in use stay alive with their connections.
class CurrentTls {
 public:
  CurrentTls(std::string me, BuiltTls first) : me_(std::move(me)), current_(std::move(first)) {}

  std::shared_ptr<net::TlsContext> Get(SessionLink& link) {
    std::unique_lock<std::mutex> lock(mu_);
    if (current_.generation == 0) return current_.context;
    lock.unlock();
    auto identity = AskIdentity(link);
    lock.lock();
    if (!identity.ok() || identity->generation == current_.generation) return current_.context;
    auto built = BuildTls(*identity);
    if (!built.ok()) {
      log::Warning(me_, "cannot use session TLS key " + std::to_string(identity->generation) +
                            ": " + built.error().message);
      return current_.context;
    }
    log::Info(me_, "now presenting session TLS key " + std::to_string(built->generation));
    current_ = std::move(*built);
    return current_.context;
  }

 private:
  const std::string me_;
  std::mutex mu_;
  BuiltTls current_;
};

// Makes a session channel and hands its other end to the key role.
class SessionFactory {
 public:
  explicit SessionFactory(ipc::Channel control) : control_(std::move(control)) {}
  Result<ipc::Channel> NewSession() {
    auto pair = ipc::Channel::CreatePair();
    if (!pair.ok()) return pair.error();
    std::lock_guard<std::mutex> lock(mu_);
    ONIONMAIL_RETURN_IF_ERROR(control_.SendFd(ipc::NewSession{}, pair->second.fd()));
    return std::move(pair->first);  // pair->second closes here: the key role has its copy
  }

 private:
  std::mutex mu_;
  ipc::Channel control_;
};

}  // namespace

int ParseFrontEndArgs(int argc, char** argv, const char* prog, FrontEndArgs* out) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--config" && has_value) {
      out->config_path = argv[++i];
    } else if (a == "--listen-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &out->listen_fd)) {
      ++i;
    } else if (a == "--control-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &out->control_fd)) {
      ++i;
    } else if (a == "--relay-control-fd" && has_value &&
               ipc::ParseInheritedFd(argv[i + 1], &out->relay_control_fd)) {
      ++i;
    } else {
      std::fprintf(stderr,
                   "usage: %s --config FILE --listen-fd N --control-fd M [--relay-control-fd R]\n"
                   "A role of onionmaild, started by it; not meant to be run by hand.\n",
                   prog);
      return 2;
    }
  }
  if (out->listen_fd < 0 || out->control_fd < 0) {
    std::fprintf(stderr, "%s: --listen-fd and --control-fd are required\n", prog);
    return 2;
  }
  return 0;
}

int RunFrontEnd(const FrontEndArgs& args, const config::Config& config, FrontEndSpec spec) {
  const std::string& me = spec.name;
  auto control = ipc::Channel::FromFd(args.control_fd);
  if (!control.ok()) {
    log::Error(me, "bad control channel: " + control.error().message);
    return 1;
  }
  auto factory = std::make_shared<SessionFactory>(std::move(*control));

  // TLS identity from the key role; the private key never comes here.
  auto first = factory->NewSession();
  if (!first.ok()) {
    log::Error(me, "cannot reach the key role: " + first.error().message);
    return 1;
  }
  SessionLink setup(std::move(*first));
  auto identity = AskIdentity(setup);
  setup.Break();
  auto tls = identity.ok() ? BuildTls(*identity) : Result<BuiltTls>(identity.error());
  if (!tls.ok()) {
    log::Error(me, "TLS: " + tls.error().message);
    return 1;
  }
  auto current_tls = std::make_shared<CurrentTls>(me, std::move(*tls));

  SandboxOptions sandbox;
  sandbox.user = ::geteuid() == 0 ? spec.user : "";
  if (config.sandbox_seccomp) {
    sandbox.policy = spec.policy();
    // The blocked syscall is reported before the process dies of SIGSYS, so
    // the supervisor's log names it (seccomp/README.md: the trade-off).
    sandbox.policy->ReportViolations(true);
  } else {
    log::Warning(me, "seccomp disabled by [sandbox] seccomp = false (debugging only)");
  }
  auto entered = EnterSandbox(sandbox);
  if (!entered.ok()) {
    log::Error(me, "cannot enter the sandbox: " + entered.error().message);
    return 1;
  }

  net::Timeouts timeouts;
  timeouts.idle = std::chrono::seconds(spec.idle_timeout_seconds);
  timeouts.session = std::chrono::seconds(spec.session_timeout_seconds);
  Acceptor::OutsideClients outside;
  if (spec.outside_max_connections > 0) {
    outside.limits =
        ClientLimits::Create(spec.outside_max_connections, spec.outside_max_per_address,
                             spec.outside_per_minute_per_address);
    outside.busy_reply = spec.outside_busy_reply;
  }
  Acceptor acceptor(
      me, args.listen_fd, spec.max_connections, spec.busy_reply,
      [factory, current_tls, timeouts, spec](int fd, const std::string& tag, bool from_loopback) {
        auto channel = factory->NewSession();
        if (!channel.ok()) {
          (void)!::send(fd, spec.unavailable_reply.data(), spec.unavailable_reply.size(),
                        MSG_NOSIGNAL | MSG_DONTWAIT);
          ::close(fd);
          log::Warning(tag, "key role unreachable; connection refused");
          return;
        }
        SessionLink link(std::move(*channel));
        SetThreadLink(&link);
        {
          net::SocketConnection conn(fd, current_tls->Get(link), timeouts);
          spec.serve(conn, link, tag, from_loopback);
        }
        SetThreadLink(nullptr);
        ERR_clear_error();  // the thread serves the next connection: start it clean
      },
      std::move(outside));
  log::Info(me, "serving (pid " + std::to_string(::getpid()) + ", seccomp " +
                    (config.sandbox_seccomp ? "on" : "OFF") + ")");
  std::atomic<bool> stop{false};  // SIGTERM ends the process (default action)
  acceptor.Run(stop);
  return 0;
}

}  // namespace onionmail::server
