// Role supervisor; see supervisor.h.
#include "server/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <thread>
#include <utility>

#include "base/log.h"

namespace onionmail::server {
namespace {

constexpr std::string_view kComponent = "supervisor";
constexpr size_t kMaxLine = 4096;
constexpr std::chrono::milliseconds kPollCap{100};
constexpr std::string_view kReportPrefix = "seccomp: ";
constexpr std::string_view kReportMarker = " blocked syscall ";

// Write end of the SIGCHLD self-pipe (-1: none). Lock-free, so the handler
// may read it.
std::atomic<int> g_wake_fd{-1};

void OnSigchld(int /*sig*/) {
  int saved = errno;
  int fd = g_wake_fd.load();
  if (fd >= 0) (void)!::write(fd, "c", 1);
  errno = saved;
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev == nullptr) return "signal " + std::to_string(sig);
  return std::string("SIG") + abbrev;
}

long long Millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// "seccomp: <policy> blocked syscall <nr>" -> nr; -1 otherwise.
int ParseReport(std::string_view line) {
  if (line.substr(0, kReportPrefix.size()) != kReportPrefix) return -1;
  size_t at = line.rfind(kReportMarker);
  if (at == std::string_view::npos) return -1;
  std::string_view digits = line.substr(at + kReportMarker.size());
  if (digits.empty() || digits.size() > 9) return -1;
  int nr = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    nr = nr * 10 + (c - '0');
  }
  return nr;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

Supervisor::Supervisor(SupervisorOptions options) : options_(std::move(options)) {}

Supervisor::~Supervisor() { Stop(); }

Result<void> Supervisor::Add(RoleSpec spec) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return MakeError(ErrorCode::kFailedPrecondition, "supervisor already running");
  if (spec.name.empty()) return MakeError(ErrorCode::kInvalidArgument, "role without a name");
  if (!spec.main) {
    return MakeError(ErrorCode::kInvalidArgument, "role " + spec.name + " has no main");
  }
  const BackoffPolicy& b = spec.backoff;
  if (b.initial.count() <= 0 || b.max < b.initial || b.reset_after.count() < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "role " + spec.name + ": bad backoff values");
  }
  for (const Role& r : roles_) {
    if (r.spec.name == spec.name) {
      return MakeError(ErrorCode::kInvalidArgument, "duplicate role " + spec.name);
    }
  }
  Role role;
  role.status.name = spec.name;
  role.next_delay = spec.backoff.initial;
  role.spec = std::move(spec);
  roles_.push_back(std::move(role));
  return Ok();
}

std::vector<RoleStatus> Supervisor::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RoleStatus> out;
  out.reserve(roles_.size());
  for (const Role& r : roles_) out.push_back(r.status);
  return out;
}

Result<void> Supervisor::Run(const std::atomic<bool>& stop) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_) return MakeError(ErrorCode::kFailedPrecondition, "supervisor already running");
    running_ = true;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    return MakeError(ErrorCode::kInternal, std::string("pipe2: ") + std::strerror(errno));
  }
  wake_read_fd_ = fds[0];
  wake_write_fd_ = fds[1];
  g_wake_fd.store(wake_write_fd_);
  struct sigaction sa;
  struct sigaction old_sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGCHLD, &sa, &old_sa) != 0) {
    int err = errno;
    g_wake_fd.store(-1);
    ::close(wake_read_fd_);
    ::close(wake_write_fd_);
    wake_read_fd_ = wake_write_fd_ = -1;
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    return MakeError(ErrorCode::kInternal,
                     std::string("sigaction(SIGCHLD): ") + std::strerror(err));
  }

  log::Info(kComponent, "starting " + std::to_string(roles_.size()) + " role(s)");
  const Clock::time_point start = Clock::now();
  for (Role& r : roles_) r.next_start = start;

  while (!stop.load()) {
    ReapChildren(/*restart=*/true);
    Clock::time_point now = Clock::now();
    StartDueRoles(now);
    auto timeout = kPollCap;
    for (const Role& r : roles_) {
      if (r.status.pid != 0) continue;
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(r.next_start - now);
      timeout = std::clamp(until, std::chrono::milliseconds(0), timeout);
    }
    PollOnce(timeout);
  }
  log::Info(kComponent, "stopping");
  Stop();

  (void)sigaction(SIGCHLD, &old_sa, nullptr);
  g_wake_fd.store(-1);
  ::close(wake_read_fd_);
  ::close(wake_write_fd_);
  wake_read_fd_ = wake_write_fd_ = -1;
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
  return Ok();
}

void Supervisor::StartDueRoles(Clock::time_point now) {
  for (Role& r : roles_) {
    if (r.status.pid == 0 && r.next_start <= now) StartRole(r, now);
  }
}

void Supervisor::StartRole(Role& role, Clock::time_point now) {
  int p[2];
  pid_t pid = -1;
  int err = 0;
  if (::pipe2(p, O_CLOEXEC) == 0) {
    // Only the supervisor's end is non-blocking: a role's log write waits
    // rather than losing the line.
    (void)fcntl(p[0], F_SETFL, O_NONBLOCK);
    role.line.clear();
    role.reported_syscall = -1;
    pid = ::fork();
    if (pid == 0) {
      ::close(p[0]);
      RunChild(role, p[1]);
    }
    err = errno;
    ::close(p[1]);
    if (pid < 0)
      ::close(p[0]);
    else
      role.stderr_fd = p[0];
  } else {
    err = errno;
  }

  if (pid < 0) {
    // Retried like a crash, so a fork failure cannot become a busy loop.
    ExitInfo info;
    info.kind = ExitInfo::Kind::kForkFailed;
    info.reason = std::string("could not start: ") + std::strerror(err);
    std::chrono::milliseconds delay = role.next_delay;
    role.next_start = now + delay;
    role.next_delay = std::min(role.next_delay * 2, role.spec.backoff.max);
    log::Error(kComponent, "role " + role.spec.name + " " + info.reason + "; retrying in " +
                               std::to_string(delay.count()) + " ms");
    std::lock_guard<std::mutex> lock(mu_);
    role.status.last_exit = std::move(info);
    role.status.restart_delay = delay;
    return;
  }
  role.started_at = now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    role.status.pid = pid;
    ++role.status.starts;
  }
  log::Info(kComponent, "started role " + role.spec.name + " (pid " + std::to_string(pid) + ")");
}

void Supervisor::RunChild(Role& role, int stderr_write_fd) {
  // Fresh signal state: default SIGCHLD (ours writes to the supervisor's
  // pipe), nothing blocked.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  (void)sigaction(SIGCHLD, &dfl, nullptr);
  g_wake_fd.store(-1);
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, nullptr);
  // The role dies with the supervisor (strictly: with the thread that forked).
  const pid_t parent = ::getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) _exit(127);

  if (stderr_write_fd != STDERR_FILENO) {
    if (::dup2(stderr_write_fd, STDERR_FILENO) < 0) _exit(127);
    ::close(stderr_write_fd);
  }
  ::close(wake_read_fd_);
  ::close(wake_write_fd_);
  for (Role& other : roles_) {
    if (other.stderr_fd >= 0) ::close(other.stderr_fd);
  }
  int rc = role.spec.main();
  std::fflush(nullptr);
  _exit(rc);
}

void Supervisor::PollOnce(std::chrono::milliseconds timeout) {
  std::vector<pollfd> pfds;
  std::vector<Role*> owners;
  pfds.push_back({wake_read_fd_, POLLIN, 0});
  owners.push_back(nullptr);
  for (Role& r : roles_) {
    if (r.stderr_fd < 0) continue;
    pfds.push_back({r.stderr_fd, POLLIN, 0});
    owners.push_back(&r);
  }
  int n = ::poll(pfds.data(), pfds.size(), static_cast<int>(timeout.count()));
  if (n <= 0) return;  // timeout, or EINTR: the caller loops
  for (size_t i = 0; i < pfds.size(); ++i) {
    if (pfds[i].revents == 0) continue;
    if (owners[i] == nullptr) {
      char buf[64];
      while (::read(wake_read_fd_, buf, sizeof(buf)) > 0) {
      }
    } else {
      DrainStderr(*owners[i], /*final=*/false);
    }
  }
}

void Supervisor::DrainStderr(Role& role, bool final) {
  char buf[4096];
  while (role.stderr_fd >= 0) {
    ssize_t n = ::read(role.stderr_fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == '\n') {
          ForwardLine(role);
        } else {
          role.line += buf[i];
          if (role.line.size() >= kMaxLine) ForwardLine(role);
        }
      }
      continue;
    }
    // EOF, an error, or (EAGAIN) nothing more for now.
    if (n < 0 && errno == EAGAIN && !final) return;
    if (!role.line.empty()) ForwardLine(role);
    ::close(role.stderr_fd);
    role.stderr_fd = -1;
  }
}

void Supervisor::ForwardLine(Role& role) {
  std::string line = std::move(role.line);
  role.line.clear();
  for (char& c : line) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  int nr = ParseReport(line);
  if (nr >= 0) role.reported_syscall = nr;
  line += '\n';
  WriteAll(STDERR_FILENO, line);
}

void Supervisor::ReapChildren(bool restart) {
  for (Role& r : roles_) {
    if (r.status.pid == 0) continue;
    int wstatus = 0;
    pid_t got;
    do {
      got = ::waitpid(r.status.pid, &wstatus, WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got == r.status.pid) {
      OnExit(r, wstatus, restart);
    } else if (got < 0) {
      // ECHILD: someone else reaped it (e.g. waitpid(-1) elsewhere).
      log::Error(kComponent, "role " + r.spec.name + " (pid " + std::to_string(r.status.pid) +
                                 ") lost: " + std::strerror(errno));
      OnExit(r, -1, restart);
    }
  }
}

std::string Supervisor::DescribeSyscall(int nr) const {
  std::string name = options_.syscall_name ? options_.syscall_name(nr) : std::string();
  // Appends, not "#" + std::string: GCC 12 -O3 warns (-Wrestrict) wrongly on that.
  std::string out = name.empty() ? std::string("#") : name + " (";
  out.append(std::to_string(nr));
  if (!name.empty()) out.append(")");
  return out;
}

void Supervisor::OnExit(Role& role, int wstatus, bool restart) {
  DrainStderr(role, /*final=*/true);
  const Clock::time_point now = Clock::now();
  const auto uptime = now - role.started_at;
  const pid_t pid = role.status.pid;

  ExitInfo info;
  if (wstatus == -1) {
    info.reason = "lost (reaped elsewhere)";
  } else if (WIFEXITED(wstatus)) {
    info.kind = ExitInfo::Kind::kExited;
    info.status = WEXITSTATUS(wstatus);
    info.reason = "exited with status " + std::to_string(info.status);
  } else if (WIFSIGNALED(wstatus)) {
    info.kind = ExitInfo::Kind::kSignaled;
    info.signal = WTERMSIG(wstatus);
    if (info.signal == SIGSYS) {
      info.reason = "killed by seccomp (SIGSYS)";
      if (role.reported_syscall >= 0) {
        info.blocked_syscall = role.reported_syscall;
        info.reason += ": syscall " + DescribeSyscall(role.reported_syscall);
      } else {
        info.reason += ", syscall not reported";
      }
    } else {
      info.reason = "killed by signal " + SignalName(info.signal);
    }
    if (WCOREDUMP(wstatus)) info.reason += " (core dumped)";
  } else {
    info.reason = "stopped with wait status " + std::to_string(wstatus);
  }

  std::string msg = "role " + role.spec.name + " (pid " + std::to_string(pid) + ") " + info.reason +
                    " after " + std::to_string(Millis(uptime)) + " ms";
  std::chrono::milliseconds delay{0};
  if (restart) {
    if (uptime >= role.spec.backoff.reset_after) role.next_delay = role.spec.backoff.initial;
    delay = role.next_delay;
    role.next_start = now + delay;
    role.next_delay = std::min(role.next_delay * 2, role.spec.backoff.max);
    log::Warning(kComponent, msg + "; restarting in " + std::to_string(delay.count()) + " ms");
  } else {
    log::Info(kComponent, msg + " (stopping)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  role.status.pid = 0;
  ++role.status.exits;
  role.status.last_exit = std::move(info);
  if (restart) role.status.restart_delay = delay;
}

void Supervisor::Stop() {
  bool any = false;
  for (Role& r : roles_) {
    if (r.status.pid == 0) continue;
    any = true;
    (void)::kill(r.status.pid, SIGTERM);
  }
  if (!any) return;
  const Clock::time_point deadline = Clock::now() + options_.stop_grace;
  auto running = [this] {
    return std::any_of(roles_.begin(), roles_.end(),
                       [](const Role& r) { return r.status.pid != 0; });
  };
  while (true) {
    ReapChildren(/*restart=*/false);
    if (!running()) return;
    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    auto step = std::min(left + std::chrono::milliseconds(1), std::chrono::milliseconds(10));
    if (wake_read_fd_ >= 0) {
      PollOnce(step);  // also keeps draining the roles' stderr
    } else {
      std::this_thread::sleep_for(step);
    }
  }
  for (Role& r : roles_) {
    if (r.status.pid == 0) continue;
    log::Warning(kComponent, "role " + r.spec.name + " (pid " + std::to_string(r.status.pid) +
                                 ") ignored SIGTERM for " +
                                 std::to_string(options_.stop_grace.count()) + " ms; SIGKILL");
    (void)::kill(r.status.pid, SIGKILL);
  }
  for (Role& r : roles_) {
    if (r.status.pid == 0) continue;
    int wstatus = 0;
    pid_t got;
    do {
      got = ::waitpid(r.status.pid, &wstatus, 0);
    } while (got < 0 && errno == EINTR);
    OnExit(r, got == r.status.pid ? wstatus : -1, /*restart=*/false);
  }
}

}  // namespace onionmail::server
