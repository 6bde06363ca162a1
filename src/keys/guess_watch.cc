// GuessWatch (see guess_watch.h).
#include "keys/guess_watch.h"

#include <algorithm>

namespace onionmail::keys {

namespace {

bool PowerOfTenFromTen(uint64_t n) {
  if (n < 10) return false;
  while (n % 10 == 0) n /= 10;
  return n == 1;
}

}  // namespace

GuessWatch::Step GuessWatch::Failure(const std::string& key, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    if (runs_.size() >= kMaxEntries) {
      auto oldest = std::min_element(runs_.begin(), runs_.end(), [](const auto& a, const auto& b) {
        return a.second.last < b.second.last;
      });
      runs_.erase(oldest);
    }
    it = runs_.emplace(key, Run{0, now, now}).first;
  } else if (now - it->second.last > kQuiet) {
    it->second = Run{0, now, now};
  }
  Run& run = it->second;
  ++run.failures;
  run.last = now;
  if (!PowerOfTenFromTen(run.failures)) return {};
  return {run.failures, now - run.first};
}

void GuessWatch::Success(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  runs_.erase(key);
}

size_t GuessWatch::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.size();
}

}  // namespace onionmail::keys
