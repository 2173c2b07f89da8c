// The multi_thread (work-stealing) scheduler.
//
// Each worker thread owns a LocalQueue (ring of 256) and a LIFO slot holding the task it woke
// last, which it runs next (message-passing locality: the receiver runs while the sender's
// data is hot in cache). Tasks scheduled from outside go to the global Inject queue, as does
// a full ring's overflow. A worker:
//
//   1. every `global_queue_interval` polls takes from the global queue first (fairness);
//   2. otherwise runs its LIFO slot (at most kMaxLifoPolls in a row), its ring, then the
//      global queue;
//   3. every `event_interval` polls turns the I/O driver without blocking, if it is free;
//   4. with nothing local, becomes a searcher (if fewer than half of the workers search) and
//      steals half of a victim's ring, starting from a random victim;
//   5. finds nothing: parks; in the driver (serving I/O and timers for everyone) if no other
//      worker holds it, else on its condition variable.
//
// Two things Tokio gets wrong are avoided: a worker stuck in a long poll does not strand the
// task in its LIFO slot (the slow-poll monitor flags the stuck worker, wakes a sleeper, and
// searchers may then take that slot), and no worker holds the driver while it runs tasks.
//
// Thread-safety: schedule() from any thread; each Worker's state is its thread's, except the
// ring (stealable), the LIFO slot (atomic) and the parker.
#ifndef KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_WORKER_H_
#define KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_WORKER_H_

#include <memory>
#include <thread>
#include <vector>

#include "runtime/scheduler/inject.h"
#include "runtime/scheduler/multi_thread/idle.h"
#include "runtime/scheduler/multi_thread/park.h"
#include "runtime/scheduler/multi_thread/queue.h"
#include "runtime/scheduler/runtime_core.h"

namespace keel::detail {

class MultiThreadScheduler final : public RuntimeCore {
 public:
  MultiThreadScheduler(RuntimeConfig config, std::unique_ptr<Driver> driver);

  void schedule(TaskHeader* task, ScheduleKind kind) override;
  void drive_until_complete(TaskHeader* root) override;

 protected:
  void stop_workers() override;
  void close_and_drain_queues() override;
  void fill_metrics(RuntimeMetrics& m) const override;

 private:
  // LIFO polls in a row before the ring gets a turn: 3, as Tokio; enough for a short
  // request/response ping-pong to stay on one worker, few enough that two tasks waking each
  // other forever cannot starve the ring.
  static constexpr int kMaxLifoPolls = 3;
  // Tasks one driver turn may queue before it wakes a sleeper mid-turn (see schedule()):
  // a turn of a busy server dispatches a handful of events, which the worker runs itself;
  // a wave of expiring timers queues hundreds, and a second worker must start on them at once
  // (without it, a timer wave waited for the turn's end and fired ~40 ms late on average in
  // benchmarks/micro's `timers`, against ~5 ms).
  static constexpr std::uint32_t kDriverBurst = 16;
  // Tasks a worker's ring must hold, after a driver turn or a maintenance pass, before it wakes
  // a sleeper to share them. Tokio wakes one for any second task; a request/response server
  // under a single-threaded client (redis-benchmark -P 1, 50 connections) then slept and woke
  // its second worker for every two or three requests: 48k context switches per 200k requests
  // against Redis's 20k, and ~1 us more CPU per request. With 4, three short tasks run on
  // the worker that has them (tens of microseconds) rather than paying a futex wake and a
  // cross-core hand-off each; a server that is really busy queues far more than 4 a turn.
  static constexpr std::uint32_t kWakeBatch = 4;

  struct Worker {
    explicit Worker(std::size_t i, Driver* driver) : index(i), parker(driver) {}
    const std::size_t index;
    LocalQueue queue;
    Atomic<TaskHeader*> lifo{nullptr};
    Parker parker;
    WorkerCounters counters;
    PollActivity* activity = nullptr;
    // Owner-thread state.
    bool is_searching = false;
    bool in_driver = false;
    // Whether this driver turn already woke a sleeper (see schedule()).
    bool turn_notified = false;
    std::uint64_t tick = 0;
    std::uint32_t rng = 0;
    std::thread thread;
  };

  ~MultiThreadScheduler() override = default;
  void run_worker(Worker& w);
  TaskHeader* next_task(Worker& w);
  TaskHeader* steal_work(Worker& w);
  void run_task(Worker& w, TaskHeader* task);
  void park(Worker& w);
  void maintenance(Worker& w);
  void push_local(Worker& w, TaskHeader* task);
  void notify_parked();
  // After a driver turn or a maintenance pass: wakes a sleeper if `w`'s ring holds kWakeBatch
  // tasks or more.
  void notify_parked_if_batch(const Worker& w) {
    if (w.queue.len() >= kWakeBatch) notify_parked();
  }
  bool any_work_queued() const;
  Worker* current_worker() const;

  std::vector<std::unique_ptr<Worker>> workers_;
  Inject inject_;
  Idle idle_;
  Atomic<bool> shutdown_{false};
  Atomic<std::uint64_t> remote_schedules_{0};
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_WORKER_H_
