#include "runtime/scheduler/current_thread/current_thread.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace keel::detail {
namespace {
// The scheduler this thread is driving right now, if any.
thread_local CurrentThreadScheduler* driving_here = nullptr;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

CurrentThreadScheduler::CurrentThreadScheduler(RuntimeConfig config,
                                               std::unique_ptr<Driver> driver)
    : RuntimeCore(std::move(config), std::move(driver), 1) {
  start_monitor(nullptr);
}

void CurrentThreadScheduler::schedule(TaskHeader* task, ScheduleKind) {
  if (driving_here == this) {
    local_.push_back(task);
    counters_.local_schedules.add();
    return;
  }
  if (!inject_.push(task)) {
    task->drop_ref();  // shut down: the owned list already cancelled the task
    return;
  }
  // ORDERING: relaxed; a metrics counter.
  remote_schedules_.fetch_add(1, std::memory_order_relaxed);
  driver_->unpark();
}

TaskHeader* CurrentThreadScheduler::next_task() {
  ++tick_;
  if (tick_ % config_.global_queue_interval == 0 || shuffle_point()) {
    if (TaskHeader* t = inject_.pop()) return t;
    return local_.pop_front();
  }
  if (TaskHeader* t = local_.pop_front()) return t;
  return inject_.pop();
}

void CurrentThreadScheduler::drive_until_complete(TaskHeader* root) {
  if (driving_here != nullptr) {
    std::fprintf(stderr,
                 "keel: block_on called from a thread that is already driving a runtime "
                 "(await the task instead)\n");
    std::abort();
  }
  LockGuard drive(drive_mu_);
  driving_here = this;
  EnterGuard enter(this);
  PollActivity* activity_slot = activity(0);
  PollActivity* saved_activity = current_activity;
  current_activity = activity_slot;
  if (activity_slot != nullptr) activity_slot->attach_current_thread();
  std::int64_t busy_since = steady_ns();

  while (!root->is_complete()) {
    std::uint32_t polled = 0;
    while (polled < config_.event_interval) {
      TaskHeader* t = next_task();
      if (t == nullptr) break;
      ++polled;
      counters_.polls.add();
      CoopScope coop;
      t->run();
      if (root->is_complete()) break;
    }
    if (root->is_complete()) break;
    // ORDERING: relaxed; a metrics gauge.
    local_depth_.store(local_.size(), std::memory_order_relaxed);
    if (polled == config_.event_interval || !local_.empty() || !inject_.is_empty()) {
      // Busy: look at I/O and timers without blocking.
      driver_->park(Duration::zero(), false);
      continue;
    }
    counters_.busy_ns.add(static_cast<std::uint64_t>(steady_ns() - busy_since));
    counters_.parks.add();
    std::size_t woken = driver_->park(std::nullopt, blocking_idle());
    busy_since = steady_ns();
    if (woken == 0 && local_.empty() && inject_.is_empty()) counters_.noops.add();
  }
  counters_.busy_ns.add(static_cast<std::uint64_t>(steady_ns() - busy_since));
  local_depth_.store(local_.size(), std::memory_order_relaxed);
  current_activity = saved_activity;
  driving_here = nullptr;
}

void CurrentThreadScheduler::close_and_drain_queues() {
  LockGuard drive(drive_mu_);
  TaskList rest = inject_.close();
  while (TaskHeader* t = local_.pop_front()) t->run();  // shut down already: drops references
  while (TaskHeader* t = rest.pop_front()) t->run();
}

void CurrentThreadScheduler::fill_metrics(RuntimeMetrics& m) const {
  m.flavor = "current_thread";
  WorkerMetrics w = counters_.snapshot();
  w.local_queue_depth = local_depth_.load(std::memory_order_relaxed);
  m.workers.push_back(w);
  m.global_queue_depth = inject_.len();
  m.remote_schedules_total = remote_schedules_.load(std::memory_order_relaxed);
}

}  // namespace keel::detail
