// LocalQueue: FIFO order, steal-half, overflow to the global queue, and a multi-threaded
// stress in which an owner pushes and pops while stealers steal: every task is taken exactly
// once. Runs under ThreadSanitizer in CI.

#include "runtime/scheduler/multi_thread/queue.h"

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/scheduler/scheduler.h"
#include "runtime/task/cell.h"

namespace keel::detail {
namespace {

// Real task headers (the overflow path links them), owned by a scheduler that never runs them.
class NullScheduler final : public Scheduler {
 public:
  void schedule(TaskHeader*, ScheduleKind) override {}
  bool release(TaskHeader*) override { return false; }
};

class Tasks {
 public:
  explicit Tasks(std::size_t n) {
    sched_ = new NullScheduler;
    for (std::size_t i = 0; i < n; ++i) {
      auto* c = new Cell<void>(Task<void>(), sched_, {}, std::source_location::current());
      index_[c] = i;
      cells_.push_back(c);
    }
  }
  ~Tasks() {
    for (Cell<void>* c : cells_) {
      for (int i = 0; i < 3; ++i) c->drop_ref();  // the three initial references
    }
    sched_->drop_ref();
  }
  TaskHeader* operator[](std::size_t i) const { return cells_[i]; }
  std::size_t index(TaskHeader* t) const { return index_.at(t); }
  std::size_t size() const { return cells_.size(); }

 private:
  NullScheduler* sched_;
  std::vector<Cell<void>*> cells_;
  std::unordered_map<const TaskHeader*, std::size_t> index_;
};

TEST(LocalQueue, PopsInFifoOrder) {
  Tasks tasks(10);
  // Queues live on the heap: their cache-line alignment is more than ASan's fake stack frames
  // (detect_stack_use_after_return) guarantee.
  auto qp = std::make_unique<LocalQueue>();
  LocalQueue& q = *qp;
  Inject inject;
  for (std::size_t i = 0; i < tasks.size(); ++i) EXPECT_FALSE(q.push_back(tasks[i], inject));
  EXPECT_EQ(q.len(), 10u);
  for (std::size_t i = 0; i < tasks.size(); ++i) EXPECT_EQ(q.pop(), tasks[i]);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(LocalQueue, StealTakesHalf) {
  Tasks tasks(10);
  auto vp = std::make_unique<LocalQueue>();
  auto tp = std::make_unique<LocalQueue>();
  LocalQueue& victim = *vp;
  LocalQueue& thief = *tp;
  Inject inject;
  for (std::size_t i = 0; i < tasks.size(); ++i) victim.push_back(tasks[i], inject);
  std::uint32_t stolen = 0;
  TaskHeader* first = victim.steal_into(thief, &stolen);
  EXPECT_EQ(stolen, 5u);
  EXPECT_NE(first, nullptr);
  EXPECT_EQ(thief.len(), 4u);  // one of the five is returned to run
  EXPECT_EQ(victim.len(), 5u);
  EXPECT_EQ(victim.pop(), tasks[5]);
}

TEST(LocalQueue, OverflowMovesHalfToTheGlobalQueue) {
  Tasks tasks(LocalQueue::kCapacity + 1);
  auto qp = std::make_unique<LocalQueue>();
  LocalQueue& q = *qp;
  Inject inject;
  for (std::size_t i = 0; i < LocalQueue::kCapacity; ++i) EXPECT_FALSE(q.push_back(tasks[i], inject));
  EXPECT_TRUE(q.push_back(tasks[LocalQueue::kCapacity], inject));
  EXPECT_EQ(inject.len(), LocalQueue::kCapacity / 2 + 1);
  EXPECT_EQ(q.len(), LocalQueue::kCapacity / 2);
  // The oldest half went to the global queue, in order, then the new task.
  for (std::size_t i = 0; i < LocalQueue::kCapacity / 2; ++i) EXPECT_EQ(inject.pop(), tasks[i]);
  EXPECT_EQ(inject.pop(), tasks[LocalQueue::kCapacity]);
  for (std::size_t i = LocalQueue::kCapacity / 2; i < LocalQueue::kCapacity; ++i) {
    EXPECT_EQ(q.pop(), tasks[i]);
  }
}

TEST(LocalQueueStress, EveryTaskTakenExactlyOnce) {
#if defined(KEEL_SANITIZER)
  constexpr std::size_t kTotal = 20'000;
#else
  constexpr std::size_t kTotal = 400'000;
#endif
  constexpr std::size_t kDistinct = 4096;  // headers reused round-robin; ids are counted
  Tasks tasks(kDistinct);
  auto owner_ptr = std::make_unique<LocalQueue>();
  LocalQueue& owner = *owner_ptr;
  Inject inject;
  std::vector<std::atomic<std::uint32_t>> taken(kTotal);
  // Each slot of the ring carries a task; we track which push it was by a side table written
  // before the push (release by the ring's tail store) and read after the take.
  std::vector<std::atomic<std::size_t>> seq_of(kDistinct);
  std::atomic<bool> done{false};
  std::atomic<std::size_t> taken_count{0};

  // ORDERING: seq_of is published with release before the push and read with acquire after
  // the take (the ring's own release/acquire orders it too); counts are relaxed, read after
  // the stealers are joined.
  auto take = [&](TaskHeader* t) {
    std::size_t seq = seq_of[tasks.index(t)].load(std::memory_order_acquire);
    taken[seq].fetch_add(1, std::memory_order_relaxed);
    taken_count.fetch_add(1, std::memory_order_relaxed);
  };

  std::vector<std::thread> stealers;
  for (int s = 0; s < 3; ++s) {
    stealers.emplace_back([&] {
      auto mine_ptr = std::make_unique<LocalQueue>();
      LocalQueue& mine = *mine_ptr;
      while (!done.load(std::memory_order_acquire)) {
        std::uint32_t n = 0;
        if (TaskHeader* t = owner.steal_into(mine, &n)) {
          take(t);
          while (TaskHeader* u = mine.pop()) take(u);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  // The owner pushes kTotal tasks, popping some itself; a header is reused only after its
  // previous use was taken (so seq_of is never overwritten while in a queue).
  std::vector<std::size_t> in_flight_seq(kDistinct, SIZE_MAX);
  std::size_t pushed = 0;
  while (pushed < kTotal) {
    std::size_t slot = pushed % kDistinct;
    std::size_t prev = in_flight_seq[slot];
    if (prev != SIZE_MAX && taken[prev].load(std::memory_order_acquire) == 0) {
      if (TaskHeader* t = owner.pop()) take(t);
      while (TaskHeader* t = inject.pop()) take(t);
      continue;
    }
    seq_of[slot].store(pushed, std::memory_order_release);
    in_flight_seq[slot] = pushed;
    owner.push_back(tasks[slot], inject);
    ++pushed;
    if (pushed % 3 == 0) {
      if (TaskHeader* t = owner.pop()) take(t);
    }
  }
  while (taken_count.load() < kTotal) {
    if (TaskHeader* t = owner.pop()) take(t);
    if (TaskHeader* t = inject.pop()) take(t);
  }
  done.store(true, std::memory_order_release);
  for (auto& th : stealers) th.join();
  std::size_t wrong = 0;
  for (auto& t : taken) wrong += t.load() != 1;
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(taken_count.load(), kTotal);
}

}  // namespace
}  // namespace keel::detail
