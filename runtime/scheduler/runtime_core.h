// RuntimeCore: what both scheduler flavours share: configuration, the I/O and time driver,
// the blocking pool, the owned-tasks list, slow-poll detection, metrics and dumps.
//
// `Runtime` and `Handle` (runtime.h) are the public faces; the flavours derive from this and
// implement scheduling, driving and stopping their threads.
//
// Thread-safety: all public methods are safe from any thread.
#ifndef KEEL_RUNTIME_SCHEDULER_RUNTIME_CORE_H_
#define KEEL_RUNTIME_SCHEDULER_RUNTIME_CORE_H_

#include <functional>
#include <memory>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>

#include "runtime/blocking/pool.h"
#include "runtime/io/driver.h"
#include "runtime/metrics/metrics.h"
#include "runtime/metrics/slow_poll.h"
#include "runtime/scheduler/owned_tasks.h"
#include "runtime/scheduler/scheduler.h"
#include "runtime/task/cell.h"
#include "runtime/task/join_handle.h"
#include "runtime/task/task.h"

namespace keel::detail {

struct RuntimeConfig {
  bool multi_thread = false;
  std::size_t worker_threads = 0;  // 0: one per CPU
  std::string thread_name = "keel-worker";
  std::size_t max_blocking_threads = 512;
  Duration thread_keep_alive = std::chrono::seconds(10);
  // Polls between checks of the I/O driver and timers while tasks keep the worker busy.
  // 61, as Tokio: a prime, so it does not beat against task patterns, and rare enough that
  // the epoll_wait(0) syscall costs under 1% of a busy worker.
  std::uint32_t event_interval = 61;
  // Polls between checks of the global queue ahead of the local one (fairness for tasks
  // spawned from outside). 31, as Tokio: frequent enough that remote work waits at most a few
  // dozen polls.
  std::uint32_t global_queue_interval = 31;
  bool enable_io = false;
  bool enable_time = false;
  bool start_paused = false;
  // Spin before a driver park sleeps (Builder::busy_poll); zero: sleep at once, as Tokio.
  Duration busy_poll = Duration::zero();
  std::function<void()> on_thread_start;
  std::function<void()> on_thread_stop;
  // A poll longer than this is reported; zero turns detection off. 10 ms: far above any
  // healthy poll (microseconds), well below what users notice as a stall.
  Duration slow_poll_threshold = std::chrono::milliseconds(10);
  SlowPollHandler on_slow_poll;
};

class RuntimeCore;
inline thread_local RuntimeCore* current_core = nullptr;

// Makes `core` the current runtime of this thread for its lifetime.
class EnterGuard {
 public:
  explicit EnterGuard(RuntimeCore* core) : saved_(current_core) { current_core = core; }
  ~EnterGuard() { current_core = saved_; }
  EnterGuard(const EnterGuard&) = delete;
  EnterGuard& operator=(const EnterGuard&) = delete;

 private:
  RuntimeCore* saved_;
};

// The current runtime, or a clear abort naming what needed it.
RuntimeCore& require_core(const char* what);

class RuntimeCore : public Scheduler {
 public:
  bool release(TaskHeader* task) override { return owned_.remove(task); }

  template <class T>
  JoinHandle<T> spawn(Task<T> task, SpawnOptions options, std::source_location where) {
    auto* cell = new Cell<T>(std::move(task), this, options, where);
    bind_and_schedule(cell);
    return JoinHandle<T>(cell);
  }

  template <class F>
  auto spawn_blocking(F fn, std::source_location where) -> JoinHandle<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    // A lambda without captures taking its state by value: safe across suspension.
    Task<R> task = [](F f) -> Task<R> {
      if constexpr (std::is_void_v<R>) {
        f();
        co_return;
      } else {
        co_return f();
      }
    }(std::move(fn));
    auto* cell = new Cell<R>(std::move(task), blocking_, SpawnOptions{"blocking"}, where);
    cell->drop_ref();  // blocking tasks are not in the owned list
    blocking_->schedule(cell, ScheduleKind::kSpawn);
    return JoinHandle<R>(cell);
  }

  // Runs tasks until `root` completes (current_thread: on this thread; multi_thread: waits
  // while the workers run it).
  virtual void drive_until_complete(TaskHeader* root) = 0;

  // Stops the workers, cancels every task, shuts the driver and the blocking pool down
  // (waiting up to `timeout` for running blocking tasks). Idempotent.
  void shutdown(Duration timeout);

  RuntimeMetrics metrics() const;
  std::string dump() const;

  const RuntimeConfig& config() const { return config_; }
  Driver& driver() { return *driver_; }
  BlockingPool& blocking() { return *blocking_; }
  bool is_shut_down() const { return owned_.is_closed(); }

 protected:
  RuntimeCore(RuntimeConfig config, std::unique_ptr<Driver> driver, std::size_t workers);
  ~RuntimeCore() override;

  void bind_and_schedule(TaskHeader* task);
  // Starts slow-poll monitoring; `on_stuck` runs when a worker is stuck in a poll.
  void start_monitor(std::function<void(std::size_t)> on_stuck);
  PollActivity* activity(std::size_t worker) {
    return monitor_ ? &monitor_->activity(worker) : nullptr;
  }
  // Whether the paused clock may jump ahead: no blocking work is in flight.
  bool blocking_idle() const { return blocking_->in_flight() == 0; }

  // Flavour hooks for shutdown and metrics.
  virtual void stop_workers() = 0;
  virtual void close_and_drain_queues() = 0;
  virtual void fill_metrics(RuntimeMetrics& m) const = 0;

  RuntimeConfig config_;
  std::unique_ptr<Driver> driver_;
  BlockingPool* blocking_;
  OwnedTasks owned_;
  std::unique_ptr<SlowPollMonitor> monitor_;
  Mutex shutdown_mu_;
  bool shut_down_ = false;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_RUNTIME_CORE_H_
