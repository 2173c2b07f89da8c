// The interface a spawned task uses to reach whatever runs it.
//
// Implemented by both runtime flavours (current_thread, multi_thread) and by the blocking
// pool. A task holds a counted reference to its scheduler, so that a waker fired after the
// runtime shut down (say, by a blocking thread that outlived it) still finds valid memory;
// such a late schedule() sees the scheduler closed and just drops the task's reference.
//
// Thread-safety: every method may be called from any thread.
#ifndef KEEL_RUNTIME_SCHEDULER_SCHEDULER_H_
#define KEEL_RUNTIME_SCHEDULER_SCHEDULER_H_

#include <cstdint>

#include "runtime/detail/concurrency.h"

namespace keel {
class TaskHeader;
}

namespace keel::detail {

enum class ScheduleKind {
  kSpawn,  // a new task
  kWake,   // woken by an event: run soon, ideally next (LIFO slot)
  kYield,  // woken while running (yield_now, coop budget): run after the others
};

class Scheduler {
 public:
  // Queues a NOTIFIED task; takes over its run-queue reference.
  virtual void schedule(TaskHeader* task, ScheduleKind kind) = 0;
  // Unlinks a finished task from the owned-tasks list; true when it was linked there (the
  // caller then also drops the list's reference).
  virtual bool release(TaskHeader* task) = 0;

  void add_ref() {
    // ORDERING: relaxed; a new reference is made from an existing one.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_ref() {
    // ORDERING: acq_rel; the last owner must see all writes before destroying.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 protected:
  Scheduler() = default;
  virtual ~Scheduler() = default;

 private:
  Atomic<std::uint64_t> refs_{1};
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_SCHEDULER_H_
