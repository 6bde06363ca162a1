// Shared syscall groups; see syscall_sets.h. Every rule states its reason.
#include "seccomp/syscall_sets.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace onionmail::seccomp {

void AddBasicRuntime(Policy& p) {
  // I/O on descriptors the role already holds.
  p.Allow(SCMP_SYS(read), "read from held fds (sockets, pipes, IPC)");
  p.Allow(SCMP_SYS(write), "write to held fds, log lines to stderr");
  p.Allow(SCMP_SYS(readv), "scatter read on held fds");
  p.Allow(SCMP_SYS(writev), "gather write on held fds (stdio, OpenSSL)");
  p.Allow(SCMP_SYS(close), "close fds the role owns");
  p.Allow(SCMP_SYS(fstat), "fstat of a held fd (stdio buffering)");
  // glibc 2.33+ implements fstat() as fstatat(fd, "", AT_EMPTY_PATH). The
  // path pointer cannot be checked: a non-empty path would stat (never open)
  // a file, which leaks metadata only.
  p.AllowIf(SCMP_SYS(newfstatat), {ArgMaskedEq(3, AT_EMPTY_PATH, AT_EMPTY_PATH)},
            "glibc fstat() == fstatat(fd, \"\", AT_EMPTY_PATH)");
  p.Errno(SCMP_SYS(ioctl), ENOTTY, "no device control; isatty() probes see 'not a tty'");
  // fcntl: descriptor flags only (non-blocking sockets, close-on-exec).
  for (int cmd : {F_GETFD, F_SETFD, F_GETFL, F_SETFL}) {
    p.AllowIf(SCMP_SYS(fcntl), {ArgEq(1, static_cast<uint64_t>(cmd))},
              "fcntl F_GETFD/F_SETFD/F_GETFL/F_SETFL: O_NONBLOCK, FD_CLOEXEC");
  }

  // Synchronisation and time.
  p.Allow(SCMP_SYS(futex), "mutexes and condition variables (std::mutex, thread join)");
  p.Allow(SCMP_SYS(clock_gettime), "deadlines (vDSO fallback)");
  p.Allow(SCMP_SYS(clock_getres), "std::chrono clock resolution");
  p.Allow(SCMP_SYS(gettimeofday), "wall clock for logs (vDSO fallback)");
  p.Allow(SCMP_SYS(time), "wall clock (x86_64 vDSO fallback)");
  p.Allow(SCMP_SYS(clock_nanosleep), "std::this_thread::sleep_for");
  p.Allow(SCMP_SYS(nanosleep), "sleep (older libc paths)");
  p.Allow(SCMP_SYS(sched_yield), "spin-lock back-off in libc/OpenSSL");
  p.Allow(SCMP_SYS(restart_syscall), "kernel restarts an interrupted sleep");

  // Signals: handlers, masks, and abort() on a broken invariant.
  p.Allow(SCMP_SYS(rt_sigreturn), "return from a signal handler");
  p.Allow(SCMP_SYS(rt_sigprocmask), "signal masks (pthread_create, abort)");
  p.Allow(SCMP_SYS(rt_sigaction), "install handlers (SIGPIPE ignore, SIGSYS report)");
  p.Allow(SCMP_SYS(sigaltstack), "alternate signal stack for crash handlers");
  p.AllowIf(SCMP_SYS(tgkill), {ArgEq(0, static_cast<uint64_t>(getpid()))},
            "raise()/abort() on a thread of this process only");

  // Identity and randomness.
  p.Allow(SCMP_SYS(getrandom), "OpenSSL DRBG seeding, key and nonce generation");
  p.Allow(SCMP_SYS(getpid), "OpenSSL DRBG fork detection, raise()");
  p.Allow(SCMP_SYS(gettid), "raise(), thread ids in logs");
  p.Allow(SCMP_SYS(getuid), "identity read (libraries, post-drop checks)");
  p.Allow(SCMP_SYS(geteuid), "identity read");
  p.Allow(SCMP_SYS(getgid), "identity read");
  p.Allow(SCMP_SYS(getegid), "identity read");
  p.Allow(SCMP_SYS(getresuid), "verify the privilege drop stuck");
  p.Allow(SCMP_SYS(getresgid), "verify the privilege drop stuck");
  p.Allow(SCMP_SYS(sched_getaffinity), "CPU count for thread pools");
  p.Allow(SCMP_SYS(sysinfo), "glibc qsort() reads the physical memory size");
  p.AllowIf(SCMP_SYS(prlimit64), {ArgEq(2, 0)}, "getrlimit(): read limits, never set");

  // prctl: naming threads and reading state; dumpable may only go to 0.
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_SET_NAME)}, "name threads");
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_GET_NAME)}, "read thread names");
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_GET_DUMPABLE)}, "check the role is not dumpable");
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_GET_NO_NEW_PRIVS)}, "check no_new_privs");
  p.AllowIf(SCMP_SYS(prctl), {ArgEq(0, PR_SET_DUMPABLE), ArgEq(1, 0)},
            "InitSecureMemory() re-asserts non-dumpable (never back to 1)");

  p.Allow(SCMP_SYS(exit), "a thread ends");
  p.Allow(SCMP_SYS(exit_group), "the process ends");
}

void AddMemory(Policy& p, ExecMappings exec) {
  p.Allow(SCMP_SYS(brk), "malloc main arena");
  p.Allow(SCMP_SYS(munmap), "free large blocks and thread stacks");
  p.Allow(SCMP_SYS(mremap), "realloc of large blocks");
  constexpr uint64_t kWx = PROT_WRITE | PROT_EXEC;
  for (int nr : {SCMP_SYS(mmap), SCMP_SYS(mprotect)}) {
    p.AllowIf(nr, {ArgMaskedEq(2, kWx, 0)}, "read-only/none mappings, guard pages");
    p.AllowIf(nr, {ArgMaskedEq(2, kWx, PROT_WRITE)}, "heap, thread stacks, large malloc");
    if (exec == ExecMappings::kWriteXorExec) {
      p.AllowIf(nr, {ArgMaskedEq(2, kWx, PROT_EXEC)},
                "dlopen of a module (PKCS#11): code pages, never writable too");
    }
  }
  for (int advice : {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED,
                     MADV_FREE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP}) {
    p.AllowIf(SCMP_SYS(madvise), {ArgEq(2, static_cast<uint64_t>(advice))},
              "malloc trimming, thread stack release, secret pages out of core dumps, "
              "Argon2id memory in huge pages (crypto/huge_pages.h)");
  }
  p.Allow(SCMP_SYS(mlock), "SecretBytes: keep secret pages out of swap");
  p.Allow(SCMP_SYS(mlock2), "OpenSSL secure heap locks pages on fault");
  p.Allow(SCMP_SYS(munlock), "release the locked secure heap");
}

void AddThreads(Policy& p) {
  // glibc's pthread_create passes VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|
  // PARENT_SETTID|CHILD_CLEARTID. Require the sharing flags and forbid the
  // ones that would make a new process, a namespace or a traced child.
  constexpr uint64_t kRequired = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
  constexpr uint64_t kForbidden = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_PTRACE |
                                  CLONE_VFORK | CLONE_PARENT | CLONE_UNTRACED;
  p.AllowIf(SCMP_SYS(clone), {ArgMaskedEq(0, kRequired | kForbidden, kRequired)},
            "pthread_create: a thread in this process, never a new process");
  p.Errno(SCMP_SYS(clone3), ENOSYS,
          "clone3's flags are in memory seccomp cannot read: glibc falls back to clone");
  p.Allow(SCMP_SYS(set_robust_list), "new threads register robust futexes");
  p.Allow(SCMP_SYS(rseq), "new threads register restartable sequences (glibc 2.35+)");
  // Thread exit releases its stack with madvise(MADV_DONTNEED): AddMemory.
}

void AddPolling(Policy& p) {
  p.Allow(SCMP_SYS(poll), "wait for a socket with a deadline (x86_64)");
  p.Allow(SCMP_SYS(ppoll), "poll() on arm64 and with signal masks");
  p.Allow(SCMP_SYS(epoll_create1), "event loops");
  p.Allow(SCMP_SYS(epoll_ctl), "event loops");
  p.Allow(SCMP_SYS(epoll_wait), "event loops (x86_64)");
  p.Allow(SCMP_SYS(epoll_pwait), "event loops (arm64, signal masks)");
  p.Allow(SCMP_SYS(epoll_pwait2), "event loops with a timespec deadline");
  p.Allow(SCMP_SYS(eventfd2), "wake a loop from another thread (no path)");
  p.Allow(SCMP_SYS(pipe2), "self-pipe wake-ups (no path)");
}

void AddConnectedSocketIo(Policy& p) {
  p.Allow(SCMP_SYS(sendmsg), "IPC frames and passed fds on socketpairs");
  p.Allow(SCMP_SYS(recvmsg), "IPC frames and passed fds on socketpairs");
  p.Allow(SCMP_SYS(sendto), "send() on connected sockets (MSG_NOSIGNAL)");
  p.Allow(SCMP_SYS(recvfrom), "recv() on connected sockets");
  p.Allow(SCMP_SYS(shutdown), "half-close a connection after QUIT");
  p.Allow(SCMP_SYS(getsockname), "local address of a held socket (logs)");
  p.Allow(SCMP_SYS(getpeername), "peer address of a held socket (logs)");
  for (int nr : {SCMP_SYS(setsockopt), SCMP_SYS(getsockopt)}) {
    p.AllowIf(nr, {ArgEq(1, SOL_SOCKET)}, "SO_* options (timeouts, SO_ERROR)");
    p.AllowIf(nr, {ArgEq(1, IPPROTO_TCP)}, "TCP_NODELAY and friends");
  }
}

void AddAccept(Policy& p) {
  p.Allow(SCMP_SYS(accept4), "accept on the listening fd handed to the role");
  p.Allow(SCMP_SYS(accept), "accept (libraries that do not use accept4)");
}

void AddFileAccess(Policy& p) {
  p.Allow(SCMP_SYS(openat), "open files under the role's own directory");
  p.Allow(SCMP_SYS(open), "open (x86_64 legacy callers)");
  p.Allow(SCMP_SYS(newfstatat), "stat by path (std::filesystem)");
  p.Allow(SCMP_SYS(stat), "stat (x86_64 legacy callers)");
  p.Allow(SCMP_SYS(lstat), "lstat (x86_64 legacy callers)");
  p.Allow(SCMP_SYS(statx), "stat by path (newer callers)");
  p.Allow(SCMP_SYS(faccessat), "access() checks");
  p.Allow(SCMP_SYS(faccessat2), "access() checks (glibc 2.33+)");
  p.Allow(SCMP_SYS(access), "access() (x86_64)");
  p.Allow(SCMP_SYS(lseek), "seek in a file");
  p.Allow(SCMP_SYS(pread64), "positioned reads of key blobs and messages");
  p.Allow(SCMP_SYS(pwrite64), "positioned writes");
  p.Allow(SCMP_SYS(fsync), "durable writes before acknowledging");
  p.Allow(SCMP_SYS(fdatasync), "durable writes before acknowledging");
  p.Allow(SCMP_SYS(sync_file_range), "write a batch of overwrites before unlinking them");
  p.Allow(SCMP_SYS(sync_file_range2), "sync_file_range (its name on some architectures)");
  p.Allow(SCMP_SYS(ftruncate),
          "cut a reused spare message file to its length; SoftHSM2 truncates files it rewrites");
  p.Allow(SCMP_SYS(fchmod), "0600 on new files");
  p.Allow(SCMP_SYS(umask), "umask for new files");
  p.Allow(SCMP_SYS(rename), "atomic replace; spare files in and out (x86_64)");
  p.Allow(SCMP_SYS(renameat), "atomic replace; spare files in and out");
  p.Allow(SCMP_SYS(renameat2), "atomic replace; spare files (arm64, RENAME_NOREPLACE)");
  p.Allow(SCMP_SYS(link), "publish without replacing: link() fails atomically (x86_64)");
  p.Allow(SCMP_SYS(linkat), "publish without replacing; second link to shred a replaced file");
  p.Allow(SCMP_SYS(unlink), "remove a file (x86_64)");
  p.Allow(SCMP_SYS(unlinkat), "remove a file or an empty directory");
  p.Allow(SCMP_SYS(rmdir), "remove an empty directory (x86_64)");
  p.Allow(SCMP_SYS(mkdir), "create a mailbox directory (x86_64)");
  p.Allow(SCMP_SYS(mkdirat), "create a mailbox directory");
  p.Allow(SCMP_SYS(getdents64), "list a directory");
  p.Allow(SCMP_SYS(readlink), "std::filesystem::canonical (x86_64)");
  p.Allow(SCMP_SYS(readlinkat), "std::filesystem::canonical");
  p.Allow(SCMP_SYS(flock), "one POP3 session per mailbox; token locks");
  for (int cmd :
       {F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_DUPFD_CLOEXEC}) {
    p.AllowIf(SCMP_SYS(fcntl), {ArgEq(1, static_cast<uint64_t>(cmd))},
              "record locks (token stores), dup with close-on-exec");
  }
}

void AddUnixSocketCreation(Policy& p) {
  p.AllowIf(SCMP_SYS(socket), {ArgEq(0, AF_UNIX)}, "AF_UNIX sockets for local IPC");
  p.AllowIf(SCMP_SYS(socketpair), {ArgEq(0, AF_UNIX)}, "IPC channel to a new role");
}

void AddTcpClient(Policy& p) {
  constexpr uint64_t kTypeMask = 0xf;  // SOCK_NONBLOCK/SOCK_CLOEXEC live above
  p.AllowIf(SCMP_SYS(socket), {ArgEq(0, AF_INET), ArgMaskedEq(1, kTypeMask, SOCK_STREAM)},
            "TCP client socket (IPv4)");
  p.AllowIf(SCMP_SYS(socket), {ArgEq(0, AF_INET6), ArgMaskedEq(1, kTypeMask, SOCK_STREAM)},
            "TCP client socket (IPv6)");
  p.Allow(SCMP_SYS(connect), "connect the TCP client (address pinned by the unit file)");
}

void AddOutboundTcpClient(Policy& p, const char* why) {
  constexpr uint64_t kTypeMask = ~uint64_t{SOCK_NONBLOCK | SOCK_CLOEXEC} & 0xffffffffu;
  for (int family : {AF_INET, AF_INET6}) {
    for (int protocol : {0, static_cast<int>(IPPROTO_TCP)}) {
      p.AllowIf(SCMP_SYS(socket),
                {ArgEq(0, static_cast<uint64_t>(family)), ArgMaskedEq(1, kTypeMask, SOCK_STREAM),
                 ArgEq(2, static_cast<uint64_t>(protocol))},
                why);
    }
  }
  // The address cannot be checked by seccomp (it is behind a pointer); only
  // TCP sockets exist in the process, and the unit file can pin the
  // destination (IPAddressAllow=localhost with Tor on the same host).
  p.Allow(SCMP_SYS(connect), why);
}

}  // namespace onionmail::seccomp
