// TaskLocal<T>: a value scoped to a task (and the coroutines it awaits), like a thread_local
// that follows the task across threads and suspensions.
//
//   keel::TaskLocal<std::string> request_id;
//   co_await request_id.scope("req-42", handle_request());
//   ...  // inside handle_request() and everything it awaits:
//   const std::string* id = request_id.get();   // "req-42"; null outside any scope
//
// Scopes nest (the innermost wins) and are restored at every resume, so concurrent branches
// of join/select each see their own scope. Spawned tasks do not inherit scopes.
//
// Thread-safety: get() reads the calling task's binding; a TaskLocal object is a key and may
// be shared (typically a global).
#ifndef KEEL_RUNTIME_TASK_TASK_LOCAL_H_
#define KEEL_RUNTIME_TASK_TASK_LOCAL_H_

#include <utility>

#include "runtime/task/context.h"
#include "runtime/task/task.h"

namespace keel {

template <class T>
class TaskLocal {
 public:
  TaskLocal() = default;
  TaskLocal(const TaskLocal&) = delete;
  TaskLocal& operator=(const TaskLocal&) = delete;

  // Runs `task` with this key bound to `value`.
  template <class R>
  Task<R> scope(T value, Task<R> task) const {
    return scoped(this, std::move(value), std::move(task));
  }

  // The value bound in the current task's innermost scope, or null.
  T* get() const {
    detail::PollContext* cx = detail::current_poll;
    if (cx == nullptr) return nullptr;
    for (const detail::LocalBinding* b = cx->locals; b != nullptr; b = b->next) {
      if (b->key == this) return static_cast<T*>(b->value);
    }
    return nullptr;
  }

 private:
  template <class R>
  static Task<R> scoped(const TaskLocal* key, T value, Task<R> task) {
    detail::PollContext* cx = detail::current_poll;
    if (cx == nullptr) detail::no_poll_context("TaskLocal::scope");
    detail::LocalBinding binding{key, &value, cx->locals};
    cx->locals = &binding;
    struct Restore {
      const detail::LocalBinding* self;
      ~Restore() {
        // Only when this scope is the innermost of the running context (a frame destroyed by
        // cancellation may run this with another context current).
        detail::PollContext* now = detail::current_poll;
        if (now != nullptr && now->locals == self) now->locals = self->next;
      }
    } restore{&binding};
    co_return co_await std::move(task);
  }
};

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_TASK_LOCAL_H_
