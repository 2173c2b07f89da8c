// yield_now(): lets the scheduler run other tasks before this one continues.
//
//   for (auto& item : big_batch) { process(item); co_await keel::yield_now(); }
//
// The task is re-queued behind the tasks already runnable (not in the LIFO slot), so a loop
// of yields cannot starve its siblings.
//
// Thread-safety: an awaiter belongs to one task.
#ifndef KEEL_RUNTIME_TASK_YIELD_H_
#define KEEL_RUNTIME_TASK_YIELD_H_

#include <coroutine>
#include <source_location>

#include "runtime/task/context.h"

namespace keel {

class [[nodiscard]] YieldNow final : public detail::Leaf {
 public:
  explicit YieldNow(std::source_location where) { await_point = {"yield_now", where}; }
  YieldNow(const YieldNow&) = delete;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    Waker w = detail::suspend_leaf(h, this);
    // Woken while running: the scheduler re-queues the task behind the others.
    w.wake_by_ref();
  }
  void await_resume() const noexcept {}
  bool poll_ready() override { return true; }
};

inline YieldNow yield_now(std::source_location where = std::source_location::current()) {
  return YieldNow(where);
}

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_YIELD_H_
