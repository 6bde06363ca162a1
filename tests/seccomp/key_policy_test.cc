// Death and positive tests for the key role policy (both TCTI variants).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "seccomp/policies.h"
#include "store/durable_file.h"
#include "tests/seccomp/test_util.h"

namespace onionmail::seccomp {
namespace {

using ::onionmail::seccomp::testing::ConnectToLoopback;
using ::onionmail::seccomp::testing::ListenOnLoopback;

const char* const kArgv[] = {"/bin/true", nullptr};
const char* const kEnvp[] = {nullptr};

Policy KeyNoTcp() { return KeyRolePolicy(false); }
Policy KeyWithTcp() { return KeyRolePolicy(true); }

// A private directory made before the install (as the role's state dir).
std::string MakeTempDir() {
  char tmpl[] = "/tmp/om-seccomp-key-XXXXXX";
  char* dir = mkdtemp(tmpl);
  return dir == nullptr ? std::string() : std::string(dir);
}

void ReadWriteFsyncRename(const std::string& dir) {
  OM_REQUIRE(!dir.empty());
  const std::string tmp = dir + "/record.tmp";
  const std::string final_path = dir + "/record";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  OM_REQUIRE(fd >= 0);
  OM_REQUIRE(write(fd, "wrapped-key-blob", 16) == 16);
  OM_REQUIRE(fsync(fd) == 0);
  OM_REQUIRE(close(fd) == 0);
  OM_REQUIRE(rename(tmp.c_str(), final_path.c_str()) == 0);
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  OM_REQUIRE(dfd >= 0 && fsync(dfd) == 0 && close(dfd) == 0);

  FILE* f = std::fopen(final_path.c_str(), "rbe");
  OM_REQUIRE(f != nullptr);
  char buf[32] = {};
  OM_REQUIRE(std::fread(buf, 1, sizeof(buf), f) == 16);
  OM_REQUIRE(std::memcmp(buf, "wrapped-key-blob", 16) == 0);
  std::fclose(f);
  struct stat st;
  OM_REQUIRE(stat(final_path.c_str(), &st) == 0 && st.st_size == 16);

  DIR* d = opendir(dir.c_str());
  OM_REQUIRE(d != nullptr);
  int entries = 0;
  while (readdir(d) != nullptr) ++entries;
  closedir(d);
  OM_REQUIRE(entries == 3);  // ".", "..", "record"
  OM_REQUIRE(unlink(final_path.c_str()) == 0);
  OM_REQUIRE(rmdir(dir.c_str()) == 0);
}

TEST(KeyRolePolicyTest, ExecveIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(KeyNoTcp(), syscall(SYS_execve, kArgv[0], kArgv, kEnvp));
}

TEST(KeyRolePolicyTest, PtraceIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(KeyNoTcp(), syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
}

TEST(KeyRolePolicyTest, ForkIsKilledWithSigsys) { OM_EXPECT_SIGSYS(KeyNoTcp(), (void)fork()); }

TEST(KeyRolePolicyTest, CloneWithoutCloneThreadIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(KeyNoTcp(), syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
}

TEST(KeyRolePolicyTest, SocketAfInetWithoutTcpTctiIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(KeyNoTcp(), syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
}

// SoftHSM2 tries syslog (/dev/log) when it re-initialises: the key role's
// AF_UNIX socket fails with EACCES instead of killing it, and reaches nothing.
TEST(KeyRolePolicyTest, SocketAfUnixFailsWithEaccesAndCreatesNoSocket) {
  OM_EXPECT_WORKS(KeyNoTcp(), {
    errno = 0;
    OM_REQUIRE(syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0) == -1);
    OM_REQUIRE(errno == EACCES);
  });
}

TEST(KeyRolePolicyTest, TcpSocketIsKilledWithSigsysWithoutTcpTcti) {
  OM_EXPECT_SIGSYS(KeyNoTcp(), syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
}

TEST(KeyRolePolicyTest, SocketpairIsKilledWithSigsys) {
  int sv[2];
  OM_EXPECT_SIGSYS(KeyNoTcp(), syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
}

TEST(KeyRolePolicyTest, UdpSocketIsKilledWithSigsysEvenWithTcpTcti) {
  OM_EXPECT_SIGSYS(KeyWithTcp(), syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0));
}

TEST(KeyRolePolicyTest, NetlinkSocketIsKilledWithSigsysEvenWithTcpTcti) {
  OM_EXPECT_SIGSYS(KeyWithTcp(), syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0));
}

TEST(KeyRolePolicyTest, WritableExecutableMappingIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(KeyNoTcp(), mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
}

TEST(KeyRolePolicyTest, OpenAndReadAFileWork) {
  OM_EXPECT_WORKS(KeyNoTcp(), {
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    OM_REQUIRE(fd >= 0);
    char buf[8];
    OM_REQUIRE(read(fd, buf, sizeof(buf)) > 0);
    OM_REQUIRE(pread(fd, buf, 4, 0) == 4);
    OM_REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
    OM_REQUIRE(close(fd) == 0);
  });
}

TEST(KeyRolePolicyTest, WriteFsyncRenameAndListAFileWork) {
  std::string dir;
  OM_EXPECT_WORKS_AFTER(dir = MakeTempDir(), KeyNoTcp(), ReadWriteFsyncRename(dir));
}

// The store's real durable writes (partner records, the unseal status,
// records): publish with link() (no replace) and replace with a second link
// to shred the old version. A missing link/linkat killed the key role at the
// first TORM PUSH (found by tests/integration/test_unseal_ctl.py).
void DurableWrites(const std::string& dir) {
  const std::vector<uint8_t> one = {1, 2, 3}, two = {4, 5};
  OM_REQUIRE(store::WriteFileDurably(dir, dir + "/published", one, /*replace=*/false).ok());
  OM_REQUIRE(store::WriteFileDurably(dir, dir + "/published", one, false).error().code ==
             ErrorCode::kAlreadyExists);
  OM_REQUIRE(store::WriteFileDurably(dir, dir + "/published", two, /*replace=*/true).ok());
}

TEST(KeyRolePolicyTest, DurableWritesWithAndWithoutReplaceWork) {
  std::string dir;
  OM_EXPECT_WORKS_AFTER(dir = MakeTempDir(), KeyNoTcp(), DurableWrites(dir));
}

TEST(KeyRolePolicyTest, ReadOnlyExecutableMappingWorksForPkcs11Modules) {
  OM_EXPECT_WORKS(KeyNoTcp(), {
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    OM_REQUIRE(p != MAP_FAILED);
    OM_REQUIRE(munmap(p, 4096) == 0);
  });
}

TEST(KeyRolePolicyTest, TcpTctiVariantCanConnectToALocalSimulator) {
  uint16_t port = 0;
  int listen_fd = -1;
  OM_EXPECT_WORKS_AFTER(
      {
        listen_fd = ListenOnLoopback(&port);
        OM_REQUIRE(listen_fd >= 0);
      },
      KeyWithTcp(),
      {
        int fd = ConnectToLoopback(port);  // socket(AF_INET, STREAM|CLOEXEC) + connect
        OM_REQUIRE(fd >= 0);
        OM_REQUIRE(close(fd) == 0);
      });
}

}  // namespace
}  // namespace onionmail::seccomp
