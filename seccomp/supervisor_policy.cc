// Seccomp policy of the supervisor; see policies.h and README.md.
//
// The supervisor reads the config, opens the listeners, then starts each role
// with fork + execve and restarts it when wait4 reports its death. Seccomp
// filters are inherited across fork and execve and can only be stacked, so
// this policy bounds every role's start-up until the role installs its own
// filter: the dynamic loader (openat, PROT_EXEC mappings, arch_prctl), the
// privilege drop (setgroups/setresgid/setresuid), EnterSandbox (prlimit64,
// prctl, seccomp), and since filters stack, what the roles need while
// serving (accept in the front ends). It never allows ptrace, so no process of the server can
// inspect another.
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/prctl.h>

#include "seccomp/policies.h"
#include "seccomp/syscall_sets.h"

namespace onionmail::seccomp {

Policy SupervisorPolicy(bool allow_tcp_client) {
  Policy p("supervisor");
  AddBasicRuntime(p);
  AddMemory(p, ExecMappings::kWriteXorExec);  // execve'd roles map their code
  AddThreads(p);
  AddPolling(p);
  AddConnectedSocketIo(p);   // IPC with the roles (status, restarts)
  AddFileAccess(p);          // config, and each role's start-up reads
  AddUnixSocketCreation(p);  // socketpairs for the roles' IPC channels
  // Filters stack: every syscall a role makes must pass this filter too, so
  // it also allows what the roles need while serving and nothing else.
  AddAccept(p);                           // front ends accept on inherited listeners
  if (allow_tcp_client) AddTcpClient(p);  // inherited: peer role, key role's TCP TCTI
  p.Allow(SCMP_SYS(connect), "getpwnam() asks nscd over AF_UNIX (only AF_UNIX sockets exist)");

  // Starting, watching and stopping roles.
  constexpr uint64_t kForbidden = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_PTRACE |
                                  CLONE_UNTRACED;
  p.AllowIf(SCMP_SYS(clone), {ArgHasNone(0, kForbidden)},
            "fork a role (and posix_spawn's CLONE_VM|CLONE_VFORK); no namespaces, no tracing");
  p.Allow(SCMP_SYS(fork), "fork a role (x86_64 legacy)");
  p.Allow(SCMP_SYS(vfork), "posix_spawn fallback (x86_64)");
  p.Allow(SCMP_SYS(execve), "exec the role binary in the forked child");
  p.Allow(SCMP_SYS(wait4), "reap a role and learn how it died (SIGSYS = policy kill)");
  p.Allow(SCMP_SYS(waitid), "reap a role");
  p.Allow(SCMP_SYS(kill), "stop or restart a role (SIGTERM, SIGKILL)");
  p.Allow(SCMP_SYS(getppid), "a forked child checks its parent");
  p.Allow(SCMP_SYS(setsid), "a role gets its own session");
  p.Allow(SCMP_SYS(setpgid), "a role gets its own process group");
  p.Allow(SCMP_SYS(dup), "map inherited fds in the child");
  p.Allow(SCMP_SYS(dup2), "map inherited fds in the child (x86_64)");
  p.Allow(SCMP_SYS(dup3), "map inherited fds in the child");
  p.Allow(SCMP_SYS(close_range), "close all other fds before execve");
  p.Allow(SCMP_SYS(chdir), "roles start in their own directory");
  p.Allow(SCMP_SYS(getcwd), "path resolution at start-up");
  p.Allow(SCMP_SYS(rt_sigtimedwait), "wait for SIGCHLD/SIGTERM synchronously");
  p.Allow(SCMP_SYS(rt_sigsuspend), "wait for SIGCHLD/SIGTERM");
  p.Allow(SCMP_SYS(signalfd4), "SIGCHLD/SIGTERM as an fd in the event loop");
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_SET_PDEATHSIG)}, "a role dies with the supervisor");
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_GET_PDEATHSIG)},
            "a role re-arms it after its uid change (which clears it)");
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_SET_NO_NEW_PRIVS), ArgEq(1, 1)},
            "a role's EnterSandbox sets no_new_privs (only ever on)");

  // A role's own start-up, inherited across execve (see the file comment).
  p.Allow(SCMP_SYS(arch_prctl), "x86_64 loader sets up TLS (FS base)");
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_CAPBSET_READ)},
            "libcap's constructor (loaded with the key role's libraries) probes the bounding set");
  p.Allow(SCMP_SYS(set_tid_address), "libc start-up in the exec'd role");
  p.Allow(SCMP_SYS(uname), "libc/OpenSSL start-up reads the kernel version");
  p.Allow(SCMP_SYS(statfs), "libc start-up probes (e.g. /dev/shm)");
  p.Allow(SCMP_SYS(fstatfs), "libc start-up probes");
  p.Allow(SCMP_SYS(prlimit64), "a role sets RLIMIT_CORE to 0 in EnterSandbox");
  p.Allow(SCMP_SYS(setgroups), "a role drops supplementary groups");
  p.Allow(SCMP_SYS(getgroups), "a role checks its groups after the drop");
  p.Allow(SCMP_SYS(setresgid), "a role drops to its own group");
  p.Allow(SCMP_SYS(setresuid), "a role drops to its own user");
  p.Allow(SCMP_SYS(seccomp), "a role stacks its own, narrower filter");
  return p;
}

}  // namespace onionmail::seccomp
