// Policy: a thin builder over libseccomp for one role's syscall allowlist.
//
// Contract:
// * The default action is SCMP_ACT_KILL_PROCESS: any syscall without a rule
//   kills the whole process with SIGSYS (the supervisor sees it in wait4).
// * Every rule carries a reason string (non-empty, checked), so the policy
//   source reads as a justified allowlist. Rules on one syscall are OR-ed;
//   the conditions inside one rule are AND-ed.
// * Seccomp sees only register values, never memory behind pointers: paths,
//   sockaddrs and clone3's struct cannot be checked (see seccomp/README.md).
// * Syscall numbers come from SCMP_SYS(name), which is portable: a syscall
//   that does not exist on this architecture (open(2) on arm64) has a
//   negative pseudo number and its rule is skipped at Install().
// * Install() sets PR_SET_NO_NEW_PRIVS first, then loads the filter on every
//   thread of the process (TSYNC). It is irreversible; filters stack and are
//   inherited by children and across execve.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace onionmail::seccomp {

// One comparison on a syscall argument register (0..5).
struct ArgCondition {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };
  unsigned arg = 0;
  Op op = Op::kEq;
  uint64_t value = 0;
  uint64_t mask = 0;  // kMaskedEq only: (arg & mask) == value
};

inline ArgCondition ArgEq(unsigned arg, uint64_t v) { return {arg, ArgCondition::Op::kEq, v, 0}; }
inline ArgCondition ArgNe(unsigned arg, uint64_t v) { return {arg, ArgCondition::Op::kNe, v, 0}; }
inline ArgCondition ArgLe(unsigned arg, uint64_t v) { return {arg, ArgCondition::Op::kLe, v, 0}; }
// (arg & mask) == value.
inline ArgCondition ArgMaskedEq(unsigned arg, uint64_t mask, uint64_t v) {
  return {arg, ArgCondition::Op::kMaskedEq, v, mask};
}
// None of the bits in `bits` is set.
inline ArgCondition ArgHasNone(unsigned arg, uint64_t bits) { return ArgMaskedEq(arg, bits, 0); }

class Policy {
 public:
  enum class Action { kAllow, kErrno };

  struct Rule {
    int nr = 0;  // SCMP_SYS(...) number
    Action action = Action::kAllow;
    int errno_value = 0;                   // kErrno only
    std::vector<ArgCondition> conditions;  // empty: unconditional
    const char* reason = "";
  };

  explicit Policy(std::string name) : name_(std::move(name)) {}

  // Allows `nr` unconditionally.
  Policy& Allow(int nr, const char* reason);
  // Allows `nr` when all `conditions` hold (one comparison per argument).
  Policy& AllowIf(int nr, std::initializer_list<ArgCondition> conditions, const char* reason);
  // Makes `nr` fail with `err` instead of killing (e.g. clone3 -> ENOSYS so
  // glibc falls back to clone, whose flags register can be checked).
  Policy& Errno(int nr, int err, const char* reason);
  Policy& ErrnoIf(int nr, std::initializer_list<ArgCondition> conditions, int err,
                  const char* reason);

  // Diagnostic mode: violations raise a catchable SIGSYS (SCMP_ACT_TRAP); the
  // handler Install() sets writes "seccomp: <policy> blocked syscall <nr>" to
  // stderr and then dies of SIGSYS. Off by default (KILL_PROCESS gives the
  // process no chance to run code after a violation).
  Policy& ReportViolations(bool on) {
    report_violations_ = on;
    return *this;
  }

  // True when some rule allows `nr` (conditionally or not) on this arch.
  bool Allows(int nr) const;
  // True when some rule allows `nr` without conditions.
  bool AllowsUnconditionally(int nr) const;

  const std::string& name() const { return name_; }
  const std::vector<Rule>& rules() const { return rules_; }

  // One line per rule: "allow openat: <reason>" (pseudo numbers skipped).
  std::string Describe() const;

  // no_new_privs, then loads the filter (all threads). Errors leave the
  // process unfiltered and are returned; the caller must not go on serving.
  Result<void> Install() const;

 private:
  Policy& Add(Rule rule);

  std::string name_;
  std::vector<Rule> rules_;
  bool report_violations_ = false;
};

}  // namespace onionmail::seccomp
