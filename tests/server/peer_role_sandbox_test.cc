// The whole peer role under its own seccomp policy, as onionmail-peer runs
// it: a fresh child process (this binary re-executed, so OpenSSL starts cold)
// does the role's start-up (WarmUpTlsClient, PreloadLibrariesForSandbox,
// PeerClientPolicy, which kills on any other syscall) and runs PeerRole with
// the real TORM client. The parent plays the key role (scripted, over a real
// control channel) and a real peer: onionmaild's SMTP session with STARTTLS,
// TLS 1.3 and a recording TORM service. One tick: an unseal round with one
// peer (DERK), then one KCTL certificate to forward.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "base/sandbox.h"
#include "net/socket_connection.h"
#include "seccomp/policies.h"
#include "server/peer_role.h"
#include "smtp/session.h"
#include "tests/peer/peer_test_util.h"
#include "tests/server/peer_role_fakes.h"
#include "tests/smtp/fake_backend.h"

extern char** environ;

namespace onionmail::server {
namespace {

using namespace ::onionmail::server::testing;
using mail::TormOutcome;
using mail::TormVerb;

constexpr const char* kChildFdVar = "OM_PEER_ROLE_CHILD_FD";
const Bytes kCertificate(126, 0x5A);

// The peer's TORM service: records each request with the binding its own
// TLS end computed; answers DERK with 0xD1 || binding, KCTL with 0x01.
struct RecordingTorm : mail::TormService {
  struct Call {
    TormVerb verb;
    mail::ChannelBinding binding;
    Bytes request;
  };
  Result<mail::TormAnswer> Handle(TormVerb verb, const mail::ChannelBinding& binding,
                                  std::span<const uint8_t> request) override {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back({verb, binding, {request.begin(), request.end()}});
    Bytes reply = {0x01};
    if (verb == TormVerb::kDerk) {
      reply = {0xD1};
      reply.insert(reply.end(), binding.begin(), binding.end());
    }
    return mail::TormAnswer{TormOutcome::kOk, reply};
  }
  std::mutex mu;
  std::vector<Call> calls;
};

// Not a test of its own: the body of the child started by RunSandboxedRole.
TEST(PeerRoleSandboxChild, RunsOnlyWhenStartedByPeerRoleSandboxTest) {
  const char* fd_text = std::getenv(kChildFdVar);
  if (fd_text == nullptr) GTEST_SKIP() << "the sandboxed child of PeerRoleSandboxTest";
  auto channel = ipc::Channel::FromFd(std::atoi(fd_text));
  if (!channel.ok()) _exit(90);
  if (!WarmUpTlsClient().ok() || !PreloadLibrariesForSandbox().ok()) _exit(91);
  seccomp::Policy policy = seccomp::PeerClientPolicy();
  policy.ReportViolations(true);  // name the syscall on stderr, then die of SIGSYS
  if (!policy.Install().ok()) _exit(92);
  peer::ClientOptions options;
  options.timeout = 10s;
  std::atomic<bool> stop{false};
  PeerRole role(
      *channel, options, peer::TormCall, [&stop](std::chrono::milliseconds) { stop = true; }, 10s);
  auto ran = role.Run(stop);
  if (!ran.ok()) {
    (void)!write(2, ran.error().message.data(), ran.error().message.size());
    _exit(93);
  }
  _exit(0);
}

// Forks and re-executes this binary as the child above, with `fd` (the role's
// end of the control channel) inherited. Returns the wait status.
int RunSandboxedRole(int fd) {
  // Everything the child needs is built before fork (the parent has threads).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kChildFdVar) + "=" + std::to_string(fd));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string arg0 = "peer_role_test";
  std::string arg1 = "--gtest_filter=PeerRoleSandboxChild.*";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    if (fcntl(fd, F_SETFD, 0) != 0) _exit(98);
    execve("/proc/self/exe", argv, envp.data());
    _exit(99);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

TEST(PeerRoleSandboxTest, UnsealRoundAndForwardingWorkUnderThePeerPolicy) {
  peer::TestIdentity id = peer::MakeTestIdentity();
  RecordingTorm service;
  smtp::FakeDeliveryBackend backend;
  peer::LoopbackServer server([&](int fd) {
    net::SocketConnection conn(fd, id.tls, net::Timeouts{5000ms, 10000ms});
    smtp::SessionConfig cfg;
    cfg.domain = cfg.hostname = "peer.onion";
    cfg.log_tag = "peer-role-sandbox-test";
    smtp::Session(conn, backend, cfg, &service).Run();
  });
  const std::string address = server.address();
  const peer::SpkiPin pin = id.pin;

  KeyRoleScript script;
  script.plan = [&](int call) {
    if (call > 0) return UnsealedPlan();
    return SealedPlan({ipc::UnsealTarget{7, address, pin}});
  };
  script.result = [](const ipc::DerkResultRequest&) {
    return ipc::UnsealProgress{ipc::Status::kOk, false, 2, 2};
  };
  script.forwards = [&](int call) {
    ipc::ForwardList list;
    if (call == 0) list.items.push_back({kCertificate, address, pin});
    return list;
  };
  FakeKeyRole key(script);
  const int status = RunSandboxedRole(key.role_end().fd());
  key.Finish();  // closes the parent's copy of the role's end
  server.Stop();

  ASSERT_TRUE(WIFEXITED(status)) << "the role was killed by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
                                 << " (SIGSYS: a syscall outside PeerClientPolicy)";
  ASSERT_EQ(WEXITSTATUS(status), 0);

  ASSERT_EQ(service.calls.size(), 2u);
  const auto& derk = service.calls[0];
  EXPECT_EQ(derk.verb, TormVerb::kDerk);
  ASSERT_EQ(key.prepares.size(), 1u);
  EXPECT_EQ(key.prepares[0].index, 7);
  EXPECT_EQ(key.prepares[0].channel_binding, derk.binding)
      << "the key role signed for the binding the peer sees on its TLS end";
  EXPECT_EQ(derk.request, BlobFor(7, derk.binding));
  ASSERT_EQ(key.results.size(), 1u);
  EXPECT_TRUE(key.results[0].reached);
  EXPECT_EQ(key.results[0].outcome, TormOutcome::kOk);
  Bytes expected_reply = {0xD1};
  expected_reply.insert(expected_reply.end(), derk.binding.begin(), derk.binding.end());
  EXPECT_EQ(key.results[0].reply, expected_reply);

  EXPECT_EQ(service.calls[1].verb, TormVerb::kKctl);
  EXPECT_EQ(service.calls[1].request, kCertificate);
}

}  // namespace
}  // namespace onionmail::server
