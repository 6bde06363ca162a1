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
    } else {
      std::fprintf(stderr,
                   "usage: %s --config FILE --listen-fd N --control-fd M\n"
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
  auto identity =
      setup.Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, std::chrono::seconds(120));
  if (!identity.ok() || identity->status != ipc::Status::kOk) {
    log::Error(me, "the key role did not give the TLS identity");
    return 1;
  }
  setup.Break();
  // The certificate's key: the ECDSA TLS key, or the RSA server key of a
  // state directory made before it (server/tls_identity.h).
  auto key = IsEcKey(identity->public_key)
                 ? net::MakeRemoteEcKey(identity->public_key,
                                        [](std::span<const uint8_t> digest) {
                                          SessionLink* link = ThreadLink();
                                          if (link == nullptr) return NoLink();
                                          return link->SignEcdsa(digest);
                                        })
                 : net::MakeRemoteRsaKey(identity->public_key, [](std::span<const uint8_t> block) {
                     SessionLink* link = ThreadLink();
                     if (link == nullptr) return NoLink();
                     return link->Sign(block);
                   });
  if (!key.ok()) {
    log::Error(me, "unusable server public key: " + key.error().message);
    return 1;
  }
  std::string pem(identity->certificate_pem.begin(), identity->certificate_pem.end());
  auto tls = net::TlsContext::LoadPemWithKey(pem, *key);
  EVP_PKEY_free(*key);  // the context holds its own reference
  if (!tls.ok()) {
    log::Error(me, "TLS: " + tls.error().message);
    return 1;
  }

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
  std::shared_ptr<net::TlsContext> tls_ctx = *tls;
  Acceptor acceptor(me, args.listen_fd, spec.max_connections, spec.busy_reply,
                    [factory, tls_ctx, timeouts, spec](int fd, const std::string& tag) {
                      auto channel = factory->NewSession();
                      if (!channel.ok()) {
                        (void)!::send(fd, spec.unavailable_reply.data(),
                                      spec.unavailable_reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                        ::close(fd);
                        log::Warning(tag, "key role unreachable; connection refused");
                        return;
                      }
                      SessionLink link(std::move(*channel));
                      SetThreadLink(&link);
                      {
                        net::SocketConnection conn(fd, tls_ctx, timeouts);
                        spec.serve(conn, link, tag);
                      }
                      SetThreadLink(nullptr);
                      ERR_clear_error();  // the thread serves the next connection: start it clean
                    });
  log::Info(me, "serving (pid " + std::to_string(::getpid()) + ", seccomp " +
                    (config.sandbox_seccomp ? "on" : "OFF") + ")");
  std::atomic<bool> stop{false};  // SIGTERM ends the process (default action)
  acceptor.Run(stop);
  return 0;
}

}  // namespace onionmail::server
