// Supervisor: starts each role in its own forked process, restarts a role
// that dies (with exponential backoff), logs why it died and stops them all.
//
// Contract:
// * Add() registers roles before Run(); RoleSpec::main runs in the forked
//   child and its return value becomes the child's exit status (_exit, so no
//   atexit handlers or destructors of the parent's objects run in the child).
// * In the child, before main: SIGCHLD is reset to the default, the signal
//   mask is cleared, PR_SET_PDEATHSIG(SIGKILL) ties the role to the thread
//   that called Run() (Run() reaps every child before it returns), the
//   supervisor's own fds are closed and stderr is a pipe to the supervisor.
//   Every other inherited fd stays open (listeners, IPC socketpairs).
// * The supervisor forwards each stderr line of a role to its own stderr
//   (control characters replaced, lines capped at 4 KiB). A line
//   "seccomp: <policy> blocked syscall <nr>" (written by the SIGSYS reporter
//   of seccomp::Policy::ReportViolations) is remembered, so a death by SIGSYS
//   is logged as "killed by seccomp (SIGSYS): syscall openat (257)". With the
//   default KILL_PROCESS action the kernel names no syscall and the log says
//   only "killed by seccomp (SIGSYS)".
// * Backoff: the first restart waits `initial`, each further one twice the
//   previous, at most `max`; a role that stayed up at least `reset_after`
//   before dying restarts after `initial` again.
// * Run(stop) returns within ~100 ms of `stop` becoming true (it polls a
//   SIGCHLD self-pipe with a 100 ms cap), after Stop(): SIGTERM to every
//   running role, up to `stop_grace` for them to exit, then SIGKILL; all
//   children are reaped. Only the roles' own pids are waited for, never -1.
// * Run() installs a process-wide SIGCHLD handler for its duration and
//   restores the previous one; one Supervisor runs at a time per process.
// * Status() is thread-safe and may be called while Run() runs (tests,
//   `onionmailctl status`). All other methods belong to the Run() thread.
// * Logs name roles, pids, exit statuses, signals and syscalls; never
//   anything a role handles.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"

namespace onionmail::server {

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{30000};
  std::chrono::milliseconds reset_after{60000};
};

struct RoleSpec {
  std::string name;           // for logs and status; unique, non-empty
  std::function<int()> main;  // runs in the forked child; returns exit status
  BackoffPolicy backoff;
};

struct SupervisorOptions {
  std::chrono::milliseconds stop_grace{5000};  // SIGTERM -> SIGKILL
  // Names a syscall number for logs (e.g. via libseccomp's resolver, which
  // this library does not link). Empty: the number alone is logged.
  std::function<std::string(int nr)> syscall_name;
};

// How the last run of a role ended.
struct ExitInfo {
  enum class Kind { kNone, kExited, kSignaled, kForkFailed };
  Kind kind = Kind::kNone;
  int status = 0;            // kExited: exit status
  int signal = 0;            // kSignaled: signal number
  int blocked_syscall = -1;  // signal == SIGSYS and the role reported it
  std::string reason;        // e.g. "exited with status 3", "killed by signal SIGSEGV"
};

struct RoleStatus {
  std::string name;
  pid_t pid = 0;        // 0 while not running
  uint64_t starts = 0;  // successful forks
  uint64_t exits = 0;   // deaths seen (including at Stop())
  ExitInfo last_exit;
  std::chrono::milliseconds restart_delay{0};  // wait scheduled after the latest exit
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options = {});
  ~Supervisor();  // Stop()s children still running
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // kInvalidArgument: empty/duplicate name, no main, bad backoff values;
  // kFailedPrecondition: called while Run() runs.
  Result<void> Add(RoleSpec spec);

  // Starts every role and keeps them running until `stop` is true; then
  // Stop()s them. kInternal when the SIGCHLD pipe or handler cannot be set
  // up (nothing started); kFailedPrecondition when already running.
  Result<void> Run(const std::atomic<bool>& stop);

  // SIGTERM, up to stop_grace, SIGKILL; reaps all children. Idempotent.
  void Stop();

  std::vector<RoleStatus> Status() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Role {
    RoleSpec spec;
    RoleStatus status;
    int stderr_fd = -1;         // read end of the role's stderr pipe
    std::string line;           // partial stderr line
    int reported_syscall = -1;  // from the SIGSYS reporter's line
    Clock::time_point started_at{};
    Clock::time_point next_start{};
    std::chrono::milliseconds next_delay{0};
  };

  void StartDueRoles(Clock::time_point now);
  void StartRole(Role& role, Clock::time_point now);
  [[noreturn]] void RunChild(Role& role, int stderr_write_fd);
  // Polls the wake-up pipe and the roles' stderr pipes for up to `timeout`.
  void PollOnce(std::chrono::milliseconds timeout);
  // Reads what a role's stderr pipe holds; closes it at EOF or if `final`.
  void DrainStderr(Role& role, bool final);
  void ForwardLine(Role& role);
  // waitpid(WNOHANG) every running role; `restart` schedules restarts.
  void ReapChildren(bool restart);
  void OnExit(Role& role, int wstatus, bool restart);
  std::string DescribeSyscall(int nr) const;

  SupervisorOptions options_;
  mutable std::mutex mu_;  // guards roles_[*].status and running_
  std::vector<Role> roles_;
  bool running_ = false;
  int wake_read_fd_ = -1;
  int wake_write_fd_ = -1;
};

}  // namespace onionmail::server
