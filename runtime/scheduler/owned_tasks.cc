#include "runtime/scheduler/owned_tasks.h"

#include "runtime/task/header.h"

namespace keel::detail {

bool OwnedTasks::bind(TaskHeader* task) {
  std::uint32_t index = static_cast<std::uint32_t>(task->id() % kShards);
  Shard& s = shards_[index];
  LockGuard lock(s.mu);
  if (s.closed) return false;
  task->owned_shard = index;
  s.tasks.push_front(task);
  task->owned_linked = true;
  ++s.count;
  ++s.bound;
  return true;
}

bool OwnedTasks::remove(TaskHeader* task) {
  Shard& s = shards_[task->owned_shard];
  LockGuard lock(s.mu);
  if (!task->owned_linked) return false;
  s.tasks.remove(task);
  task->owned_linked = false;
  --s.count;
  return true;
}

void OwnedTasks::close_and_shutdown_all() {
  for (Shard& s : shards_) {
    LockGuard lock(s.mu);
    s.closed = true;
  }
  // ORDERING: release; after this, is_closed() readers know no bind succeeds.
  closed_.store(true, std::memory_order_release);
  for (Shard& s : shards_) {
    for (;;) {
      TaskHeader* task;
      {
        LockGuard lock(s.mu);
        task = s.tasks.pop_front();
        if (task == nullptr) break;
        task->owned_linked = false;
        --s.count;
      }
      // Outside the lock: cancelling runs the task's destructors, which may spawn or wake.
      task->shutdown();
    }
  }
}

std::size_t OwnedTasks::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    LockGuard lock(s.mu);
    n += s.count;
  }
  return n;
}

void OwnedTasks::for_each(const std::function<void(const TaskHeader&)>& fn) const {
  for (const Shard& s : shards_) {
    LockGuard lock(s.mu);
    for (const TaskHeader* t = s.tasks.front(); t != nullptr; t = s.tasks.next(t)) fn(*t);
  }
}

std::uint64_t OwnedTasks::bound_total() const {
  std::uint64_t n = 0;
  for (const Shard& s : shards_) {
    LockGuard lock(s.mu);
    n += s.bound;
  }
  return n;
}

}  // namespace keel::detail
