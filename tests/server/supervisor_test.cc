// Tests for src/server/supervisor: restarts with backoff, exit reasons
// (status, signal, seccomp SIGSYS with the syscall name), stop with grace.
// Roles run in forked children; timings are generous (2 cores, busy CI).
#include "server/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "seccomp/policies.h"

namespace onionmail::server {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Runs Supervisor::Run on a thread; stops and joins on destruction.
class Runner {
 public:
  explicit Runner(Supervisor& s) : s_(s) {
    thread_ = std::thread([this] { ok_ = s_.Run(stop_).ok(); });
  }
  ~Runner() { StopAndJoin(); }
  // Returns how long Run() took to return after stop was set.
  milliseconds StopAndJoin() {
    if (!thread_.joinable()) return milliseconds(0);
    const auto t0 = Clock::now();
    stop_ = true;
    thread_.join();
    return std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  }
  bool ok() const { return ok_; }

 private:
  Supervisor& s_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ok_{false};
  std::thread thread_;
};

// Polls the status of the only role until `pred` holds or `timeout` passes.
bool WaitFor(const Supervisor& s, const std::function<bool(const RoleStatus&)>& pred,
             milliseconds timeout = milliseconds(5000)) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred(s.Status().at(0))) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return false;
}

RoleSpec Role(std::string name, std::function<int()> main, milliseconds initial = milliseconds(10),
              milliseconds max = milliseconds(10000),
              milliseconds reset_after = milliseconds(10000)) {
  RoleSpec spec;
  spec.name = std::move(name);
  spec.main = std::move(main);
  spec.backoff.initial = initial;
  spec.backoff.max = max;
  spec.backoff.reset_after = reset_after;
  return spec;
}

int SleepForever() {
  for (;;) pause();
}

std::string ResolveSyscall(int nr) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  if (name == nullptr) return "";
  std::string out(name);
  std::free(name);
  return out;
}

TEST(SupervisorTest, AddRejectsEmptyNameMissingMainDuplicateAndBadBackoff) {
  Supervisor s;
  EXPECT_EQ(s.Add(Role("", [] { return 0; })).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Add(Role("a", nullptr)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Add(Role(
                      "a", [] { return 0; }, milliseconds(0)))
                .error()
                .code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Add(Role(
                      "a", [] { return 0; }, milliseconds(50), milliseconds(10)))
                .error()
                .code,
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(s.Add(Role("a", [] { return 0; })).ok());
  EXPECT_EQ(s.Add(Role("a", [] { return 0; })).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Status().size(), 1u);
}

TEST(SupervisorTest, ExitingRoleIsRestartedWithDoublingDelays) {
  Supervisor s;
  ASSERT_TRUE(s.Add(Role("quitter", [] { return 0; })).ok());
  Runner run(s);
  ASSERT_TRUE(WaitFor(s, [](const RoleStatus& st) { return st.exits >= 4; }));
  RoleStatus st = s.Status().at(0);
  // Delays 10, 20, 40, 80 ms...: the snapshot is consistent under the lock.
  EXPECT_EQ(st.restart_delay, milliseconds(10) * (1 << (st.exits - 1)));
  EXPECT_EQ(st.last_exit.kind, ExitInfo::Kind::kExited);
  EXPECT_EQ(st.last_exit.reason, "exited with status 0");
  run.StopAndJoin();
  EXPECT_TRUE(run.ok());
}

TEST(SupervisorTest, BackoffLimitsStartsInATimeWindow) {
  Supervisor s;
  ASSERT_TRUE(s.Add(Role("quitter", [] { return 0; })).ok());
  Runner run(s);
  std::this_thread::sleep_for(milliseconds(400));
  run.StopAndJoin();
  // Restarts at ~10, 30, 70, 150, 310 ms: at most 6 starts in 400 ms (a
  // restart loop without backoff would fork hundreds of times).
  uint64_t starts = s.Status().at(0).starts;
  EXPECT_GE(starts, 3u);
  EXPECT_LE(starts, 7u);
}

TEST(SupervisorTest, DelayIsCappedAtMax) {
  Supervisor s;
  ASSERT_TRUE(s.Add(Role(
                        "quitter", [] { return 3; }, milliseconds(10), milliseconds(40)))
                  .ok());
  Runner run(s);
  ASSERT_TRUE(WaitFor(s, [](const RoleStatus& st) { return st.exits >= 5; }));
  RoleStatus st = s.Status().at(0);
  EXPECT_EQ(st.restart_delay, milliseconds(40));
  EXPECT_EQ(st.last_exit.kind, ExitInfo::Kind::kExited);
  EXPECT_EQ(st.last_exit.status, 3);
  EXPECT_EQ(st.last_exit.reason, "exited with status 3");
  EXPECT_GE(st.starts, 5u);
}

TEST(SupervisorTest, BackoffResetsAfterLongEnoughUptime) {
  auto slow_quitter = [] {
    usleep(40 * 1000);
    return 1;
  };
  Supervisor reset;
  ASSERT_TRUE(
      reset.Add(Role("slow", slow_quitter, milliseconds(10), milliseconds(10000), milliseconds(20)))
          .ok());
  Supervisor no_reset;
  ASSERT_TRUE(no_reset
                  .Add(Role("slow", slow_quitter, milliseconds(10), milliseconds(10000),
                            milliseconds(10000)))
                  .ok());
  Runner run_reset(reset);
  Runner run_no_reset(no_reset);
  ASSERT_TRUE(WaitFor(reset, [](const RoleStatus& st) { return st.exits >= 3; }));
  ASSERT_TRUE(WaitFor(no_reset, [](const RoleStatus& st) { return st.exits >= 3; }));
  // Up 40 ms >= reset_after 20 ms: every restart waits the initial delay.
  EXPECT_EQ(reset.Status().at(0).restart_delay, milliseconds(10));
  RoleStatus st = no_reset.Status().at(0);
  EXPECT_EQ(st.restart_delay, milliseconds(10) * (1 << (st.exits - 1)));
}

TEST(SupervisorTest, RoleKilledBySigsegvIsRestartedAndReasonNamesTheSignal) {
  Supervisor s;
  ASSERT_TRUE(s.Add(Role("crash", [] {
                 struct rlimit no_core = {0, 0};
                 setrlimit(RLIMIT_CORE, &no_core);
                 // Default action, also under AddressSanitizer (which would
                 // otherwise turn the signal into a report and an abort).
                 signal(SIGSEGV, SIG_DFL);
                 raise(SIGSEGV);
                 return 0;
               })).ok());
  testing::internal::CaptureStderr();
  {
    Runner run(s);
    EXPECT_TRUE(WaitFor(s, [](const RoleStatus& st) { return st.exits >= 2; }));
  }
  std::string log = testing::internal::GetCapturedStderr();
  RoleStatus st = s.Status().at(0);
  EXPECT_GE(st.starts, 2u);
  EXPECT_EQ(st.last_exit.kind, ExitInfo::Kind::kSignaled);
  EXPECT_EQ(st.last_exit.signal, SIGSEGV);
  EXPECT_THAT(st.last_exit.reason, HasSubstr("killed by signal SIGSEGV"));
  EXPECT_THAT(log, HasSubstr("role crash (pid "));
  EXPECT_THAT(log, HasSubstr("killed by signal SIGSEGV"));
  EXPECT_THAT(log, HasSubstr("restarting in 10 ms"));
}

TEST(SupervisorTest, SeccompKillIsRecordedWithTheBlockedSyscallName) {
  SupervisorOptions options;
  options.syscall_name = ResolveSyscall;
  Supervisor s(options);
  ASSERT_TRUE(s.Add(Role("smtp", [] {
                 seccomp::Policy policy = seccomp::SmtpFrontEndPolicy();
                 policy.ReportViolations(true);
                 if (!policy.Install().ok()) return 100;
                 int fd = open("/dev/null", O_RDONLY);  // openat: not allowed
                 return fd >= 0 ? 101 : 102;
               })).ok());
  testing::internal::CaptureStderr();
  {
    Runner run(s);
    EXPECT_TRUE(WaitFor(s, [](const RoleStatus& st) { return st.exits >= 1; }));
  }
  std::string log = testing::internal::GetCapturedStderr();
  RoleStatus st = s.Status().at(0);
  EXPECT_EQ(st.last_exit.kind, ExitInfo::Kind::kSignaled);
  EXPECT_EQ(st.last_exit.signal, SIGSYS);
  EXPECT_EQ(st.last_exit.blocked_syscall, SCMP_SYS(openat));
  EXPECT_THAT(st.last_exit.reason, HasSubstr("killed by seccomp (SIGSYS)"));
  EXPECT_THAT(st.last_exit.reason, HasSubstr("syscall openat ("));
  // The role's own report line is forwarded, and the supervisor's log says why.
  EXPECT_THAT(
      log, HasSubstr("seccomp: smtp blocked syscall " + std::to_string(SCMP_SYS(openat)) + "\n"));
  EXPECT_THAT(log, HasSubstr("killed by seccomp (SIGSYS): syscall openat"));
}

TEST(SupervisorTest, SigsysWithoutReportIsRecordedAsSeccompKillWithoutSyscall) {
  Supervisor s;
  ASSERT_TRUE(s.Add(Role("plain", [] {
                 raise(SIGSYS);
                 return 0;
               })).ok());
  {
    Runner run(s);
    EXPECT_TRUE(WaitFor(s, [](const RoleStatus& st) { return st.exits >= 1; }));
  }
  RoleStatus st = s.Status().at(0);
  EXPECT_EQ(st.last_exit.signal, SIGSYS);
  EXPECT_EQ(st.last_exit.blocked_syscall, -1);
  EXPECT_THAT(st.last_exit.reason, HasSubstr("killed by seccomp (SIGSYS)"));
}

TEST(SupervisorTest, RoleStderrLinesAreForwarded) {
  Supervisor s;
  ASSERT_TRUE(s.Add(Role("talker", [] {
                 const char line[] = "hello from the role\x01\n";
                 (void)!write(STDERR_FILENO, line, sizeof(line) - 1);
                 return SleepForever();
               })).ok());
  testing::internal::CaptureStderr();
  {
    Runner run(s);
    EXPECT_TRUE(WaitFor(s, [](const RoleStatus& st) { return st.starts >= 1; }));
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("hello from the role?\n"));  // control char replaced
}

TEST(SupervisorTest, StopTerminatesACooperativeRoleWithinTheGracePeriod) {
  SupervisorOptions options;
  options.stop_grace = milliseconds(5000);
  Supervisor s(options);
  ASSERT_TRUE(s.Add(Role("sleeper", SleepForever)).ok());
  Runner run(s);
  ASSERT_TRUE(WaitFor(s, [](const RoleStatus& st) { return st.pid != 0; }));
  pid_t pid = s.Status().at(0).pid;
  milliseconds took = run.StopAndJoin();
  EXPECT_LT(took, milliseconds(2000));
  RoleStatus st = s.Status().at(0);
  EXPECT_EQ(st.pid, 0);
  EXPECT_EQ(st.starts, 1u);
  EXPECT_EQ(st.last_exit.signal, SIGTERM);
  EXPECT_EQ(kill(pid, 0), -1);  // reaped: the pid is gone
}

TEST(SupervisorTest, StopKillsARoleThatIgnoresSigtermAfterTheGracePeriod) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  SupervisorOptions options;
  options.stop_grace = milliseconds(200);
  Supervisor s(options);
  ASSERT_TRUE(s.Add(Role("stubborn", [&ready] {
                 signal(SIGTERM, SIG_IGN);
                 (void)!write(ready[1], "r", 1);
                 return SleepForever();
               })).ok());
  Runner run(s);
  pollfd pfd = {ready[0], POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);
  milliseconds took = run.StopAndJoin();
  EXPECT_GE(took, milliseconds(200));
  EXPECT_LT(took, milliseconds(3000));
  RoleStatus st = s.Status().at(0);
  EXPECT_EQ(st.pid, 0);
  EXPECT_EQ(st.last_exit.kind, ExitInfo::Kind::kSignaled);
  EXPECT_EQ(st.last_exit.signal, SIGKILL);
  close(ready[0]);
  close(ready[1]);
}

TEST(SupervisorTest, RunReturnsPromptlyWhenStopIsSetWhileWaitingToRestart) {
  Supervisor s;
  ASSERT_TRUE(s.Add(Role(
                        "quitter", [] { return 0; }, milliseconds(60000), milliseconds(60000)))
                  .ok());
  Runner run(s);
  ASSERT_TRUE(WaitFor(s, [](const RoleStatus& st) { return st.exits >= 1; }));
  milliseconds took = run.StopAndJoin();
  EXPECT_LT(took, milliseconds(350));  // poll is capped at 100 ms
  EXPECT_TRUE(run.ok());
  EXPECT_EQ(s.Status().at(0).starts, 1u);
}

}  // namespace
}  // namespace onionmail::server
