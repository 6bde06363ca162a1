// Policy builder over libseccomp; see policy.h.
#include "seccomp/policy.h"

#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace onionmail::seccomp {
namespace {

scmp_compare ToScmp(ArgCondition::Op op) {
  switch (op) {
    case ArgCondition::Op::kEq:
      return SCMP_CMP_EQ;
    case ArgCondition::Op::kNe:
      return SCMP_CMP_NE;
    case ArgCondition::Op::kLt:
      return SCMP_CMP_LT;
    case ArgCondition::Op::kLe:
      return SCMP_CMP_LE;
    case ArgCondition::Op::kGt:
      return SCMP_CMP_GT;
    case ArgCondition::Op::kGe:
      return SCMP_CMP_GE;
    case ArgCondition::Op::kMaskedEq:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

std::string SyscallName(int nr) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  if (name == nullptr) {
    std::string out("#");  // not "#" + std::string: GCC 12 -O3 -Wrestrict false positive
    out.append(std::to_string(nr));
    return out;
  }
  std::string out(name);
  std::free(name);
  return out;
}

// --- diagnostic SIGSYS reporter (async-signal-safe: no malloc, no stdio) ---
char g_report_name[64];

size_t AppendText(char* buf, size_t at, size_t cap, const char* text) {
  while (*text != '\0' && at + 1 < cap) buf[at++] = *text++;
  return at;
}

size_t AppendNumber(char* buf, size_t at, size_t cap, long value) {
  char digits[24];
  size_t n = 0;
  bool negative = value < 0;
  unsigned long v =
      negative ? 0UL - static_cast<unsigned long>(value) : static_cast<unsigned long>(value);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < sizeof(digits));
  if (negative && at + 1 < cap) buf[at++] = '-';
  while (n > 0 && at + 1 < cap) buf[at++] = digits[--n];
  return at;
}

void OnSigsys(int /*sig*/, siginfo_t* info, void* /*context*/) {
  char line[160];
  size_t at = AppendText(line, 0, sizeof(line), "seccomp: ");
  at = AppendText(line, at, sizeof(line), g_report_name);
  at = AppendText(line, at, sizeof(line), " blocked syscall ");
  at = AppendNumber(line, at, sizeof(line), info->si_syscall);
  at = AppendText(line, at, sizeof(line), "\n");
  (void)!::write(STDERR_FILENO, line, at);
  // Die of SIGSYS like the KILL_PROCESS default would: restore the default
  // disposition and re-raise; the signal is delivered when the handler returns.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  (void)sigaction(SIGSYS, &dfl, nullptr);
  (void)syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), SIGSYS);
}

Result<void> InstallReporter(const std::string& name) {
  size_t n = std::min(name.size(), sizeof(g_report_name) - 1);
  std::memcpy(g_report_name, name.data(), n);
  g_report_name[n] = '\0';
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0) {
    return MakeError(ErrorCode::kInternal,
                     std::string("sigaction(SIGSYS): ") + std::strerror(errno));
  }
  return Ok();
}

struct CtxCloser {
  scmp_filter_ctx ctx;
  ~CtxCloser() { seccomp_release(ctx); }
};

}  // namespace

Policy& Policy::Add(Rule rule) {
  ONIONMAIL_CHECK(rule.reason != nullptr && rule.reason[0] != '\0');
  ONIONMAIL_CHECK(rule.nr != __NR_SCMP_ERROR);
  for (const ArgCondition& c : rule.conditions) ONIONMAIL_CHECK(c.arg < 6);
  rules_.push_back(std::move(rule));
  return *this;
}

Policy& Policy::Allow(int nr, const char* reason) {
  return Add(Rule{nr, Action::kAllow, 0, {}, reason});
}

Policy& Policy::AllowIf(int nr, std::initializer_list<ArgCondition> conditions,
                        const char* reason) {
  ONIONMAIL_CHECK(conditions.size() > 0);
  return Add(Rule{nr, Action::kAllow, 0, conditions, reason});
}

Policy& Policy::Errno(int nr, int err, const char* reason) {
  ONIONMAIL_CHECK(err > 0 && err < 4096);
  return Add(Rule{nr, Action::kErrno, err, {}, reason});
}

Policy& Policy::ErrnoIf(int nr, std::initializer_list<ArgCondition> conditions, int err,
                        const char* reason) {
  ONIONMAIL_CHECK(err > 0 && err < 4096 && conditions.size() > 0);
  return Add(Rule{nr, Action::kErrno, err, conditions, reason});
}

bool Policy::Allows(int nr) const {
  if (nr < 0) return false;  // not a syscall on this architecture
  for (const Rule& r : rules_) {
    if (r.nr == nr && r.action == Action::kAllow) return true;
  }
  return false;
}

bool Policy::AllowsUnconditionally(int nr) const {
  if (nr < 0) return false;
  for (const Rule& r : rules_) {
    if (r.nr == nr && r.action == Action::kAllow && r.conditions.empty()) return true;
  }
  return false;
}

std::string Policy::Describe() const {
  std::string out;
  for (const Rule& r : rules_) {
    if (r.nr < 0) continue;
    out += r.action == Action::kAllow ? "allow " : "errno(" + std::to_string(r.errno_value) + ") ";
    out += SyscallName(r.nr);
    if (!r.conditions.empty()) out += " [if args]";
    out += ": ";
    out += r.reason;
    out += '\n';
  }
  return out;
}

Result<void> Policy::Install() const {
  const uint32_t default_action = report_violations_ ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
  CtxCloser closer{seccomp_init(default_action)};
  if (closer.ctx == nullptr) {
    return MakeError(ErrorCode::kInternal, "seccomp_init failed for policy " + name_);
  }
  // Filters must cover every thread; a later exec must not gain privileges.
  if (seccomp_attr_set(closer.ctx, SCMP_FLTATR_CTL_NNP, 1) != 0 ||
      seccomp_attr_set(closer.ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0) {
    return MakeError(ErrorCode::kInternal, "seccomp_attr_set failed for policy " + name_);
  }
  for (const Rule& r : rules_) {
    std::vector<scmp_arg_cmp> cmps;
    cmps.reserve(r.conditions.size());
    for (const ArgCondition& c : r.conditions) {
      scmp_arg_cmp cmp;
      cmp.arg = c.arg;
      cmp.op = ToScmp(c.op);
      if (c.op == ArgCondition::Op::kMaskedEq) {
        cmp.datum_a = c.mask;
        cmp.datum_b = c.value;
      } else {
        cmp.datum_a = c.value;
        cmp.datum_b = 0;
      }
      cmps.push_back(cmp);
    }
    const uint32_t action =
        r.action == Action::kAllow ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(r.errno_value);
    int rc = seccomp_rule_add_array(closer.ctx, action, r.nr, static_cast<unsigned>(cmps.size()),
                                    cmps.empty() ? nullptr : cmps.data());
    if (rc != 0) {
      // A negative pseudo number names a syscall this architecture lacks
      // (e.g. open(2) on arm64): nothing to allow, so nothing to add.
      if (r.nr < 0) continue;
      return MakeError(ErrorCode::kInternal, "seccomp rule for " + SyscallName(r.nr) +
                                                 " rejected in policy " + name_ + ": " +
                                                 std::strerror(-rc));
    }
  }
  if (report_violations_) ONIONMAIL_RETURN_IF_ERROR(InstallReporter(name_));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return MakeError(ErrorCode::kInternal,
                     std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno));
  }
  int rc = seccomp_load(closer.ctx);
  if (rc != 0) {
    return MakeError(ErrorCode::kInternal,
                     "seccomp_load failed for policy " + name_ + ": " + std::strerror(-rc));
  }
  return Ok();
}

}  // namespace onionmail::seccomp
