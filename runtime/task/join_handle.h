// JoinHandle<T>: the owner's side of a spawned task.
//
//   keel::JoinHandle<int> h = keel::spawn(compute());
//   absl::StatusOr<int> v = co_await std::move(h);   // or co_await h
//   h.abort();                                        // cancel (the task is destroyed at its
//                                                     // suspension point)
//
// Awaiting gives the task's value (absl::Status for Task<void>), or a CANCELLED status when the
// task was aborted or the runtime shut down. An exception that escaped the task is rethrown
// to the awaiter. Dropping the handle detaches the task: it keeps running. A handle can be
// awaited once.
//
// Thread-safety: one handle is used by one task at a time; abort() and is_finished() may race
// with the task running on another worker.
#ifndef KEEL_RUNTIME_TASK_JOIN_HANDLE_H_
#define KEEL_RUNTIME_TASK_JOIN_HANDLE_H_

#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <source_location>
#include <utility>

#include "runtime/task/cell.h"
#include "runtime/task/context.h"

namespace keel {

template <class T>
class [[nodiscard]] JoinHandle {
 public:
  JoinHandle() = default;
  explicit JoinHandle(detail::Cell<T>* cell) : cell_(cell) {}
  JoinHandle(JoinHandle&& other) noexcept : cell_(std::exchange(other.cell_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      reset();
      cell_ = std::exchange(other.cell_, nullptr);
    }
    return *this;
  }
  ~JoinHandle() { reset(); }

  // Requests cancellation; the task is destroyed at its next suspension point (or right away
  // when it is idle). Awaiting the handle then gives a CANCELLED status.
  void abort() {
    if (cell_) cell_->abort();
  }
  bool is_finished() const { return cell_ == nullptr || cell_->is_complete(); }
  std::uint64_t id() const { return cell_ ? cell_->id() : 0; }
  bool valid() const { return cell_ != nullptr; }

  class Awaiter final : public detail::Leaf {
   public:
    explicit Awaiter(JoinHandle& handle) : handle_(handle) {
      // operator co_await cannot see the caller's line, so dumps and slow-poll reports name
      // the awaited task by where it was spawned instead.
      if (handle.cell_ != nullptr) {
        await_point = {"JoinHandle of the task spawned", handle.cell_->spawned_at()};
      }
    }
    Awaiter(const Awaiter&) = delete;
    ~Awaiter() = default;

    bool await_ready() {
      if (handle_.cell_ == nullptr) std::abort();  // awaited twice, or a moved-from handle
      if (!detail::coop_has_budget()) return false;
      if (!handle_.cell_->is_complete()) return false;
      detail::coop_proceed();
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      Waker w = detail::current_waker("JoinHandle");
      if (!detail::coop_has_budget()) {
        // Out of budget: park as if pending, and ask to be polled again after the others.
        handle_.cell_->register_join_waker(w);
        detail::park_current(h, this);
        w.wake_by_ref();
        return true;
      }
      if (!handle_.cell_->register_join_waker(w)) return false;  // completed meanwhile
      detail::park_current(h, this);
      return true;
    }
    bool poll_ready() override { return handle_.cell_->is_complete(); }
    JoinResult<T> await_resume() {
      detail::Cell<T>* cell = std::exchange(handle_.cell_, nullptr);
      struct Release {
        detail::Cell<T>* cell;
        ~Release() { cell->drop_join_handle(); }
      } release{cell};
      return cell->take_output();
    }

   private:
    JoinHandle& handle_;
  };

  Awaiter operator co_await() & { return Awaiter(*this); }
  Awaiter operator co_await() && { return Awaiter(*this); }

  // For the runtime: the task behind the handle.
  TaskHeader* header() const { return cell_; }
  detail::Cell<T>* cell() const { return cell_; }

 private:
  void reset() {
    if (cell_) std::exchange(cell_, nullptr)->drop_join_handle();
  }
  detail::Cell<T>* cell_ = nullptr;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_JOIN_HANDLE_H_
