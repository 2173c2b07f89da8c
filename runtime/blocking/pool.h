// BlockingPool: threads for work that blocks (synchronous syscalls, file I/O, CPU-heavy
// computation), so that it never holds a runtime worker.
//
//   JoinHandle<std::string> h = keel::spawn_blocking([path] { return read_file(path); });
//   absl::StatusOr<std::string> text = co_await h;
//
// Threads are started on demand up to `max_threads` (default 512: blocking work is mostly
// waiting, so many threads are cheap, but the bound keeps a flood of calls from exhausting
// the process) and exit after `keep_alive` idle (default 10 s: long enough to absorb bursts
// without re-spawning threads, short enough to give memory back). Tasks queue FIFO.
//
// A blocking task cannot be cancelled once started: abort() only prevents a queued one from
// running. At runtime shutdown, queued tasks are cancelled and running ones are waited for up
// to the shutdown timeout; threads still running then are left to finish on their own (they
// hold a reference that keeps the pool's memory valid).
//
// Thread-safety: all methods are safe from any thread.
#ifndef KEEL_RUNTIME_BLOCKING_POOL_H_
#define KEEL_RUNTIME_BLOCKING_POOL_H_

#include <cstddef>
#include <functional>

#include "runtime/detail/concurrency.h"
#include "runtime/scheduler/scheduler.h"
#include "runtime/scheduler/task_list.h"
#include "runtime/time/instant.h"

namespace keel::detail {

struct BlockingPoolOptions {
  std::size_t max_threads = 512;
  Duration keep_alive = std::chrono::seconds(10);
  std::string thread_name = "keel-blocking";
  std::function<void()> on_thread_start;
  std::function<void()> on_thread_stop;
  // Runs on each pool thread before it takes work (sets the thread's runtime context); the
  // returned function undoes it.
  std::function<std::function<void()>()> enter_runtime;
  // Runs on a pool thread when in_flight() drops to zero (the runtime may have gone idle
  // meanwhile, and may now auto-advance a paused clock).
  std::function<void()> on_idle;
};

class BlockingPool final : public Scheduler {
 public:
  explicit BlockingPool(BlockingPoolOptions options);

  void schedule(TaskHeader* task, ScheduleKind kind) override;
  bool release(TaskHeader*) override { return false; }

  // Cancels queued tasks, then waits up to `timeout` for running ones to finish.
  void shutdown(Duration timeout);

  std::size_t threads() const;
  std::size_t idle_threads() const;
  std::size_t queue_depth() const;
  // Tasks queued or running: the paused clock does not auto-advance while any are.
  std::size_t in_flight() const {
    // ORDERING: acquire pairs with the release of schedule() and of a finished task, so a
    // zero seen here follows the task's effects.
    return in_flight_.load(std::memory_order_acquire);
  }

 private:
  ~BlockingPool() override = default;
  void spawn_thread();
  void thread_main();

  const BlockingPoolOptions options_;
  mutable Mutex mu_;
  CondVar work_cv_;
  CondVar exit_cv_;
  TaskList queue_;
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  std::size_t wakeups_pending_ = 0;  // notifications sent to idle threads not yet consumed
  std::size_t next_thread_id_ = 0;
  bool shutdown_ = false;
  Atomic<std::size_t> in_flight_{0};
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_BLOCKING_POOL_H_
