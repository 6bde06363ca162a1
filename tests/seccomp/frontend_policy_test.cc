// Death and positive tests for the SMTP and POP3 front-end policies.
//
// Both front ends get the same test list (FRONT_END_POLICY_TESTS): every
// forbidden syscall class kills with SIGSYS, and everything a front end does
// while serving (accept, I/O, poll, threads, memory, randomness, OpenSSL,
// a TLS handshake) still works under the policy.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "base/sandbox.h"
#include "base/secret_bytes.h"
#include "seccomp/policies.h"
#include "tests/seccomp/test_util.h"

namespace onionmail::seccomp {
namespace {

using ::onionmail::seccomp::testing::ConnectToLoopback;
using ::onionmail::seccomp::testing::InstallOrExit;
using ::onionmail::seccomp::testing::ListenOnLoopback;
using ::onionmail::seccomp::testing::MakeTlsServerContext;
using ::onionmail::seccomp::testing::RunInForkedChild;
using ::onionmail::seccomp::testing::RunTlsClient;
using ::onionmail::seccomp::testing::ServeOneTlsExchange;

const char* const kArgv[] = {"/bin/true", nullptr};
const char* const kEnvp[] = {nullptr};

// Accept a connection made before the install, then read/write/poll on it.
void AcceptAndEcho(int listen_fd, int client_fd) {
  int conn = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  OM_REQUIRE(conn >= 0);
  OM_REQUIRE(write(client_fd, "EHLO x\r\n", 8) == 8);
  struct pollfd p = {conn, POLLIN, 0};
  OM_REQUIRE(poll(&p, 1, 5000) == 1);
  char buf[16];
  OM_REQUIRE(read(conn, buf, sizeof(buf)) == 8);
  OM_REQUIRE(std::memcmp(buf, "EHLO x\r\n", 8) == 0);
  OM_REQUIRE(send(conn, "250 ok\r\n", 8, MSG_NOSIGNAL) == 8);
  OM_REQUIRE(recv(client_fd, buf, sizeof(buf), 0) == 8);
  int flags = fcntl(conn, F_GETFL, 0);
  OM_REQUIRE(flags >= 0 && fcntl(conn, F_SETFL, flags | O_NONBLOCK) == 0);
  OM_REQUIRE(shutdown(conn, SHUT_RDWR) == 0);
  OM_REQUIRE(close(conn) == 0);
}

// Many threads allocating at once make glibc add malloc arenas; the first
// time it does, it would read /sys/devices/system/cpu/online (openat) unless
// PreloadLibrariesForSandbox() fixed the arena count (bench/ found this: 8
// concurrent 100 KiB deliveries killed the SMTP front end).
void ConcurrentMallocInManyThreads() {
  constexpr int kThreads = 16;  // glibc asks for the CPU count past 8 arenas
  std::atomic<long> done{0};
  std::atomic<int> allocated{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&done, &allocated] {
      // Every thread holds a block until all have one: all are alive at
      // once, so each needs an arena of its own (no reuse of freed ones).
      void* first = std::malloc(4096);
      OM_REQUIRE(first != nullptr);
      allocated.fetch_add(1);
      while (allocated.load() < kThreads) std::this_thread::yield();
      std::free(first);
      for (int j = 0; j < 2000; ++j) {
        void* p = std::malloc(static_cast<size_t>(64 + (j % 64) * 1024));
        OM_REQUIRE(p != nullptr);
        std::memset(p, j & 0xff, 64);
        std::free(p);
      }
      done.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  OM_REQUIRE(done.load() == kThreads);
}

// A thread arena whose top grows past the trim threshold gives memory back;
// the first time, glibc opens /proc/sys/vm/overcommit_memory (openat).
// PreloadLibrariesForSandbox() must have taken that path already (CI found
// it: ConcurrentMallocInSixteenThreads died with SIGSYS in one CI run).
void ThreadArenaGivesMemoryBack() {
  std::thread t([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 16; ++i) blocks.push_back(std::malloc(64 * 1024));
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
  });
  t.join();
}

// Freeing a mmapped chunk raises glibc's dynamic mmap threshold and, with it,
// the trim threshold (to twice the chunk): the start-up warm-up's small trim
// then no longer reaches shrink_heap, and the first large trim under load
// would open /proc/sys/vm/overcommit_memory. Found with 8 concurrent SMTP
// clients (the front end died of SIGSYS: openat).
void RaiseGlibcDynamicThresholds() {
  char* big = static_cast<char*>(std::malloc(4 << 20));
  OM_REQUIRE(big != nullptr);
  std::memset(big, 1, 4 << 20);
  std::free(big);
}

void ThreadArenaGivesBackMegabytes() {
  std::thread t([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 16; ++i) {
      void* b = std::malloc(1 << 20);
      OM_REQUIRE(b != nullptr);
      std::memset(b, 2, 1 << 20);
      blocks.push_back(b);
    }
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
  });
  t.join();
}

void ThreadsMemoryTimeRandom() {
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&ran] { ran.fetch_add(1); });
  for (std::thread& t : threads) t.join();
  OM_REQUIRE(ran.load() == 4);

  // 64 MiB goes to mmap, the realloc to mremap; touching pages commits them.
  char* big = static_cast<char*>(std::malloc(64 << 20));
  OM_REQUIRE(big != nullptr);
  std::memset(big, 0x5a, 64 << 20);
  big = static_cast<char*>(std::realloc(big, 128 << 20));
  OM_REQUIRE(big != nullptr && big[(64 << 20) - 1] == 0x5a);
  std::free(big);

  unsigned char rnd[32];
  OM_REQUIRE(getrandom(rnd, sizeof(rnd), 0) == static_cast<ssize_t>(sizeof(rnd)));
  struct timespec ts;
  OM_REQUIRE(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
  OM_REQUIRE(clock_gettime(CLOCK_REALTIME, &ts) == 0);
  struct timespec nap = {0, 1000000};
  OM_REQUIRE(nanosleep(&nap, nullptr) == 0);
  OM_REQUIRE(sched_yield() == 0);
}

void OpenSslRandAndAesGcm() {
  unsigned char key[32], iv[12], tag[16], out[64];
  OM_REQUIRE(RAND_bytes(key, sizeof(key)) == 1);
  OM_REQUIRE(RAND_bytes(iv, sizeof(iv)) == 1);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  OM_REQUIRE(ctx != nullptr);
  int len = 0;
  static const unsigned char kPlain[] = "a message segment";
  OM_REQUIRE(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, iv) == 1);
  OM_REQUIRE(EVP_EncryptUpdate(ctx, out, &len, kPlain, sizeof(kPlain)) == 1);
  OM_REQUIRE(EVP_EncryptFinal_ex(ctx, out + len, &len) == 1);
  OM_REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
  OM_REQUIRE(std::memcmp(out, kPlain, sizeof(kPlain)) != 0);
  EVP_CIPHER_CTX_free(ctx);
}

void SecretBytesWipe() {
  SecretBytes s(SecretAccess::Grant(), std::string_view("data key of this session"));
  OM_REQUIRE(s.size() == 24);
  SecretBytes c = s.Clone();
  OM_REQUIRE(c.Equals(s));
}

int PreopenedTcpSocket() { return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }

void ConnectTo127001Port1(int fd) {
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(1);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  syscall(SYS_connect, fd, &addr, sizeof(addr));
}

// TLS: the server side runs under the policy in a forked child, the client in
// the test process. The context (certificate, key) is made before install.
void ExpectTlsHandshakeUnder(Policy (*make_policy)()) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  SSL_CTX* ctx = MakeTlsServerContext();
  ASSERT_NE(ctx, nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(sv[0]);
    // As the server does at start-up: a peer that leaves early must not kill
    // the role with SIGPIPE when close_notify is written.
    signal(SIGPIPE, SIG_IGN);
    InstallOrExit(make_policy());
    _exit(ServeOneTlsExchange(ctx, sv[1]));
  }
  close(sv[1]);
  std::string reply;
  bool client_ok = RunTlsClient(sv[0], &reply);
  close(sv[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  SSL_CTX_free(ctx);
  ASSERT_FALSE(WIFSIGNALED(status)) << "server killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "server failed at step " << WEXITSTATUS(status);
  EXPECT_TRUE(client_ok);
  EXPECT_EQ(reply, "221 2.0.0 bye over TLS\r\n");
}

#define FRONT_END_POLICY_TESTS(Suite, MakePolicy)                                                  \
  TEST(Suite, OpenatOfAFileIsKilledWithSigsys) {                                                   \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY));        \
  }                                                                                                \
  TEST(Suite, OpenatCreatingAFileIsKilledWithSigsys) {                                             \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_openat, AT_FDCWD, "/tmp/om-seccomp-x",              \
                                           O_WRONLY | O_CREAT, 0600));                             \
  }                                                                                                \
  TEST(Suite, SocketAfInetIsKilledWithSigsys) {                                                    \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));                  \
  }                                                                                                \
  TEST(Suite, SocketAfUnixIsKilledWithSigsys) {                                                    \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));                  \
  }                                                                                                \
  TEST(Suite, ConnectOnAPreopenedSocketIsKilledWithSigsys) {                                       \
    int fd = -1;                                                                                   \
    OM_EXPECT_SIGSYS_AFTER(fd = PreopenedTcpSocket(), MakePolicy(), ConnectTo127001Port1(fd));     \
  }                                                                                                \
  TEST(Suite, ListenOnAPreopenedSocketIsKilledWithSigsys) {                                        \
    int fd = -1;                                                                                   \
    OM_EXPECT_SIGSYS_AFTER(fd = PreopenedTcpSocket(), MakePolicy(), syscall(SYS_listen, fd, 1));   \
  }                                                                                                \
  TEST(Suite, ExecveIsKilledWithSigsys) {                                                          \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_execve, kArgv[0], kArgv, kEnvp));                   \
  }                                                                                                \
  TEST(Suite, ExecveatIsKilledWithSigsys) {                                                        \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_execveat, AT_FDCWD, kArgv[0], kArgv, kEnvp, 0));    \
  }                                                                                                \
  TEST(Suite, PtraceIsKilledWithSigsys) {                                                          \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));                  \
  }                                                                                                \
  TEST(Suite, ForkIsKilledWithSigsys) { OM_EXPECT_SIGSYS(MakePolicy(), (void)fork()); }            \
  TEST(Suite, CloneWithoutCloneThreadIsKilledWithSigsys) {                                         \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));                       \
  }                                                                                                \
  TEST(Suite, ExecutableMappingIsKilledWithSigsys) {                                               \
    OM_EXPECT_SIGSYS(MakePolicy(), mmap(nullptr, 4096, PROT_READ | PROT_EXEC,                      \
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));                      \
  }                                                                                                \
  TEST(Suite, MakingHeapPagesExecutableIsKilledWithSigsys) {                                       \
    void* page = nullptr;                                                                          \
    OM_EXPECT_SIGSYS_AFTER(                                                                        \
        page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),    \
        MakePolicy(), mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC));                   \
  }                                                                                                \
  TEST(Suite, SetuidIsKilledWithSigsys) {                                                          \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_setuid, getuid()));                                 \
  }                                                                                                \
  TEST(Suite, ReenablingCoreDumpsIsKilledWithSigsys) {                                             \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0));               \
  }                                                                                                \
  TEST(Suite, SignallingAnotherProcessIsKilledWithSigsys) {                                        \
    OM_EXPECT_SIGSYS(MakePolicy(), syscall(SYS_kill, 1, 0));                                       \
  }                                                                                                \
  TEST(Suite, KernelAttackSurfaceSyscallsAreKilledWithSigsys) {                                    \
    for (long nr : {long{SYS_unshare}, long{SYS_bpf}, long{SYS_perf_event_open},                   \
                    long{SYS_userfaultfd}, long{SYS_io_uring_setup}, long{SYS_keyctl},             \
                    long{SYS_mount}, long{SYS_chroot}, long{SYS_process_vm_readv}}) {              \
      SCOPED_TRACE("syscall " + std::to_string(nr));                                               \
      OM_EXPECT_SIGSYS(MakePolicy(), syscall(nr, 0, 0, 0, 0, 0, 0));                               \
    }                                                                                              \
  }                                                                                                \
  TEST(Suite, AcceptReadWritePollOnPreopenedSocketsWork) {                                         \
    uint16_t port = 0;                                                                             \
    int listen_fd = -1, client_fd = -1;                                                            \
    OM_EXPECT_WORKS_AFTER(                                                                         \
        {                                                                                          \
          listen_fd = ListenOnLoopback(&port);                                                     \
          client_fd = ConnectToLoopback(port);                                                     \
          OM_REQUIRE(listen_fd >= 0 && client_fd >= 0);                                            \
        },                                                                                         \
        MakePolicy(), AcceptAndEcho(listen_fd, client_fd));                                        \
  }                                                                                                \
  TEST(Suite, ThreadsMemoryClocksAndGetrandomWork) {                                               \
    OM_EXPECT_WORKS(MakePolicy(), ThreadsMemoryTimeRandom());                                      \
  }                                                                                                \
  TEST(Suite, ConcurrentMallocInSixteenThreadsWorksAfterPreload) {                                 \
    OM_EXPECT_WORKS_AFTER(OM_REQUIRE(PreloadLibrariesForSandbox().ok()), MakePolicy(),             \
                          ConcurrentMallocInManyThreads());                                        \
  }                                                                                                \
  TEST(Suite, ThreadArenaTrimWorksAfterPreload) {                                                  \
    OM_EXPECT_WORKS_AFTER(OM_REQUIRE(PreloadLibrariesForSandbox().ok()), MakePolicy(),             \
                          ThreadArenaGivesMemoryBack());                                           \
  }                                                                                                \
  TEST(Suite, LargeThreadArenaTrimWorksWhenThresholdsRoseBeforePreload) {                          \
    OM_EXPECT_WORKS_AFTER(                                                                         \
        {                                                                                          \
          RaiseGlibcDynamicThresholds();                                                           \
          OM_REQUIRE(PreloadLibrariesForSandbox().ok());                                           \
        },                                                                                         \
        MakePolicy(), ThreadArenaGivesBackMegabytes());                                            \
  }                                                                                                \
  TEST(Suite, OpenSslRandBytesAndAesGcmWork) {                                                     \
    OM_EXPECT_WORKS_AFTER(OM_REQUIRE(PreloadLibrariesForSandbox().ok()), MakePolicy(),             \
                          OpenSslRandAndAesGcm());                                                 \
  }                                                                                                \
  TEST(Suite, SecretBytesOnTheSecureHeapWork) {                                                    \
    OM_EXPECT_WORKS_AFTER(OM_REQUIRE(InitSecureMemory(1 << 16)), MakePolicy(), SecretBytesWipe()); \
  }                                                                                                \
  TEST(Suite, Clone3FailsWithEnosysSoGlibcFallsBackToClone) {                                      \
    OM_EXPECT_WORKS(MakePolicy(),                                                                  \
                    { OM_REQUIRE(syscall(SYS_clone3, nullptr, 0) == -1 && errno == ENOSYS); });    \
  }                                                                                                \
  TEST(Suite, IoctlFailsWithEnottyInsteadOfKilling) {                                              \
    OM_EXPECT_WORKS(MakePolicy(), OM_REQUIRE(isatty(STDERR_FILENO) == 0));                         \
  }                                                                                                \
  TEST(Suite, TlsHandshakeServerSideWorksUnderThePolicy) { ExpectTlsHandshakeUnder(&MakePolicy); }

FRONT_END_POLICY_TESTS(SmtpPolicyTest, SmtpFrontEndPolicy)
FRONT_END_POLICY_TESTS(Pop3PolicyTest, Pop3FrontEndPolicy)

}  // namespace
}  // namespace onionmail::seccomp
