// TaskHeader: the type-erased part of a spawned task, and the state machine that schedulers,
// wakers and JoinHandles drive (see state.h for the bits and their invariants).
//
// A spawned task is a `Cell<T>` (cell.h): this header, the root `Task<T>` and the output
// slot. Schedulers only see `TaskHeader*`: they call `run()` for each run-queue entry and
// `shutdown()` for each owned task when the runtime stops.
//
// Thread-safety: all state transitions are lock-free atomics on `state_`; the frames are
// touched only by the thread that set RUNNING.
#ifndef KEEL_RUNTIME_TASK_HEADER_H_
#define KEEL_RUNTIME_TASK_HEADER_H_

#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>

#include "runtime/detail/concurrency.h"
#include "runtime/task/context.h"
#include "runtime/task/state.h"
#include "runtime/task/waker.h"

namespace keel {

namespace detail {
class Scheduler;
}

// Options for spawn(): a name shows up in task dumps and slow-poll reports.
struct SpawnOptions {
  std::string_view name{};
};

class TaskHeader;

struct TaskVTable {
  // Polls the task; true when it finished (output stored, frames destroyed).
  bool (*poll)(TaskHeader*);
  // Destroys the frames and stores a "cancelled" output.
  void (*cancel)(TaskHeader*);
  // Destroys the output nobody will read.
  void (*drop_output)(TaskHeader*);
  void (*dealloc)(TaskHeader*);
};

class TaskHeader : public Wakeable {
 public:
  TaskHeader(const TaskVTable* vtable, detail::Scheduler* scheduler, SpawnOptions options,
             std::source_location spawned_at);
  TaskHeader(const TaskHeader&) = delete;
  TaskHeader& operator=(const TaskHeader&) = delete;

  // Runs one poll; the caller hands over the run-queue reference.
  void run();
  // Cancels the task as the runtime shuts down; the caller hands over the owned-list reference
  // (it has already unlinked the task).
  void shutdown();
  // Requests cancellation from any thread (JoinHandle::abort).
  void abort();
  // The scheduler refused the task (runtime closed): cancel it before it ever ran.
  void reject();

  // Wakeable.
  void wake_by_ref() override;
  void wake_by_val() override;
  void add_ref() override;
  void drop_ref() override;

  // JoinHandle protocol.
  bool is_complete() const;
  // Stores `waker` to be woken on completion; false when the task already completed.
  bool register_join_waker(const Waker& waker);
  // The JoinHandle goes away without reading the output.
  void drop_join_handle();

  std::uint64_t id() const { return id_; }
  std::string_view name() const { return name_ ? std::string_view(name_) : std::string_view(); }
  std::source_location spawned_at() const { return spawned_at_; }
  detail::Scheduler* scheduler() const { return scheduler_; }
  std::uint64_t state_for_dump() const {
    // ORDERING: relaxed; a dump shows a snapshot and orders nothing after it.
    return state_.load(std::memory_order_relaxed);
  }
  detail::AwaitPoint waiting_on() const;
  void set_waiting_on(const detail::AwaitPoint& point);

  // Intrusive links owned by the scheduler: run/inject queues and the owned-tasks list.
  TaskHeader* queue_next = nullptr;
  TaskHeader* owned_prev = nullptr;
  TaskHeader* owned_next = nullptr;
  std::uint32_t owned_shard = 0;
  bool owned_linked = false;

 protected:
  ~TaskHeader();

  detail::ResumePoint resume_{};

 private:
  void complete();
  void drop_refs(std::uint64_t n);

  detail::Atomic<std::uint64_t> state_{detail::task_state::kInitial};
  const TaskVTable* vtable_;
  detail::Scheduler* scheduler_;
  Waker join_waker_{};
  std::uint64_t id_;
  // Owned copy of the spawn name, or null (a std::string would add 24 bytes to every task).
  char* name_ = nullptr;
  std::source_location spawned_at_;
  // Written by the polling thread as the task suspends; read by dumps from any thread.
  detail::Atomic<const char*> waiting_what_{nullptr};
  detail::Atomic<std::source_location> waiting_where_{std::source_location{}};
};

namespace detail {
// A process-unique task id (never 0).
std::uint64_t next_task_id();
}  // namespace detail

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_HEADER_H_
