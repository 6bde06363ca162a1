// ThreadReuser implementation.
#include "base/thread_reuser.h"

#include <thread>
#include <utility>

namespace onionmail {

ThreadReuser::ThreadReuser(std::chrono::milliseconds idle_timeout)
    : s_(std::make_shared<Shared>(idle_timeout)) {}

void ThreadReuser::Run(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    // Each handed-off task needs an idle thread of its own to take it.
    if (s_->idle > s_->handoff.size()) {
      s_->handoff.push_back(std::move(task));
      s_->cv.notify_one();
      return;
    }
    ++s_->started;
  }
  std::thread([s = s_, t = std::move(task)]() mutable { Work(s, std::move(t)); }).detach();
}

void ThreadReuser::Work(const std::shared_ptr<Shared>& s, std::function<void()> task) {
  for (;;) {
    task();
    task = nullptr;  // release what the task captured before waiting
    std::unique_lock<std::mutex> lock(s->mu);
    ++s->idle;
    const bool got = s->cv.wait_for(lock, s->idle_timeout, [&s] { return !s->handoff.empty(); });
    --s->idle;
    if (!got) return;  // idle too long: the thread ends
    task = std::move(s->handoff.front());
    s->handoff.pop_front();
  }
}

size_t ThreadReuser::threads_started() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->started;
}

size_t ThreadReuser::idle_threads() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->idle;
}

}  // namespace onionmail
