// Task<T>: Keel's lazy coroutine type.
//
// A function returning Task<T> is a coroutine that does nothing until it is awaited or
// spawned. Awaiting a Task from another coroutine starts it inline by symmetric transfer: no
// trip through the scheduler and no allocation beyond its frame (frames are recycled, see
// frame_allocator.h). An exception that escapes the coroutine is captured and rethrown to the
// awaiter.
//
//   keel::Task<int> answer() { co_return 42; }
//   keel::Task<void> run() {
//     int v = co_await answer();
//     ...
//   }
//
// A Task owns its frame: destroying a Task that has not finished destroys the suspended
// coroutine and everything it awaits (that is how cancellation works, see DESIGN.md).
//
// Coroutine lifetimes: a Task keeps its parameters alive (copied into the frame) but not what
// references point to. Take what you need by value unless the caller awaits the task at once;
// never write a capturing lambda coroutine.
//
// Thread-safety: a Task is a unique owner, moved between threads but not shared.
#ifndef KEEL_RUNTIME_TASK_TASK_H_
#define KEEL_RUNTIME_TASK_TASK_H_

#include <coroutine>
#include <cstdlib>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "runtime/task/frame_allocator.h"

namespace keel {

template <class T = void>
class Task;

namespace detail {

// Frames come from the recycling allocator.
struct FrameAllocated {
  static void* operator new(std::size_t size) { return frame_allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_deallocate(p, size); }
};

class PromiseBase : public FrameAllocated {
 public:
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      std::coroutine_handle<> next = h.promise().continuation_;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };

  std::suspend_always initial_suspend() noexcept { return {}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }
  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }

 protected:
  void rethrow_if_failed() {
    if (exception_) std::rethrow_exception(exception_);
  }
  std::coroutine_handle<> continuation_{};
  std::exception_ptr exception_{};
};

template <class T>
class Promise final : public PromiseBase {
 public:
  Promise() noexcept {}
  ~Promise() {
    if (has_value_) value_.~T();
  }
  Task<T> get_return_object() noexcept;
  template <class U>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(&value_)) T(std::forward<U>(v));
    has_value_ = true;
  }
  T take() {
    rethrow_if_failed();
    return std::move(value_);
  }

 private:
  union {
    T value_;
  };
  bool has_value_ = false;
};

template <>
class Promise<void> final : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() { rethrow_if_failed(); }
};

// Owns a coroutine frame: destroys it (wherever it is suspended) unless released. The one
// owning handle behind Task and Stream.
template <class P>
class UniqueCoroutine {
 public:
  UniqueCoroutine() noexcept = default;
  explicit UniqueCoroutine(std::coroutine_handle<P> h) noexcept : h_(h) {}
  UniqueCoroutine(UniqueCoroutine&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  UniqueCoroutine& operator=(UniqueCoroutine&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  ~UniqueCoroutine() { reset(); }

  std::coroutine_handle<P> get() const noexcept { return h_; }
  std::coroutine_handle<P> release() noexcept { return std::exchange(h_, {}); }
  void reset() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }
  explicit operator bool() const noexcept { return static_cast<bool>(h_); }

 private:
  std::coroutine_handle<P> h_{};
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;
  using Handle = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  explicit Task(Handle h) noexcept : frame_(h) {}
  Task(Task&&) noexcept = default;
  Task& operator=(Task&&) noexcept = default;
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  bool valid() const noexcept { return static_cast<bool>(frame_); }
  bool done() const noexcept { return frame_.get().done(); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle h;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
        h.promise().set_continuation(parent);
        return h;
      }
      T await_resume() { return h.promise().take(); }
    };
    if (!frame_) std::abort();  // awaiting a moved-from Task is a bug
    return Awaiter{frame_.get()};
  }

  // For schedulers and combinators: the root coroutine and its result.
  Handle handle() const noexcept { return frame_.get(); }
  T take_result() { return frame_.get().promise().take(); }
  Handle release() noexcept { return frame_.release(); }

 private:
  detail::UniqueCoroutine<promise_type> frame_;
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}

template <class T>
struct IsTask : std::false_type {};
template <class T>
struct IsTask<Task<T>> : std::true_type {};
}  // namespace detail

template <class T>
concept TaskType = detail::IsTask<std::remove_cvref_t<T>>::value;

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_TASK_H_
