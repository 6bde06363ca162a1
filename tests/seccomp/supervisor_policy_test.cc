// Death and positive tests for the supervisor policy.
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/sandbox.h"
#include "seccomp/policies.h"
#include "tests/seccomp/test_util.h"

namespace onionmail::seccomp {
namespace {

Policy Supervisor() { return SupervisorPolicy(false); }

TEST(SupervisorPolicyTest, PtraceIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Supervisor(), syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
}

TEST(SupervisorPolicyTest, PtraceAttachToARoleIsKilledWithSigsys) {
  pid_t child = -1;
  OM_EXPECT_SIGSYS_AFTER(
      {
        const pid_t parent = getpid();
        child = fork();
        if (child == 0) {
          prctl(PR_SET_PDEATHSIG, SIGKILL);  // do not outlive the test
          if (getppid() != parent) _exit(0);
          pause();
          _exit(0);
        }
      },
      Supervisor(), syscall(SYS_ptrace, PTRACE_ATTACH, child, 0, 0));
}

TEST(SupervisorPolicyTest, ForkIntoANewUserNamespaceIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Supervisor(), syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
}

TEST(SupervisorPolicyTest, UnshareIsKilledWithSigsys) {
  OM_EXPECT_SIGSYS(Supervisor(), syscall(SYS_unshare, CLONE_NEWNS));
}

TEST(SupervisorPolicyTest, InternetSocketIsKilledWithSigsysWithoutTcpTcti) {
  OM_EXPECT_SIGSYS(Supervisor(), syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
}

TEST(SupervisorPolicyTest, ForkExecveAndReapARoleWork) {
  OM_EXPECT_WORKS(Supervisor(), {
    int sv[2];
    OM_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    pid_t pid = fork();
    OM_REQUIRE(pid >= 0);
    if (pid == 0) {
      execl("/bin/true", "true", static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    OM_REQUIRE(waitpid(pid, &status, 0) == pid);
    OM_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  });
}

TEST(SupervisorPolicyTest, ARoleStacksItsOwnPolicyAndItsDeathIsSeenAsSigsys) {
  OM_EXPECT_WORKS(Supervisor(), {
    pid_t pid = fork();
    OM_REQUIRE(pid >= 0);
    if (pid == 0) {
      SandboxOptions options;
      options.allow_root = true;
      options.policy = SmtpFrontEndPolicy();
      if (!EnterSandbox(options).ok()) _exit(3);
      syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);  // killed
      _exit(0);
    }
    int status = 0;
    OM_REQUIRE(waitpid(pid, &status, 0) == pid);
    OM_REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
    // The supervisor itself may still open files.
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    OM_REQUIRE(fd >= 0 && close(fd) == 0);
  });
}

}  // namespace
}  // namespace onionmail::seccomp
