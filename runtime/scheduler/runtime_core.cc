#include "runtime/scheduler/runtime_core.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "runtime/task/state.h"

namespace keel::detail {

RuntimeCore& require_core(const char* what) {
  if (current_core == nullptr) {
    std::fprintf(stderr, "keel: %s needs a Keel runtime, and this thread is not in one\n", what);
    std::abort();
  }
  return *current_core;
}

RuntimeCore::RuntimeCore(RuntimeConfig config, std::unique_ptr<Driver> driver,
                         std::size_t workers)
    : config_(std::move(config)), driver_(std::move(driver)) {
  BlockingPoolOptions opts;
  opts.max_threads = config_.max_blocking_threads;
  opts.keep_alive = config_.thread_keep_alive;
  opts.thread_name = "keel-blocking";
  opts.on_thread_start = config_.on_thread_start;
  opts.on_thread_stop = config_.on_thread_stop;
  opts.enter_runtime = [this]() -> std::function<void()> {
    // The pool thread keeps the runtime's memory alive for as long as it runs.
    add_ref();
    current_core = this;
    return [this] {
      current_core = nullptr;
      drop_ref();
    };
  };
  opts.on_idle = [this] {
    // An idle runtime parked with blocking work in flight cannot auto-advance its paused clock
    // (blocking_idle() was false), and nothing else would wake it: the last blocking task to
    // finish makes the driver look again. Only under a paused clock, so that blocking work
    // costs no extra syscall in production. (The pool thread holds a reference on us.)
    if (driver_->time_enabled() && driver_->time().clock().is_paused()) driver_->unpark();
  };
  blocking_ = new BlockingPool(std::move(opts));
  if (config_.slow_poll_threshold > Duration::zero()) {
    monitor_ = std::make_unique<SlowPollMonitor>(config_.slow_poll_threshold, config_.on_slow_poll,
                                                 workers);
  }
}

RuntimeCore::~RuntimeCore() { blocking_->drop_ref(); }

void RuntimeCore::start_monitor(std::function<void(std::size_t)> on_stuck) {
  if (monitor_) monitor_->start(std::move(on_stuck));
}

void RuntimeCore::bind_and_schedule(TaskHeader* task) {
  if (!owned_.bind(task)) {
    task->reject();
    return;
  }
  schedule(task, ScheduleKind::kSpawn);
}

void RuntimeCore::shutdown(Duration timeout) {
  {
    LockGuard lock(shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  EnterGuard enter(this);
  stop_workers();
  if (monitor_) monitor_->stop();
  // Cancel every task: their frames are destroyed here, and their awaiters unregister from
  // the driver, which is still alive.
  owned_.close_and_shutdown_all();
  close_and_drain_queues();
  driver_->shutdown();
  blocking_->shutdown(timeout);
}

RuntimeMetrics RuntimeCore::metrics() const {
  RuntimeMetrics m;
  fill_metrics(m);
  m.spawned_tasks_total = owned_.bound_total();
  m.alive_tasks = owned_.size();
  m.io_events_total = driver_->io_events_total();
  m.busy_poll_caught_total = driver_->busy_poll_caught_total();
  m.busy_poll_missed_total = driver_->busy_poll_missed_total();
  m.registered_fds = driver_->registered_fds();
  m.timers_active = driver_->time().active();
  m.timers_fired_total = driver_->time().fired_total();
  m.blocking_threads = blocking_->threads();
  m.idle_blocking_threads = blocking_->idle_threads();
  m.blocking_queue_depth = blocking_->queue_depth();
  m.slow_polls_total = monitor_ ? monitor_->slow_polls() : 0;
  return m;
}

std::string RuntimeCore::dump() const {
  std::string tasks;
  std::size_t n = 0;
  owned_.for_each([&](const TaskHeader& t) {
    std::uint64_t s = t.state_for_dump();
    // A task that just completed stays linked until its worker unlinks it: not live.
    if (s & task_state::kComplete) return;
    ++n;
    const char* state = (s & task_state::kRunning)    ? "running"
                        : (s & task_state::kNotified) ? "scheduled"
                                                      : "idle";
    absl::StrAppend(&tasks, "task ", t.id());
    std::string_view name = t.name();
    if (!name.empty()) {
      absl::StrAppend(&tasks, " '", absl::string_view(name.data(), name.size()), "'");
    }
    absl::StrAppend(&tasks, " [", state, "] spawned at ", t.spawned_at().file_name(), ":",
                    t.spawned_at().line());
    AwaitPoint w = t.waiting_on();
    if (w.what != nullptr) {
      absl::StrAppend(&tasks, "\n    ",
                      (s & task_state::kRunning) ? "resumed from " : "waiting on ",
                      w.describe(/*with_function=*/true));
    } else {
      absl::StrAppend(&tasks, "\n    not started");
    }
    absl::StrAppend(&tasks, "\n");
  });
  return absl::StrCat("keel runtime dump: ", n, " live task", n == 1 ? "" : "s", "\n", tasks);
}

}  // namespace keel::detail
