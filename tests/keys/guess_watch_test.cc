// Tests for src/keys/guess_watch: failed logins counted per key, reported at 10, 100, 1000...,
// ended by a success or a quiet day, and a bounded table.
#include "keys/guess_watch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace onionmail::keys {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

TEST(GuessWatchTest, ReportsAtTenHundredAndThousandFailuresInARow) {
  GuessWatch watch;
  const auto t0 = GuessWatch::Clock::time_point{} + hours(1000);
  std::vector<uint64_t> reported;
  for (int i = 1; i <= 1500; ++i) {
    auto step = watch.Failure("aa", t0 + std::chrono::seconds(i));
    if (step.failures != 0) {
      reported.push_back(step.failures);
      EXPECT_EQ(step.since_first, std::chrono::seconds(i - 1)) << i;
    }
  }
  EXPECT_EQ(reported, (std::vector<uint64_t>{10, 100, 1000}));
}

TEST(GuessWatchTest, KeysAreCountedApart) {
  GuessWatch watch;
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(watch.Failure("alice").failures, 0u);
    EXPECT_EQ(watch.Failure("bob").failures, 0u);
  }
  EXPECT_EQ(watch.Failure("alice").failures, 10u);
  EXPECT_EQ(watch.Failure("bob").failures, 10u);
}

TEST(GuessWatchTest, ASuccessEndsTheRun) {
  GuessWatch watch;
  for (int i = 0; i < 9; ++i) watch.Failure("alice");
  watch.Success("alice");
  EXPECT_EQ(watch.size(), 0u);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(watch.Failure("alice").failures, 0u);
  EXPECT_EQ(watch.Failure("alice").failures, 10u);
}

TEST(GuessWatchTest, ADayWithoutFailuresEndsTheRun) {
  GuessWatch watch;
  const auto t0 = GuessWatch::Clock::time_point{} + hours(1000);
  for (int i = 0; i < 9; ++i) watch.Failure("alice", t0 + minutes(i));
  // Within the day the run goes on...
  EXPECT_EQ(watch.Failure("alice", t0 + hours(20)).failures, 10u);
  // ...after a quiet day it starts again.
  for (int i = 1; i <= 10; ++i) {
    auto step = watch.Failure("alice", t0 + hours(45) + minutes(i));
    EXPECT_EQ(step.failures, i == 10 ? 10u : 0u) << i;
  }
}

TEST(GuessWatchTest, TheTableIsBoundedAndDropsTheStalestKey) {
  GuessWatch watch;
  const auto t0 = GuessWatch::Clock::time_point{} + hours(1000);
  for (int i = 0; i < 9; ++i) watch.Failure("watched", t0 + std::chrono::seconds(i));
  watch.Failure("stale", t0 - hours(1));  // the oldest last failure
  for (size_t i = 0; watch.size() < GuessWatch::kMaxEntries; ++i) {
    watch.Failure("k" + std::to_string(i), t0 + minutes(1));
  }
  watch.Failure("newcomer", t0 + minutes(2));
  EXPECT_EQ(watch.size(), GuessWatch::kMaxEntries);
  // "stale" went, "watched" kept its count.
  EXPECT_EQ(watch.Failure("watched", t0 + minutes(3)).failures, 10u);
  // Had it been kept (1 failure), the ninth here would be its tenth.
  for (int i = 0; i < 9; ++i) EXPECT_EQ(watch.Failure("stale", t0 + minutes(4)).failures, 0u);
}

}  // namespace
}  // namespace onionmail::keys
