// OwnedTasks: every live task of a runtime, for shutdown and task dumps.
//
// A task is linked when spawned and unlinked when it completes. The list is sharded by task id
// so that workers spawning and completing tasks at once rarely meet on one lock. `close()`
// makes later binds fail (spawning on a runtime that is shutting down cancels the task).
//
// Thread-safety: all methods are safe from any thread.
#ifndef KEEL_RUNTIME_SCHEDULER_OWNED_TASKS_H_
#define KEEL_RUNTIME_SCHEDULER_OWNED_TASKS_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "runtime/detail/concurrency.h"
#include "runtime/detail/intrusive_list.h"
#include "runtime/task/header.h"

namespace keel::detail {

class OwnedTasks {
 public:
  OwnedTasks() = default;
  OwnedTasks(const OwnedTasks&) = delete;
  OwnedTasks& operator=(const OwnedTasks&) = delete;

  // Links the task; false once the list is closed.
  bool bind(TaskHeader* task);
  // Unlinks the task; false when it was not linked.
  bool remove(TaskHeader* task);
  // Refuses further binds, then unlinks every task and calls TaskHeader::shutdown() on it.
  void close_and_shutdown_all();
  bool is_closed() const {
    // ORDERING: acquire pairs with close_and_shutdown_all()'s release.
    return closed_.load(std::memory_order_acquire);
  }
  std::size_t size() const;
  // Tasks ever bound (the spawned-tasks metric, counted under the locks bind() takes anyway,
  // so spawning pays no extra shared atomic).
  std::uint64_t bound_total() const;
  // Calls fn on each live task while its shard is locked (the task stays alive meanwhile).
  void for_each(const std::function<void(const TaskHeader&)>& fn) const;

 private:
  // 64 shards: well above the worker count this runtime targets, so two workers touching
  // different tasks almost never share a lock; small enough to walk for dumps and shutdown.
  static constexpr std::size_t kShards = 64;
  struct alignas(kCacheLine) Shard {
    mutable Mutex mu;
    IntrusiveList<TaskHeader, &TaskHeader::owned_prev, &TaskHeader::owned_next> tasks;
    std::size_t count = 0;
    std::uint64_t bound = 0;
    bool closed = false;
  };
  Shard shards_[kShards];
  Atomic<bool> closed_{false};
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_OWNED_TASKS_H_
