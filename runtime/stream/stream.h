// Stream<T>: an async generator, Keel's analogue of a tokio-stream `Stream`.
//
// A function returning Stream<T> is a coroutine that may both `co_await` and `co_yield`. The
// consumer pulls values one at a time with `co_await s.next()`, which gives std::optional<T>:
// a value, or std::nullopt once the generator has returned. An exception that escapes the
// generator is rethrown from the `next()` that was running it.
//
//   keel::Stream<int> ticks(int n) {
//     for (int i = 0; i < n; ++i) {
//       co_await keel::sleep(std::chrono::milliseconds(10));
//       co_yield i;
//     }
//   }
//   keel::Task<void> consume() {
//     auto s = ticks(3);
//     while (std::optional<int> v = co_await s.next()) use(*v);
//   }
//
// Like Task, a Stream is lazy (nothing runs before the first next()) and owns its frame:
// destroying the Stream destroys the generator at its suspension point.
//
// Cancellation: `next()` is cancellation-safe. If the task awaiting next() is destroyed (it
// lost a `select`, a `timeout` expired, it was aborted) while the generator is suspended
// inside one of its own awaits, the generator stays suspended there, and the next call to
// next() (from any task) carries on from that point: nothing the generator produced or
// consumed is lost. This works because the generator is driven the way a poller drives a
// task: next() runs it under a poll context of the stream's own, so the generator's innermost
// suspension point is kept in the Stream rather than in the awaiting task, and the stream's
// waker forwards wake-ups to whichever task is currently awaiting next().
//
// Lifetimes: the generator keeps its parameters alive (copied into its frame) but not what
// references point to; take what it needs by value. Never write a capturing lambda coroutine.
//
// Thread-safety: a Stream is used by one task at a time (it may move between tasks and
// threads between calls to next()).
#ifndef KEEL_RUNTIME_STREAM_STREAM_H_
#define KEEL_RUNTIME_STREAM_STREAM_H_

#include <coroutine>
#include <exception>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "runtime/detail/concurrency.h"
#include "runtime/task/context.h"
#include "runtime/task/task.h"
#include "runtime/task/waker.h"

namespace keel {

template <class T>
class Stream;

namespace detail {

// The waker every leaf inside a generator clones: it forwards a wake-up to the task that is
// awaiting next() right now (set on each poll), so a wake-up registered while an earlier task
// was awaiting still reaches the current one. Heap-allocated and counted, because an event
// source may hold a clone after the generator frame is gone.
class StreamWaker final : public Wakeable {
 public:
  static StreamWaker* create() { return new StreamWaker(); }

  // Points the forwarder at the awaiting task's waker.
  void set_target(Waker w) {
    LockGuard lock(mu_);
    target_ = std::move(w);
  }
  void clear_target() {
    Waker old;
    {
      LockGuard lock(mu_);
      old.swap(target_);
    }
  }

  void wake_by_ref() override {
    Waker w;
    {
      LockGuard lock(mu_);
      w = target_;
    }
    w.wake_by_ref();
  }
  void add_ref() override {
    // ORDERING: taking a reference needs no ordering; the caller already holds one.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_ref() override {
    // ORDERING: acq_rel so that every use by other holders happens before the delete.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  StreamWaker() = default;
  Atomic<int> refs_{1};
  Mutex mu_;
  Waker target_;
};

template <class T>
class StreamPromise final : public FrameAllocated {
 public:
  StreamPromise() = default;
  ~StreamPromise() {
    if (waker_ != nullptr) waker_->drop_ref();
  }

  Stream<T> get_return_object() noexcept;
  std::suspend_always initial_suspend() noexcept { return {}; }
  // Finishing returns control to whoever resumed the generator (the stream's poll).
  std::suspend_always final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }
  void return_void() noexcept {}

  template <class U = T>
    requires std::is_constructible_v<T, U&&>
  std::suspend_always yield_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(value));
    return {};
  }

  // Runs the generator until it yields, finishes or suspends at a leaf. Returns true when a
  // result (value, end or exception) is ready for the consumer.
  bool poll(std::coroutine_handle<StreamPromise> self) {
    if (value_.has_value() || self.done()) return true;
    PollContext* outer = current_poll;
    if (outer == nullptr) no_poll_context("Stream::next");
    if (waker_ == nullptr) waker_ = StreamWaker::create();
    waker_->set_target(Waker::clone_from(outer->waker));
    PollContext inner{waker_, &resume_, outer->task, outer->locals};
    if (resume_.handle == nullptr) {
      // Not suspended at a leaf: the generator is at its start or just yielded.
      resume_ = ResumePoint{self, nullptr, outer->locals};
    }
    poll_resume_point(inner, resume_);  // restores `outer` as the current context
    if (value_.has_value() || self.done()) {
      waker_->clear_target();  // do not keep the consumer alive past its wait
      return true;
    }
    return false;
  }

  std::optional<T> take() {
    if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
    if (value_.has_value()) {
      std::optional<T> out(std::move(value_));
      value_.reset();
      return out;
    }
    return std::nullopt;
  }

 private:
  std::optional<T> value_;
  std::exception_ptr exception_;
  ResumePoint resume_{};
  StreamWaker* waker_ = nullptr;
};

}  // namespace detail

template <class T>
class [[nodiscard]] Stream {
  static_assert(std::is_object_v<T> && !std::is_const_v<T>,
                "Stream<T> yields values: T must be a non-const object type");

 public:
  using promise_type = detail::StreamPromise<T>;
  using value_type = T;
  using Handle = std::coroutine_handle<promise_type>;

  Stream() noexcept = default;
  explicit Stream(Handle h) noexcept : frame_(h) {}
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  bool valid() const noexcept { return static_cast<bool>(frame_); }

  // The awaiter next() returns: a leaf that polls the generator.
  class [[nodiscard]] NextAwaiter final : public detail::Leaf {
   public:
    NextAwaiter(Handle h, std::source_location where) : h_(h) {
      await_point = {"Stream::next", where};
    }
    NextAwaiter(const NextAwaiter&) = delete;
    NextAwaiter& operator=(const NextAwaiter&) = delete;

    bool await_ready() const noexcept { return !h_ || h_.done(); }
    bool await_suspend(std::coroutine_handle<> consumer) {
      if (h_.promise().poll(h_)) return false;  // ready without waiting: resume at once
      detail::park_current(consumer, this);
      return true;
    }
    std::optional<T> await_resume() {
      if (!h_) return std::nullopt;
      return h_.promise().take();
    }
    bool poll_ready() override { return h_.promise().poll(h_); }

   private:
    Handle h_;
  };

  // The next value, or nullopt once the generator has finished. A finished Stream keeps
  // answering nullopt. Await it at once; the Stream must outlive the await.
  NextAwaiter next(std::source_location where = std::source_location::current()) {
    return NextAwaiter(frame_.get(), where);
  }

 private:
  detail::UniqueCoroutine<promise_type> frame_;
};

namespace detail {
template <class T>
Stream<T> StreamPromise<T>::get_return_object() noexcept {
  return Stream<T>(std::coroutine_handle<StreamPromise<T>>::from_promise(*this));
}

template <class T>
struct IsStream : std::false_type {};
template <class T>
struct IsStream<Stream<T>> : std::true_type {};
}  // namespace detail

template <class S>
concept StreamType = detail::IsStream<std::remove_cvref_t<S>>::value;

// A Task that awaits one next() of `s`, for combinators that take Tasks (select, timeout).
// `s` must outlive the Task.
template <class T>
Task<std::optional<T>> next_task(Stream<T>& s) {
  co_return co_await s.next();
}

}  // namespace keel

#endif  // KEEL_RUNTIME_STREAM_STREAM_H_
