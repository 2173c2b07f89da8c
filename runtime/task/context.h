// The poll context: how a leaf awaiter finds the task (or combinator branch) it suspends.
//
// Keel's coroutines resume one another by symmetric transfer, so only a *leaf* awaiter (a
// timer, fd readiness, a JoinHandle, a channel wait) ever really suspends a task. When it
// does, it records a ResumePoint (the coroutine to resume, and itself as the `Leaf` that says
// whether it is ready) in the current PollContext, and takes a Waker from it. When the task is
// polled again, the poller asks the leaf `poll_ready()` first: wake-ups may be spurious, and a
// leaf that is not ready leaves the task parked.
//
//   struct MyAwaiter : detail::Leaf {
//     bool await_ready() { return condition(); }
//     void await_suspend(std::coroutine_handle<> h) { waker_ = detail::suspend_leaf(h, this); }
//     bool poll_ready() override { return condition(); }
//     ...
//   };
//
// The context also carries the cooperative budget and the task-local values in scope.
//
// Thread-safety: thread-local; each polling thread has its own current context.
#ifndef KEEL_RUNTIME_TASK_CONTEXT_H_
#define KEEL_RUNTIME_TASK_CONTEXT_H_

#include <coroutine>
#include <cstdint>
#include <source_location>
#include <string>

#include "runtime/task/waker.h"

namespace keel {
class TaskHeader;
}

namespace keel::detail {

// Where a suspended task waits: the awaiter's name and the source location of the co_await.
struct AwaitPoint {
  const char* what = nullptr;
  // Unknown (line 0) for awaiters that are not given their caller's location, such as the
  // sockets' I/O operations.
  std::source_location where{};

  // How dumps and slow-poll reports name it: "what at file:line" (then " in function" when
  // asked), or `what` alone where the location is unknown.
  std::string describe(bool with_function = false) const {
    std::string s = what;
    if (where.line() == 0) return s;
    s.append(" at ").append(where.file_name()).append(":").append(std::to_string(where.line()));
    if (with_function) s.append(" in ").append(where.function_name());
    return s;
  }
};

// Base of every leaf awaiter.
class Leaf {
 public:
  // Whether the awaited event has happened; called by the poller before resuming. Runs on the
  // polling thread with the task's poll context current.
  virtual bool poll_ready() = 0;

  AwaitPoint await_point{};

 protected:
  ~Leaf() = default;
};

// A task-local value in scope: a singly linked stack, innermost first.
struct LocalBinding {
  const void* key;
  void* value;
  const LocalBinding* next;
};

// Where a suspended chain of coroutines continues.
struct ResumePoint {
  std::coroutine_handle<> handle{};
  Leaf* leaf = nullptr;  // null: resume unconditionally
  const LocalBinding* locals = nullptr;
};

struct PollContext {
  Wakeable* waker;              // borrowed; leaves clone it
  ResumePoint* resume;          // the slot the next suspending leaf fills
  TaskHeader* task;             // the spawned task being polled (for dumps)
  const LocalBinding* locals;   // task-locals in scope right now
};

inline thread_local PollContext* current_poll = nullptr;

[[noreturn]] void no_poll_context(const char* what);

// A new Waker for whatever is being polled on this thread (aborts outside a task: `what` names
// the awaiter in the message).
Waker current_waker(const char* what);
// Records `h` as where the current task continues once `leaf` is ready.
void park_current(std::coroutine_handle<> h, Leaf* leaf);
// Both of the above: the usual body of a leaf's await_suspend.
Waker suspend_leaf(std::coroutine_handle<> h, Leaf* leaf);

// Polls a resume point: asks its leaf, then resumes the chain until it suspends or finishes.
// Returns false when the leaf was not ready (nothing ran).
// The leaf is asked with `cx` current, so a leaf that drives nested work (Stream::next) can
// reach the poller's waker.
inline bool poll_resume_point(PollContext& cx, ResumePoint& rp) {
  PollContext* saved = current_poll;
  current_poll = &cx;
  if (rp.leaf != nullptr && !rp.leaf->poll_ready()) {
    current_poll = saved;
    return false;
  }
  std::coroutine_handle<> h = rp.handle;
  cx.locals = rp.locals;
  rp = ResumePoint{};
  h.resume();
  current_poll = saved;
  return true;
}

// Cooperative scheduling: each task poll may complete at most kCoopBudget resource
// operations (awaits that would have completed without suspending) before its leaf awaiters
// force a yield, so that a task looping on always-ready I/O cannot starve its siblings.
// 128 is Tokio's value: large enough that the yield costs nothing measurable, small enough
// that a sibling waits at most a few microseconds of such work.
inline constexpr int kCoopBudget = 128;
inline thread_local int coop_budget = kCoopBudget;
inline thread_local bool coop_enabled = false;

// Consumes one unit; false when the budget is spent and the caller must yield.
inline bool coop_proceed() {
  if (!coop_enabled) return true;
  if (coop_budget <= 0) return false;
  --coop_budget;
  return true;
}
inline bool coop_has_budget() { return !coop_enabled || coop_budget > 0; }

// Sets a fresh budget for one task poll and restores the previous on exit.
class CoopScope {
 public:
  CoopScope() : saved_budget_(coop_budget), saved_enabled_(coop_enabled) {
    coop_budget = kCoopBudget;
    coop_enabled = true;
  }
  ~CoopScope() {
    coop_budget = saved_budget_;
    coop_enabled = saved_enabled_;
  }
  CoopScope(const CoopScope&) = delete;
  CoopScope& operator=(const CoopScope&) = delete;

 private:
  int saved_budget_;
  bool saved_enabled_;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_TASK_CONTEXT_H_
