// CoopLeaf<Derived>: the await_ready/await_suspend pair of a leaf awaiter that spends the
// cooperative budget (see context.h), for awaiters that wait on a resource (a channel's
// value, capacity, a change) and register a waker with it.
//
//   class RecvAwaiter final : public detail::CoopLeaf<RecvAwaiter> {
//    public:
//     bool ready_now();        // done without waiting? (may do the work, e.g. take a value)
//     bool register_wait();    // registers `waker_`; false when it turned out ready meanwhile
//     bool poll_ready() override { ... re-check, re-register with `waker_` if needed ... }
//     Value await_resume();
//   };
//
// await_ready completes at once when ready_now() and the budget allows (spending one unit).
// await_suspend takes the task's waker into `waker_`; with the budget spent it yields first
// (parks and wakes itself, leaving registration to poll_ready on the next poll), otherwise it
// registers and parks, or resumes at once when register_wait() found the resource ready.
//
// Thread-safety: an awaiter belongs to one task.
#ifndef KEEL_RUNTIME_TASK_COOP_LEAF_H_
#define KEEL_RUNTIME_TASK_COOP_LEAF_H_

#include <coroutine>

#include "runtime/task/context.h"
#include "runtime/task/waker.h"

namespace keel::detail {

template <class Derived>
class CoopLeaf : public Leaf {
 public:
  bool await_ready() {
    if (!coop_has_budget() || !self().ready_now()) return false;
    coop_proceed();
    return true;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    waker_ = current_waker(await_point.what);
    if (!coop_has_budget()) {
      park_current(h, this);
      waker_.wake_by_ref();  // yield first; poll_ready() registers if still not ready
      return true;
    }
    if (!self().register_wait()) return false;
    park_current(h, this);
    return true;
  }

 protected:
  CoopLeaf() = default;
  ~CoopLeaf() = default;
  Derived& self() { return static_cast<Derived&>(*this); }

  Waker waker_;  // the task's, taken in await_suspend
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_TASK_COOP_LEAF_H_
