// Cell<T>: a spawned task's allocation: header, root Task<T>, and output slot.
//
// Internal to the runtime; users hold JoinHandle<T>.
#ifndef KEEL_RUNTIME_TASK_CELL_H_
#define KEEL_RUNTIME_TASK_CELL_H_

#include <exception>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/task/frame_allocator.h"
#include "runtime/task/header.h"
#include "runtime/task/task.h"

namespace keel {

// What awaiting a JoinHandle<T> gives: the value, or an error when the task was cancelled.
template <class T>
using JoinResult = std::conditional_t<std::is_void_v<T>, absl::Status, absl::StatusOr<T>>;

namespace detail {

template <class T>
class Cell final : public TaskHeader {
 public:
  Cell(Task<T> task, Scheduler* scheduler, SpawnOptions options, std::source_location where)
      : TaskHeader(&kVTable, scheduler, options, where), task_(std::move(task)) {
    resume_ = ResumePoint{task_.handle(), nullptr, nullptr};
  }

  static void* operator new(std::size_t size) { return frame_allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_deallocate(p, size); }

  // For the JoinHandle, after it saw COMPLETE: the result, or the captured exception rethrown.
  JoinResult<T> take_output() {
    if (panic_) std::rethrow_exception(std::exchange(panic_, nullptr));
    return std::move(*output_);
  }

 private:
  static bool poll(TaskHeader* header) {
    auto* self = static_cast<Cell*>(header);
    PollContext cx{self, &self->resume_, self, nullptr};
    if (!poll_resume_point(cx, self->resume_)) return false;
    if (!self->task_.done()) return false;
    try {
      if constexpr (std::is_void_v<T>) {
        self->task_.take_result();
        self->output_.emplace(absl::OkStatus());
      } else {
        self->output_.emplace(self->task_.take_result());
      }
    } catch (...) {
      self->panic_ = std::current_exception();
    }
    self->task_ = Task<T>();  // destroy the finished frame here, on the runtime's thread
    return true;
  }

  static void cancel(TaskHeader* header) {
    auto* self = static_cast<Cell*>(header);
    // Destroying the root frame destroys every frame and awaiter below it; each leaf awaiter
    // unregisters itself in its destructor.
    PollContext cx{self, &self->resume_, self, nullptr};
    PollContext* saved = current_poll;
    current_poll = &cx;
    self->task_ = Task<T>();
    current_poll = saved;
    self->resume_ = ResumePoint{};
    std::string_view name = self->name();
    self->output_.emplace(absl::CancelledError(absl::StrCat(
        "task ", self->id(), name.empty() ? "" : " '", absl::string_view(name.data(), name.size()),
        name.empty() ? "" : "'", " was cancelled")));
  }

  static void drop_output(TaskHeader* header) {
    auto* self = static_cast<Cell*>(header);
    self->output_.reset();
    self->panic_ = nullptr;
  }

  static void dealloc(TaskHeader* header) { delete static_cast<Cell*>(header); }

  static constexpr TaskVTable kVTable{&poll, &cancel, &drop_output, &dealloc};

  Task<T> task_;
  std::optional<JoinResult<T>> output_;
  std::exception_ptr panic_;
};

}  // namespace detail
}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_CELL_H_
