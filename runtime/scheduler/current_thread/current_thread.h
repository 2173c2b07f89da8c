// The current_thread scheduler: every task runs on the thread that calls block_on().
//
// One FIFO run queue that only the driving thread touches, plus an injection queue for tasks
// scheduled from other threads (which also unpark the driver). The driving thread checks the
// injection queue first every `global_queue_interval` polls and turns the I/O driver (without
// blocking) every `event_interval` polls; with nothing to run it parks in the driver until
// I/O, a timer or a remote schedule. Tasks spawned while nobody drives wait for the next
// block_on, as in Tokio.
//
// Thread-safety: spawn/schedule from any thread; one thread drives at a time (others calling
// block_on wait for it).
#ifndef KEEL_RUNTIME_SCHEDULER_CURRENT_THREAD_CURRENT_THREAD_H_
#define KEEL_RUNTIME_SCHEDULER_CURRENT_THREAD_CURRENT_THREAD_H_

#include <memory>

#include "runtime/scheduler/inject.h"
#include "runtime/scheduler/runtime_core.h"
#include "runtime/scheduler/task_list.h"

namespace keel::detail {

class CurrentThreadScheduler final : public RuntimeCore {
 public:
  CurrentThreadScheduler(RuntimeConfig config, std::unique_ptr<Driver> driver);

  void schedule(TaskHeader* task, ScheduleKind kind) override;
  void drive_until_complete(TaskHeader* root) override;

 protected:
  void stop_workers() override {}
  void close_and_drain_queues() override;
  void fill_metrics(RuntimeMetrics& m) const override;

 private:
  ~CurrentThreadScheduler() override = default;
  TaskHeader* next_task();

  Mutex drive_mu_;  // held by the driving thread
  TaskList local_;  // only the driving thread
  Inject inject_;
  std::uint64_t tick_ = 0;
  WorkerCounters counters_;
  Atomic<std::uint64_t> remote_schedules_{0};
  Atomic<std::uint64_t> local_depth_{0};
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_CURRENT_THREAD_CURRENT_THREAD_H_
