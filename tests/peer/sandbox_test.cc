// TormCall inside a seccomp filter without any file access (no open/openat,
// no execve; kill on violation), as in the sandboxed role that will use it:
// the parent runs the real SMTP server (and a SOCKS5 relay), a forked child
// enters the sandbox the way roles do (PreloadLibrariesForSandbox, then the
// filter) and makes the call. A violation kills the child with SIGSYS.
// The child re-executes this binary, so its OpenSSL starts cold.
#include "base/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "crypto/hex.h"
#include "net/socket_connection.h"
#include "peer/torm_client.h"
#include "seccomp/syscall_sets.h"
#include "smtp/session.h"
#include "tests/peer/peer_test_util.h"
#include "tests/smtp/fake_backend.h"

namespace onionmail::peer {
namespace {

using namespace std::chrono_literals;

struct OkTorm : mail::TormService {
  Result<mail::TormAnswer> Handle(mail::TormVerb, const mail::ChannelBinding& binding,
                                  std::span<const uint8_t> request) override {
    ++calls;
    // Echo the binding so the child can check it against its own.
    return mail::TormAnswer{mail::TormOutcome::kOk, {binding.begin(), binding.end()}};
  }
  std::atomic<int> calls{0};
};

// Network client only: no path-based syscall at all.
seccomp::Policy ClientOnlyPolicy() {
  seccomp::Policy p("peer-client-test");
  seccomp::AddBasicRuntime(p);
  seccomp::AddMemory(p, seccomp::ExecMappings::kNone);
  seccomp::AddPolling(p);
  seccomp::AddConnectedSocketIo(p);
  seccomp::AddTcpClient(p);
  return p;
}

// Child: sandbox, one TormCall; exit 0 when the reply is the binding.
[[noreturn]] void ChildCall(const PeerEndpoint& peer, const ClientOptions& options) {
  if (!PreloadLibrariesForSandbox().ok()) _exit(100);
  if (!ClientOnlyPolicy().Install().ok()) _exit(101);
  mail::ChannelBinding seen{};
  auto r = TormCall(
      peer, mail::TormVerb::kStat,
      [&](const mail::ChannelBinding& cb) -> Result<std::vector<uint8_t>> {
        seen = cb;
        return std::vector<uint8_t>{1};
      },
      options);
  if (!r.ok()) {
    (void)!write(2, r.error().message.data(), r.error().message.size());
    _exit(2);
  }
  if (r->outcome != mail::TormOutcome::kOk) _exit(3);
  if (r->reply != std::vector<uint8_t>(seen.begin(), seen.end())) _exit(4);
  _exit(0);
}

// The child is a fresh process (this test binary re-executed), so nothing
// but gtest has run in it: OpenSSL is initialised there only by
// PreloadLibrariesForSandbox() and by the client itself, as in a role.
int RunChild(const PeerEndpoint& peer, const ClientOptions& options) {
  std::string pin = crypto::ToHex(peer.tls_pin);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("OM_PEER_SANDBOX_ADDR", peer.address.c_str(), 1);
    setenv("OM_PEER_SANDBOX_PIN", pin.c_str(), 1);
    setenv("OM_PEER_SANDBOX_PROXY", options.socks5_proxy.c_str(), 1);
    const char* argv[] = {"peer_sandbox_test", "--gtest_filter=PeerSandboxChild.*", nullptr};
    execv("/proc/self/exe", const_cast<char* const*>(argv));
    _exit(98);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

// Not a test of its own: the body of the child started by RunChild().
TEST(PeerSandboxChild, RunsOnlyWhenStartedByPeerSandboxTest) {
  const char* addr = getenv("OM_PEER_SANDBOX_ADDR");
  const char* pin_hex = getenv("OM_PEER_SANDBOX_PIN");
  const char* proxy = getenv("OM_PEER_SANDBOX_PROXY");
  if (addr == nullptr || pin_hex == nullptr || proxy == nullptr) {
    GTEST_SKIP() << "the sandboxed child of PeerSandboxTest";
  }
  auto pin = crypto::FromHex(pin_hex);
  if (!pin || pin->size() != 32) _exit(97);
  PeerEndpoint peer{addr, {}};
  std::copy(pin->begin(), pin->end(), peer.tls_pin.begin());
  ClientOptions options;
  options.timeout = 10000ms;
  options.socks5_proxy = proxy;
  ChildCall(peer, options);
}

class PeerSandboxTest : public ::testing::Test {
 protected:
  PeerSandboxTest()
      : id_(MakeTestIdentity()), server_([this](int fd) {
          net::SocketConnection conn(fd, id_.tls, net::Timeouts{5000ms, 10000ms});
          smtp::SessionConfig cfg;
          cfg.domain = cfg.hostname = "peer.onion";
          cfg.log_tag = "sandbox-test";
          smtp::Session(conn, backend_, cfg, &service_).Run();
        }) {}
  TestIdentity id_;
  smtp::FakeDeliveryBackend backend_;
  OkTorm service_;
  LoopbackServer server_;
};

TEST_F(PeerSandboxTest, DirectCallWorksWithoutFileAccess) {
  ClientOptions o;
  o.timeout = 10000ms;
  int status = RunChild({server_.address(), id_.pin}, o);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
                                 << " (SIGSYS = a syscall outside the policy)";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(service_.calls, 1);
}

TEST_F(PeerSandboxTest, CallThroughSocks5WorksWithoutFileAccess) {
  // A relay that accepts any CONNECT and forwards to the server.
  const uint16_t target = server_.port();
  LoopbackServer proxy([target](int fd) {
    auto hello = ReadN(fd, 3);
    (void)WriteAll(fd, std::vector<uint8_t>{5, 0});
    auto head = ReadN(fd, 5);
    if (hello.size() != 3 || head.size() != 5 || head[3] != 3) return (void)::close(fd);
    (void)ReadN(fd, head[4] + 2u);
    (void)WriteAll(fd, std::vector<uint8_t>{5, 0, 0, 1, 0, 0, 0, 0, 0, 0});
    int up = ConnectLoopback(target);
    char buf[16384];
    for (;;) {
      struct pollfd p[2] = {{fd, POLLIN, 0}, {up, POLLIN, 0}};
      if (up < 0 || ::poll(p, 2, 10000) <= 0) break;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (p[i].revents == 0) continue;
        ssize_t n = ::read(p[i].fd, buf, sizeof(buf));
        done = n <= 0 || !WriteAll(p[1 - i].fd, std::string_view(buf, static_cast<size_t>(n)));
      }
      if (done) break;
    }
    if (up >= 0) ::close(up);
    ::close(fd);
  });
  ClientOptions o;
  o.timeout = 10000ms;
  o.socks5_proxy = proxy.address();
  int status = RunChild({"sandboxpeer.onion:25", id_.pin}, o);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(service_.calls, 1);
}

// A re-executed child (threadsafe death test), not fork(): this fixture
// runs threads, and PreloadLibrariesForSandbox() starts one; after a bare
// fork of a threaded process that can deadlock on allocator locks (it hung
// under ASan).
TEST_F(PeerSandboxTest, ThePolicyReallyForbidsOpeningFiles) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        if (!PreloadLibrariesForSandbox().ok() || !ClientOnlyPolicy().Install().ok()) _exit(100);
        (void)syscall(SYS_openat, AT_FDCWD, "/etc/hosts", O_RDONLY);
        _exit(0);
      },
      ::testing::KilledBySignal(SIGSYS), "");
}

}  // namespace
}  // namespace onionmail::peer
