// Inject: the global injection queue: tasks scheduled from outside a worker, and the overflow
// of full local rings.
//
// A mutex-guarded intrusive FIFO with an atomic length so that workers check for work without
// taking the lock. Closing it (runtime shutdown) makes later pushes fail.
//
// Woken tasks may jump the queue (push_front): a task woken by its event is waiting on
// latency, while the global queue's tail is where floods of never-polled spawns land (a ring
// overflowing while one task spawns a million). Behind such a flood a timer wake-up would
// wait for the whole backlog.
//
// Thread-safety: all methods are safe from any thread.
#ifndef KEEL_RUNTIME_SCHEDULER_INJECT_H_
#define KEEL_RUNTIME_SCHEDULER_INJECT_H_

#include <cstddef>

#include "runtime/detail/concurrency.h"
#include "runtime/scheduler/task_list.h"

namespace keel::detail {

class Inject {
 public:
  // False when closed (the caller keeps the task's reference).
  bool push(TaskHeader* t) {
    LockGuard lock(mu_);
    if (closed_) return false;
    list_.push_back(t);
    // ORDERING: release; pairs with is_empty()'s acquire so a worker that sees the length
    // also finds the task under the lock.
    len_.store(list_.size(), std::memory_order_release);
    return true;
  }
  // Pushes a woken task at the head; false when closed.
  bool push_front(TaskHeader* t) {
    LockGuard lock(mu_);
    if (closed_) return false;
    list_.push_front(t);
    // ORDERING: release; see push().
    len_.store(list_.size(), std::memory_order_release);
    return true;
  }
  // Pushes a chain of n tasks linked through queue_next; false when closed.
  bool push_chain(TaskHeader* first, TaskHeader* last, std::size_t n) {
    LockGuard lock(mu_);
    if (closed_) return false;
    list_.push_chain(first, last, n);
    // ORDERING: release; see push().
    len_.store(list_.size(), std::memory_order_release);
    return true;
  }
  TaskHeader* pop() {
    if (is_empty()) return nullptr;
    LockGuard lock(mu_);
    TaskHeader* t = list_.pop_front();
    // ORDERING: relaxed; readers re-check under the lock.
    len_.store(list_.size(), std::memory_order_relaxed);
    return t;
  }
  bool is_empty() const {
    // ORDERING: acquire; see push().
    return len_.load(std::memory_order_acquire) == 0;
  }
  std::size_t len() const { return len_.load(std::memory_order_relaxed); }
  // Refuses later pushes; returns whatever is queued for the caller to drain.
  TaskList close() {
    LockGuard lock(mu_);
    closed_ = true;
    TaskList out = list_;
    list_ = TaskList();
    len_.store(0, std::memory_order_relaxed);
    return out;
  }
  bool is_closed() const {
    LockGuard lock(mu_);
    return closed_;
  }

 private:
  mutable Mutex mu_;
  TaskList list_;
  bool closed_ = false;
  Atomic<std::size_t> len_{0};
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_INJECT_H_
