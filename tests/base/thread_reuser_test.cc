// ThreadReuser: every task starts at once on its own thread; finished threads
// take later tasks instead of exiting, and leave after the idle timeout.
#include "base/thread_reuser.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace onionmail {
namespace {

using std::chrono::milliseconds;

// A one-shot flag a test can wait on with a deadline.
class Flag {
 public:
  void Set() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool WaitFor(milliseconds d) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, d, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Polls `pred` until it holds or 5 s pass.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

TEST(ThreadReuserTest, TaskRunsOnAnotherThread) {
  ThreadReuser pool;
  Flag done;
  std::thread::id ran_on;
  pool.Run([&] {
    ran_on = std::this_thread::get_id();
    done.Set();
  });
  ASSERT_TRUE(done.WaitFor(milliseconds(5000)));
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(ThreadReuserTest, FinishedThreadTakesTheNextTask) {
  ThreadReuser pool;
  Flag first, second;
  std::thread::id a, b;
  pool.Run([&] {
    a = std::this_thread::get_id();
    first.Set();
  });
  ASSERT_TRUE(first.WaitFor(milliseconds(5000)));
  ASSERT_TRUE(Eventually([&] { return pool.idle_threads() == 1; }));
  pool.Run([&] {
    b = std::this_thread::get_id();
    second.Set();
  });
  ASSERT_TRUE(second.WaitFor(milliseconds(5000)));
  EXPECT_EQ(a, b);
  EXPECT_EQ(pool.threads_started(), 1u);
}

TEST(ThreadReuserTest, TasksNeverWaitForABusyThread) {
  // Eight tasks that only finish together: they must all run at once.
  ThreadReuser pool;
  constexpr int kTasks = 8;
  std::atomic<int> running{0};
  Flag release;
  std::atomic<int> finished{0};
  for (int i = 0; i < kTasks; ++i) {
    pool.Run([&] {
      ++running;
      release.WaitFor(milliseconds(10000));
      ++finished;
    });
  }
  EXPECT_TRUE(Eventually([&] { return running.load() == kTasks; }));
  release.Set();
  EXPECT_TRUE(Eventually([&] { return finished.load() == kTasks; }));
  EXPECT_EQ(pool.threads_started(), static_cast<size_t>(kTasks));
}

TEST(ThreadReuserTest, IdleThreadsLeaveAfterTheTimeoutAndNewOnesStart) {
  ThreadReuser pool(milliseconds(50));
  Flag first, second;
  pool.Run([&] { first.Set(); });
  ASSERT_TRUE(first.WaitFor(milliseconds(5000)));
  ASSERT_TRUE(Eventually([&] { return pool.idle_threads() == 0; }));
  pool.Run([&] { second.Set(); });
  ASSERT_TRUE(second.WaitFor(milliseconds(5000)));
  EXPECT_EQ(pool.threads_started(), 2u);
}

TEST(ThreadReuserTest, ManyShortTasksReuseFewThreads) {
  ThreadReuser pool;
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i) {
    pool.Run([&] { ++done; });
    // Let the task finish and its thread park before the next one.
    ASSERT_TRUE(Eventually([&] { return done.load() == i + 1 && pool.idle_threads() >= 1; }));
  }
  EXPECT_EQ(done.load(), 200);
  EXPECT_LE(pool.threads_started(), 2u);
}

}  // namespace
}  // namespace onionmail
