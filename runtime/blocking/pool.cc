#include "runtime/blocking/pool.h"

#include <pthread.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "runtime/task/header.h"

namespace keel::detail {

BlockingPool::BlockingPool(BlockingPoolOptions options) : options_(std::move(options)) {}

void BlockingPool::schedule(TaskHeader* task, ScheduleKind) {
  {
    UniqueLock lock(mu_);
    if (!shutdown_) {
      queue_.push_back(task);
      // ORDERING: release; pairs with in_flight()'s acquire in the auto-advance check.
      in_flight_.fetch_add(1, std::memory_order_release);
      if (idle_ > wakeups_pending_) {
        ++wakeups_pending_;
        lock.unlock();
        work_cv_.notify_one();
        return;
      }
      if (threads_ < options_.max_threads) {
        spawn_thread();
      }
      return;
    }
  }
  // Shut down: cancel instead of running.
  task->abort();
  task->run();
}

void BlockingPool::spawn_thread() {
  // Called with mu_ held.
  ++threads_;
  std::size_t id = next_thread_id_++;
  add_ref();  // the thread's reference keeps the pool alive if it outlives the runtime
  std::thread([this, id] {
    std::string name = absl::StrCat(options_.thread_name.substr(0, 10), "-", id);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    thread_main();
    drop_ref();
  }).detach();
}

void BlockingPool::thread_main() {
  std::function<void()> leave;
  if (options_.enter_runtime) leave = options_.enter_runtime();
  if (options_.on_thread_start) options_.on_thread_start();
  UniqueLock lock(mu_);
  for (;;) {
    TaskHeader* task = queue_.pop_front();
    if (task != nullptr) {
      lock.unlock();
      task->run();
      // ORDERING: release; see schedule(). The idle hook runs after the decrement, so whoever
      // it wakes sees in_flight() == 0.
      if (in_flight_.fetch_sub(1, std::memory_order_release) == 1 && options_.on_idle) {
        options_.on_idle();
      }
      lock.lock();
      continue;
    }
    if (shutdown_) break;
    ++idle_;
    bool timed_out = !work_cv_.wait_for(lock, options_.keep_alive, [this] {
      return wakeups_pending_ > 0 || shutdown_;
    });
    --idle_;
    if (wakeups_pending_ > 0) --wakeups_pending_;
    if (timed_out && queue_.empty()) break;
  }
  --threads_;
  bool last = threads_ == 0;
  lock.unlock();
  if (options_.on_thread_stop) options_.on_thread_stop();
  if (leave) leave();
  if (last) exit_cv_.notify_all();
}

void BlockingPool::shutdown(Duration timeout) {
  TaskList cancelled;
  {
    LockGuard lock(mu_);
    if (shutdown_) return;
    shutdown_ = true;
    cancelled = queue_;
    queue_ = TaskList();
  }
  work_cv_.notify_all();
  while (TaskHeader* t = cancelled.pop_front()) {
    t->abort();
    t->run();
    in_flight_.fetch_sub(1, std::memory_order_release);
  }
  UniqueLock lock(mu_);
  exit_cv_.wait_for(lock, timeout, [this] { return threads_ == 0; });
}

std::size_t BlockingPool::threads() const {
  LockGuard lock(mu_);
  return threads_;
}

std::size_t BlockingPool::idle_threads() const {
  LockGuard lock(mu_);
  return idle_;
}

std::size_t BlockingPool::queue_depth() const {
  LockGuard lock(mu_);
  return queue_.size();
}

}  // namespace keel::detail
