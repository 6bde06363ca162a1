// Death and positive tests for the store role policy.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstdlib>
#include <string>

#include "seccomp/policies.h"
#include "tests/seccomp/test_util.h"

namespace onionmail::seccomp {
namespace {

const char* const kArgv[] = {"/bin/true", nullptr};
const char* const kEnvp[] = {nullptr};

std::string MakeTempDir() {
  char tmpl[] = "/tmp/om-seccomp-store-XXXXXX";
  char* dir = mkdtemp(tmpl);
  return dir == nullptr ? std::string() : std::string(dir);
}

// The store's durable write and delete, and the mailbox lock.
void DeliverListLockDelete(const std::string& dir) {
  OM_REQUIRE(!dir.empty());
  const std::string mbox = dir + "/mbox";
  OM_REQUIRE(mkdir(mbox.c_str(), 0700) == 0);
  const std::string tmp = mbox + "/.msg.tmp";
  const std::string msg = mbox + "/msg";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  OM_REQUIRE(fd >= 0);
  OM_REQUIRE(write(fd, "ciphertext", 10) == 10);
  OM_REQUIRE(fdatasync(fd) == 0 && close(fd) == 0);
  OM_REQUIRE(renameat(AT_FDCWD, tmp.c_str(), AT_FDCWD, msg.c_str()) == 0);

  int lock = open((mbox + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  OM_REQUIRE(lock >= 0);
  OM_REQUIRE(flock(lock, LOCK_EX | LOCK_NB) == 0);

  DIR* d = opendir(mbox.c_str());
  OM_REQUIRE(d != nullptr);
  int files = 0;
  while (dirent* e = readdir(d)) files += e->d_name[0] != '.';
  closedir(d);
  OM_REQUIRE(files == 1);

  fd = open(msg.c_str(), O_WRONLY | O_CLOEXEC);
  OM_REQUIRE(fd >= 0 && pwrite(fd, "xxxxxxxxxx", 10, 0) == 10 && fsync(fd) == 0);
  OM_REQUIRE(ftruncate(fd, 0) == 0 && close(fd) == 0);
  OM_REQUIRE(unlinkat(AT_FDCWD, msg.c_str(), 0) == 0);
  OM_REQUIRE(flock(lock, LOCK_UN) == 0 && close(lock) == 0);
  OM_REQUIRE(unlink((mbox + "/.lock").c_str()) == 0);
  OM_REQUIRE(unlinkat(AT_FDCWD, mbox.c_str(), AT_REMOVEDIR) == 0);
  OM_REQUIRE(rmdir(dir.c_str()) == 0);
}

TEST(StorePolicyTest, SocketAfInetIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(StorePolicy(), syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
}

TEST(StorePolicyTest, SocketAfUnixIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(StorePolicy(), syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
}

TEST(StorePolicyTest, ConnectOnAPreopenedSocketIsKilledWithSigsys) {
  int fd = -1;
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(1);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  OM_EXPECT_SIGSYS_AFTER(fd = socket(AF_INET, SOCK_STREAM, 0), StorePolicy(),
                         syscall(SYS_connect, fd, &addr, sizeof(addr)));
}

TEST(StorePolicyTest, ExecveIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(StorePolicy(), syscall(SYS_execve, kArgv[0], kArgv, kEnvp));
}

TEST(StorePolicyTest, PtraceIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(StorePolicy(), syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
}

TEST(StorePolicyTest, ForkIsKilledWithSigsys) { OM_EXPECT_SIGSYS(StorePolicy(), (void)fork()); }

TEST(StorePolicyTest, CloneWithoutCloneThreadIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(StorePolicy(), syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
}

TEST(StorePolicyTest, ExecutableMappingIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(StorePolicy(),
                   mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
}

TEST(StorePolicyTest, DurableDeliveryListingLockingAndDeletionWork) {
  std::string dir;
  OM_EXPECT_WORKS_AFTER(dir = MakeTempDir(), StorePolicy(), DeliverListLockDelete(dir));
}

}  // namespace
}  // namespace onionmail::seccomp
