// GuessWatch: counts failed logins (SMTP AUTH and POP3 together) per user name, so that the
// operator learns when someone is guessing a user's passwords. It refuses nothing: a lockout
// per account would let anyone who knows an address shut its user out (SECURITY.md).
//
// Contract:
//  - Keys are record names (keyed hashes of the user name, for existing and unknown names
//    alike), never user names or passwords.
//  - Failure() counts one failed login in a row for the key and returns the count when it
//    reaches a power of ten from 10 on (10, 100, 1000, ...), so that the caller logs at those
//    steps only; otherwise 0. Success() ends the run for the key.
//  - A run also ends after kQuiet without a failure (the next failure counts 1 again).
//  - At most kMaxEntries keys: when full, the key whose last failure is the oldest goes.
//  - Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace onionmail::keys {

class GuessWatch {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxEntries = 4096;
  static constexpr std::chrono::hours kQuiet{24};

  struct Step {
    uint64_t failures = 0;          // 0: nothing to report
    Clock::duration since_first{};  // from the run's first failure to this one
  };

  Step Failure(const std::string& key, Clock::time_point now = Clock::now());
  void Success(const std::string& key);
  size_t size();

 private:
  struct Run {
    uint64_t failures = 0;
    Clock::time_point first;
    Clock::time_point last;
  };
  std::mutex mu_;
  std::map<std::string, Run> runs_;
};

}  // namespace onionmail::keys
