// Death and positive tests shared by the two outbound roles' policies, the
// peer role's (PeerClientPolicy) and the relay role's (RelayPolicy), which
// allow the same surface (seccomp/policies.h): every forbidden class (files,
// exec, fork, sockets other than TCP clients, bind/listen/accept, ptrace,
// setuid, code mappings, kernel attack surface) kills with SIGSYS; what the
// roles do (TCP client connect with a non-blocking socket, I/O and fd passing
// on a control channel, a TLS client handshake whose SSL_CTX is made under
// the policy, threads, malloc, OpenSSL) still works. Each test runs once per
// policy (suffix /peer, /relay). The peer role as a whole (PeerRole +
// TormCall) under its policy is tested in tests/server/peer_role_test.cc.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "base/sandbox.h"
#include "seccomp/policies.h"
#include "tests/seccomp/test_util.h"

namespace onionmail::seccomp {
namespace {

using ::onionmail::seccomp::testing::InstallOrExit;
using ::onionmail::seccomp::testing::ListenOnLoopback;
using ::onionmail::seccomp::testing::MakeTlsServerContext;
using ::onionmail::seccomp::testing::RunTlsClient;
using ::onionmail::seccomp::testing::ServeOneTlsExchange;

const char* const kArgv[] = {"/bin/true", nullptr};
const char* const kEnvp[] = {nullptr};

struct OutboundRole {
  const char* name;
  Policy (*make)();
};

void PrintTo(const OutboundRole& role, std::ostream* os) { *os << role.name; }

class OutboundPolicyTest : public ::testing::TestWithParam<OutboundRole> {
 protected:
  // Built where it is installed (the child): AddBasicRuntime pins its pid.
  static Policy Role() { return GetParam().make(); }
};

INSTANTIATE_TEST_SUITE_P(Roles, OutboundPolicyTest,
                         ::testing::Values(OutboundRole{"peer", &PeerClientPolicy},
                                           OutboundRole{"relay", &RelayPolicy}),
                         [](const ::testing::TestParamInfo<OutboundRole>& info) {
                           return std::string(info.param.name);
                         });

int PreopenedTcpSocket() { return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }

// As peer::ConnectNumeric does: a non-blocking socket made under the policy,
// connect, poll for writable, SO_ERROR. Returns the connected fd.
int ConnectNonBlocking(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  OM_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  OM_REQUIRE(r == 0 || errno == EINPROGRESS);
  struct pollfd p = {fd, POLLOUT, 0};
  OM_REQUIRE(poll(&p, 1, 5000) == 1);
  int err = -1;
  socklen_t len = sizeof(err);
  OM_REQUIRE(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
  int one = 1;
  OM_REQUIRE(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0);
  int flags = fcntl(fd, F_GETFL, 0);
  OM_REQUIRE(flags >= 0 && (flags & O_NONBLOCK) != 0);
  OM_REQUIRE(fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0);
  return fd;
}

// A helper process (forked before the policy) accepts one connection and
// echoes one line: the role itself may never accept. It dies with the test
// child and gives up after 10 s, so a killed child cannot hang the test (the
// helper holds gtest's death-test pipe too).
pid_t StartEchoServer(int listen_fd) {
  pid_t pid = fork();
  if (pid == 0) {
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct pollfd p = {listen_fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) _exit(1);
    int conn = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) _exit(1);
    char buf[64];
    ssize_t n = read(conn, buf, sizeof(buf));
    if (n > 0) (void)!write(conn, buf, static_cast<size_t>(n));
    close(conn);
    _exit(0);
  }
  return pid;
}

void ConnectAndEcho(uint16_t port) {
  int fd = ConnectNonBlocking(port);
  OM_REQUIRE(send(fd, "EHLO peer\r\n", 11, MSG_NOSIGNAL) == 11);
  char buf[16];
  OM_REQUIRE(recv(fd, buf, sizeof(buf), MSG_WAITALL) == 11);
  OM_REQUIRE(std::memcmp(buf, "EHLO peer\r\n", 11) == 0);
  OM_REQUIRE(shutdown(fd, SHUT_RDWR) == 0);
  OM_REQUIRE(close(fd) == 0);
}

// The control channel: a SOCK_SEQPACKET socketpair made before the policy;
// frames and an fd go through sendmsg/recvmsg.
void ControlChannelIo(int a, int b) {
  char frame[] = "UnsealPlanRequest";
  struct iovec iov = {frame, sizeof(frame)};
  char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int passed = STDERR_FILENO;
  std::memcpy(CMSG_DATA(c), &passed, sizeof(int));
  OM_REQUIRE(sendmsg(a, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(frame)));
  char in[64];
  char in_control[CMSG_SPACE(sizeof(int))] = {};
  struct iovec in_iov = {in, sizeof(in)};
  struct msghdr in_msg {};
  in_msg.msg_iov = &in_iov;
  in_msg.msg_iovlen = 1;
  in_msg.msg_control = in_control;
  in_msg.msg_controllen = sizeof(in_control);
  OM_REQUIRE(recvmsg(b, &in_msg, MSG_CMSG_CLOEXEC) == static_cast<ssize_t>(sizeof(frame)));
  struct cmsghdr* got = CMSG_FIRSTHDR(&in_msg);
  OM_REQUIRE(got != nullptr && got->cmsg_type == SCM_RIGHTS);
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(got), sizeof(int));
  OM_REQUIRE(fd >= 0 && close(fd) == 0);
}

void ThreadsMemoryTimeRandom() {
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&ran] { ran.fetch_add(1); });
  for (std::thread& t : threads) t.join();
  OM_REQUIRE(ran.load() == 4);
  char* big = static_cast<char*>(std::malloc(64 << 20));
  OM_REQUIRE(big != nullptr);
  std::memset(big, 0x5a, 64 << 20);
  big = static_cast<char*>(std::realloc(big, 128 << 20));
  OM_REQUIRE(big != nullptr && big[(64 << 20) - 1] == 0x5a);
  std::free(big);
  unsigned char rnd[32];
  OM_REQUIRE(getrandom(rnd, sizeof(rnd), 0) == static_cast<ssize_t>(sizeof(rnd)));
  OM_REQUIRE(RAND_bytes(rnd, sizeof(rnd)) == 1);
  struct timespec ts;
  OM_REQUIRE(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
  OM_REQUIRE(clock_gettime(CLOCK_REALTIME, &ts) == 0);
  struct timespec nap = {0, 1000000};
  OM_REQUIRE(nanosleep(&nap, nullptr) == 0);
}

// glibc opens /proc/sys/vm/overcommit_memory the first time a thread arena
// gives memory back; PreloadLibrariesForSandbox() must have done it already.
void ThreadArenaGivesMemoryBack() {
  std::thread t([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 16; ++i) blocks.push_back(std::malloc(64 * 1024));
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
  });
  t.join();
}

// --- forbidden: files, programs, processes ---------------------------------

TEST_P(OutboundPolicyTest, OpenatOfAFileIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY));
}

TEST_P(OutboundPolicyTest, OpenatCreatingAFileIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(),
                   syscall(SYS_openat, AT_FDCWD, "/tmp/om-outbound-x", O_WRONLY | O_CREAT, 0600));
}

#ifdef SYS_open
TEST_P(OutboundPolicyTest, LegacyOpenIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_open, "/etc/hostname", O_RDONLY));
}
#endif

TEST_P(OutboundPolicyTest, ExecveIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_execve, kArgv[0], kArgv, kEnvp));
}

TEST_P(OutboundPolicyTest, ExecveatIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_execveat, AT_FDCWD, kArgv[0], kArgv, kEnvp, 0));
}

TEST_P(OutboundPolicyTest, ForkIsKilledWithSigsys) { OM_EXPECT_SIGSYS(Role(), (void)fork()); }

TEST_P(OutboundPolicyTest, CloneWithoutCloneThreadIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
}

TEST_P(OutboundPolicyTest, PtraceIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
}

TEST_P(OutboundPolicyTest, SetuidIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_setuid, getuid()));
}

TEST_P(OutboundPolicyTest, SetresuidIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_setresuid, getuid(), getuid(), getuid()));
}

TEST_P(OutboundPolicyTest, ExecutableMappingIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(),
                   mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
}

TEST_P(OutboundPolicyTest, MakingHeapPagesExecutableIsKilledWithSigsys) {
  void* page = nullptr;
  OM_EXPECT_SIGSYS_AFTER(
      page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      Role(), mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC));
}

TEST_P(OutboundPolicyTest, ReenablingCoreDumpsIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0));
}

TEST_P(OutboundPolicyTest, SignallingAnotherProcessIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_kill, 1, 0));
}

TEST_P(OutboundPolicyTest, KernelAttackSurfaceSyscallsAreKilledWithSigsys) {
  for (long nr : {long{SYS_unshare}, long{SYS_bpf}, long{SYS_perf_event_open},
                  long{SYS_userfaultfd}, long{SYS_io_uring_setup}, long{SYS_keyctl},
                  long{SYS_mount}, long{SYS_chroot}, long{SYS_process_vm_readv}}) {
    SCOPED_TRACE("syscall " + std::to_string(nr));
    OM_EXPECT_SIGSYS(Role(), syscall(nr, 0, 0, 0, 0, 0, 0));
  }
}

// --- forbidden: every socket but a TCP client ------------------------------

TEST_P(OutboundPolicyTest, UnixSocketIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
}

TEST_P(OutboundPolicyTest, UnixSocketpairIsKilledWithSigsys) {
  int sv[2];
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET, 0, sv));
}

TEST_P(OutboundPolicyTest, UdpSocketIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0));
}

TEST_P(OutboundPolicyTest, UdpSocketOverIpv6IsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socket, AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

TEST_P(OutboundPolicyTest, RawSocketIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP));
}

TEST_P(OutboundPolicyTest, NetlinkSocketIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
}

TEST_P(OutboundPolicyTest, PacketSocketIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0));
}

TEST_P(OutboundPolicyTest, SctpStreamSocketIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_SCTP));
}

TEST_P(OutboundPolicyTest, SeqpacketInternetSocketIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Role(), syscall(SYS_socket, AF_INET, SOCK_SEQPACKET, 0));
}

TEST_P(OutboundPolicyTest, BindOnAPreopenedSocketIsKilledWithSigsys) {
  int fd = -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  OM_EXPECT_SIGSYS_AFTER(fd = PreopenedTcpSocket(), Role(),
                         syscall(SYS_bind, fd, &addr, sizeof(addr)));
}

TEST_P(OutboundPolicyTest, ListenOnAPreopenedSocketIsKilledWithSigsys) {
  int fd = -1;
  OM_EXPECT_SIGSYS_AFTER(fd = PreopenedTcpSocket(), Role(), syscall(SYS_listen, fd, 1));
}

TEST_P(OutboundPolicyTest, AcceptOnAPreopenedListenerIsKilledWithSigsys) {
  int fd = -1;
  uint16_t port = 0;
  OM_EXPECT_SIGSYS_AFTER(fd = ListenOnLoopback(&port), Role(),
                         syscall(SYS_accept4, fd, nullptr, nullptr, SOCK_NONBLOCK));
}

// --- what the role does ----------------------------------------------------

TEST_P(OutboundPolicyTest, TcpConnectToALoopbackListenerMadeBeforeThePolicyWorks) {
  uint16_t port = 0;
  int listen_fd = -1;
  OM_EXPECT_WORKS_AFTER(
      {
        listen_fd = ListenOnLoopback(&port);
        OM_REQUIRE(listen_fd >= 0 && StartEchoServer(listen_fd) > 0);
      },
      Role(), ConnectAndEcho(port));
}

TEST_P(OutboundPolicyTest, TcpClientSocketsOfBothFamiliesAndTcpProtocolCanBeMade) {
  OM_EXPECT_WORKS(Role(), {
    for (int family : {AF_INET, AF_INET6}) {
      for (int protocol : {0, static_cast<int>(IPPROTO_TCP)}) {
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, protocol);
        OM_REQUIRE(fd >= 0 && close(fd) == 0);
      }
    }
  });
}

TEST_P(OutboundPolicyTest, ControlChannelFramesAndFdPassingWork) {
  int sv[2] = {-1, -1};
  OM_EXPECT_WORKS_AFTER(OM_REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0),
                        Role(), ControlChannelIo(sv[0], sv[1]));
}

TEST_P(OutboundPolicyTest, ThreadsMemoryClocksAndRandomnessWork) {
  OM_EXPECT_WORKS_AFTER(OM_REQUIRE(PreloadLibrariesForSandbox().ok()), Role(),
                        ThreadsMemoryTimeRandom());
}

TEST_P(OutboundPolicyTest, ThreadArenaTrimWorksAfterPreload) {
  OM_EXPECT_WORKS_AFTER(OM_REQUIRE(PreloadLibrariesForSandbox().ok()), Role(),
                        ThreadArenaGivesMemoryBack());
}

TEST_P(OutboundPolicyTest, Clone3FailsWithEnosysSoGlibcFallsBackToClone) {
  OM_EXPECT_WORKS(Role(), OM_REQUIRE(syscall(SYS_clone3, nullptr, 0) == -1 && errno == ENOSYS));
}

TEST_P(OutboundPolicyTest, IoctlFailsWithEnottyInsteadOfKilling) {
  OM_EXPECT_WORKS(Role(), OM_REQUIRE(isatty(STDERR_FILENO) == 0));
}

// TLS client side under the policy: the child makes its socket, connects,
// creates its SSL_CTX and handshakes, all after the install; the parent
// (unfiltered) accepts and serves one TLS exchange.
TEST_P(OutboundPolicyTest, TlsClientHandshakeOverANewTcpConnectionWorks) {
  uint16_t port = 0;
  int listen_fd = ListenOnLoopback(&port);
  ASSERT_GE(listen_fd, 0);
  SSL_CTX* ctx = MakeTlsServerContext();
  ASSERT_NE(ctx, nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(listen_fd);
    signal(SIGPIPE, SIG_IGN);
    if (!PreloadLibrariesForSandbox().ok()) _exit(90);
    InstallOrExit(Role());
    int fd = ConnectNonBlocking(port);
    std::string reply;
    if (!RunTlsClient(fd, &reply)) _exit(91);
    _exit(reply == "221 2.0.0 bye over TLS\r\n" ? 0 : 92);
  }
  // A client that died early must not kill the test process with SIGPIPE.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  struct pollfd p = {listen_fd, POLLIN, 0};
  int served = -1;
  if (poll(&p, 1, 10000) == 1) {
    int conn = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn >= 0) served = ServeOneTlsExchange(ctx, conn);
  }
  int status = 0;
  const pid_t waited = waitpid(pid, &status, 0);
  sigaction(SIGPIPE, &old, nullptr);
  ASSERT_EQ(waited, pid);
  close(listen_fd);
  SSL_CTX_free(ctx);
  ASSERT_FALSE(WIFSIGNALED(status)) << "client killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "client failed at step " << WEXITSTATUS(status);
  EXPECT_EQ(served, 0) << "server failed at step " << served;
}

TEST_P(OutboundPolicyTest, EveryRuleHasAReasonAndNoneReachesPathsListenersOrPrograms) {
  const Policy p = Role();
  for (const Policy::Rule& r : p.rules()) {
    EXPECT_GE(std::string(r.reason).size(), 8u) << "rule for " << r.nr;
  }
  for (int nr : {SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(creat), SCMP_SYS(bind),
                 SCMP_SYS(listen), SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(socketpair),
                 SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
                 SCMP_SYS(ptrace), SCMP_SYS(setuid), SCMP_SYS(setresuid), SCMP_SYS(kill)}) {
    EXPECT_FALSE(p.Allows(nr)) << "allows syscall " << nr;
  }
  EXPECT_FALSE(p.AllowsUnconditionally(SCMP_SYS(socket)));
  EXPECT_FALSE(p.AllowsUnconditionally(SCMP_SYS(clone)));
  EXPECT_TRUE(p.AllowsUnconditionally(SCMP_SYS(connect)));
}

}  // namespace
}  // namespace onionmail::seccomp
