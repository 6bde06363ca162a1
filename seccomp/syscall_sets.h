// Named groups of syscall rules shared by the per-role policies.
//
// Contract: each function appends rules (each with its reason) to a Policy.
// Groups are written for glibc 2.36 + libstdc++ + OpenSSL 3 on x86_64 and
// arm64; legacy syscalls that arm64 lacks (open, stat, poll, fork, ...) are
// named with SCMP_SYS() and skipped there. Build a policy in the process that
// installs it: AddBasicRuntime pins tgkill to the building process's pid.
#pragma once

#include "seccomp/policy.h"

namespace onionmail::seccomp {

// read/write/close on open fds, futex, clocks and sleeps, signals for
// abort() and handlers, getrandom, identity/pid reads, fstat of open fds,
// a few fcntl/prctl options, exit. ioctl fails with ENOTTY (isatty probes).
void AddBasicRuntime(Policy& p);

// How executable mappings are treated by AddMemory.
enum class ExecMappings {
  kNone,          // no PROT_EXEC at all: no code can be mapped after install
  kWriteXorExec,  // PROT_EXEC only without PROT_WRITE (dlopen of modules)
};

// brk, mmap/mprotect with the `exec` rule, munmap, mremap, selected madvise
// advice values, mlock/munlock for SecretBytes pages.
void AddMemory(Policy& p, ExecMappings exec);

// std::thread / pthread_create: clone only with CLONE_THREAD and the shared
// VM/files/signal flags and no namespace/ptrace flags; clone3 -> ENOSYS (its
// flags live in memory seccomp cannot read, so glibc falls back to clone);
// set_robust_list, rseq.
void AddThreads(Policy& p);

// poll/ppoll, epoll, eventfd2 and pipe2 (wake-ups without any path).
void AddPolling(Policy& p);

// I/O on already-connected sockets (accepted connections, IPC socketpairs):
// sendmsg/recvmsg (with fd passing), sendto/recvfrom, shutdown, socket
// options at SOL_SOCKET/IPPROTO_TCP, getsockname/getpeername.
void AddConnectedSocketIo(Policy& p);

// accept4/accept: only a listening socket accepts, and a role under a policy
// without socket/bind/listen can only hold the listener it was given.
void AddAccept(Policy& p);

// Path-based file access for roles that own a directory: openat, stat,
// rename, unlink, mkdir, getdents64, fsync, flock, record locks. Paths cannot
// be checked by seccomp; narrow them with the unit's ReadWritePaths=.
void AddFileAccess(Policy& p);

// socket(AF_UNIX) only (e.g. socketpair for new IPC channels).
void AddUnixSocketCreation(Policy& p);

// TCP client: socket(AF_INET/AF_INET6, SOCK_STREAM) and connect. The address
// cannot be checked by seccomp; pin it with IPAddressAllow=localhost.
void AddTcpClient(Policy& p);

// The outbound roles' TCP client (peer, relay), narrower than AddTcpClient:
// socket(AF_INET/AF_INET6) with type exactly SOCK_STREAM plus at most
// SOCK_NONBLOCK/SOCK_CLOEXEC and protocol 0 or IPPROTO_TCP (not SCTP's
// one-to-one SOCK_STREAM), and connect. `why` names what it connects to.
void AddOutboundTcpClient(Policy& p, const char* why);

}  // namespace onionmail::seccomp
