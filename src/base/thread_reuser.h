// ThreadReuser: runs every task at once on a thread of its own, as a
// detached std::thread per task would, but a thread that has finished its
// task waits up to `idle_timeout` for the next one instead of exiting. A busy
// server then stops creating and tearing down a thread (stack, malloc arena
// caches, OpenSSL thread state) for every connection: bench/ measured that
// churn as several per cent of the key role's CPU.
//
// Contract:
//  - Run() never queues behind a busy thread: the task starts on an idle
//    thread if one is waiting, otherwise on a new thread. Bounding how many
//    tasks run at once stays the caller's job (max_connections).
//  - Threads are detached and share the state with the object by shared_ptr,
//    so they may outlive it (a role exits the process to stop them).
//  - A task must not throw (as for std::thread: that terminates).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace onionmail {

class ThreadReuser {
 public:
  explicit ThreadReuser(std::chrono::milliseconds idle_timeout = std::chrono::seconds(30));

  void Run(std::function<void()> task);

  // For tests and logs.
  size_t threads_started() const;
  size_t idle_threads() const;

 private:
  struct Shared {
    explicit Shared(std::chrono::milliseconds t) : idle_timeout(t) {}
    const std::chrono::milliseconds idle_timeout;
    mutable std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> handoff;  // tasks given to idle threads
    size_t idle = 0;
    size_t started = 0;
  };
  static void Work(const std::shared_ptr<Shared>& s, std::function<void()> task);

  std::shared_ptr<Shared> s_;
};

}  // namespace onionmail
