// Tests of sync::Mutex on every scheduler flavour: basic locking, FIFO hand-off, no barging,
// try_lock, guards moved across tasks, cancellation (queued and after a hand-off) and a
// multi-threaded stress test.
//
// Deterministic interleavings use join/select inside one task: the branches are polled in
// order, so "branch 0 queues first, branch 1 second" holds on every flavour. Waiting for
// other tasks is done by yielding (eventually), never by sleeping; timeouts use the paused
// clock.

#include "runtime/sync/mutex.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::sync {
namespace {

using std::chrono::milliseconds;
using testing::eventually;
using testing::settle;

using IntMutex = Mutex<std::uint64_t>;

Task<void> yield_task() { co_await yield_now(); }

KEEL_TEST(Mutex, LockGivesAccessAndUnlocksOnDestruction) {
  IntMutex m(5);
  {
    MutexGuard<std::uint64_t> g = co_await m.lock();
    EXPECT_EQ(*g, 5u);
    *g = 6;
    EXPECT_TRUE(m.is_locked());
    EXPECT_FALSE(m.try_lock().has_value());
  }
  EXPECT_FALSE(m.is_locked());
  std::optional<MutexGuard<std::uint64_t>> g = m.try_lock();
  KEEL_ASSERT_TRUE(g.has_value());
  EXPECT_EQ(**g, 6u);
  g->unlock();
  EXPECT_FALSE(g->owns_lock());
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.get_mut(), 6u);
}

KEEL_TEST(Mutex, GuardMoveTransfersOwnership) {
  IntMutex m(0);
  MutexGuard<std::uint64_t> a = co_await m.lock();
  MutexGuard<std::uint64_t> b = std::move(a);
  EXPECT_FALSE(a.owns_lock());  // NOLINT(bugprone-use-after-move): checking the moved-from
  EXPECT_TRUE(b.owns_lock());
  EXPECT_TRUE(m.is_locked());
  // Move-assigning over a held guard unlocks the old one first.
  IntMutex other(0);
  MutexGuard<std::uint64_t> c = co_await other.lock();
  c = std::move(b);
  EXPECT_FALSE(other.is_locked());
  EXPECT_TRUE(m.is_locked());
  c.unlock();
  EXPECT_FALSE(m.is_locked());
}

// Locks, records `id`, yields while holding the lock (so the others really queue), unlocks.
Task<void> lock_and_record(IntMutex* m, std::vector<int>* order, int id) {
  MutexGuard<std::uint64_t> g = co_await m->lock();
  order->push_back(id);
  co_await yield_now();
  ++*g;
}

Task<void> drop_guard_later(MutexGuard<std::uint64_t> g) {
  co_await yield_now();
  g.unlock();
}

KEEL_TEST(Mutex, WaitersAreServedInFifoOrder) {
  IntMutex m(0);
  std::vector<int> order;
  MutexGuard<std::uint64_t> g = co_await m.lock();
  // Branches 0..4 queue in order on the first poll; branch 5 then releases the lock.
  auto all = join(lock_and_record(&m, &order, 0), lock_and_record(&m, &order, 1),
                  lock_and_record(&m, &order, 2), lock_and_record(&m, &order, 3),
                  lock_and_record(&m, &order, 4), drop_guard_later(std::move(g)));
  co_await all;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(m.get_mut(), 5u);
  EXPECT_FALSE(m.is_locked());
}

Task<void> wait_lock(IntMutex* m, bool* got) {
  MutexGuard<std::uint64_t> g = co_await m->lock();
  *got = true;
}

// The unlock hands the lock to the queued waiter directly: nobody can take it in between,
// not even before the waiter has run.
Task<void> release_and_try_barge(IntMutex* m, MutexGuard<std::uint64_t> g, bool* barged) {
  EXPECT_FALSE(m->try_lock().has_value());
  g.unlock();
  *barged = m->try_lock().has_value();
  co_return;
}

KEEL_TEST(Mutex, UnlockHandsOffDirectlyWithoutBarging) {
  IntMutex m(0);
  bool got = false;
  bool barged = true;
  MutexGuard<std::uint64_t> g = co_await m.lock();
  auto both = join(wait_lock(&m, &got), release_and_try_barge(&m, std::move(g), &barged));
  co_await both;
  EXPECT_TRUE(got);
  EXPECT_FALSE(barged);
  EXPECT_FALSE(m.is_locked());
}

Task<void> add_under_lock(std::shared_ptr<IntMutex> m, std::uint64_t n) {
  MutexGuard<std::uint64_t> g = co_await m->lock();
  *g += n;
}

Task<void> finish_with_guard(MutexGuard<std::uint64_t> g) {
  co_await yield_now();
  *g += 100;
  g.unlock();  // on whatever worker runs this task
}

Task<MutexGuard<std::uint64_t>> lock_in_other_task(std::shared_ptr<IntMutex> m) {
  MutexGuard<std::uint64_t> g = co_await m->lock();
  *g += 1;
  co_return g;
}

KEEL_TEST(Mutex, GuardsMoveAcrossTasks) {
  auto m = std::make_shared<IntMutex>(0);
  MutexGuard<std::uint64_t> g = co_await m->lock();
  JoinHandle<void> waiter = spawn(add_under_lock(m, 10));
  JoinHandle<void> holder = spawn(finish_with_guard(std::move(g)));
  KEEL_ASSERT_OK(co_await std::move(holder));
  KEEL_ASSERT_OK(co_await std::move(waiter));
  // A guard taken in another task comes back through its JoinHandle still locked.
  absl::StatusOr<MutexGuard<std::uint64_t>> back = co_await spawn(lock_in_other_task(m));
  KEEL_ASSERT_OK(back);
  EXPECT_TRUE(m->is_locked());
  EXPECT_EQ(**back, 111u);
  back->unlock();
  EXPECT_FALSE(m->is_locked());
}

Task<int> lock_forever(IntMutex* m) {
  MutexGuard<std::uint64_t> g = co_await m->lock();
  co_return 1;
}

KEEL_TEST(Mutex, WaiterCancelledWhileQueuedLeavesNoTrace) {
  time::pause();
  IntMutex m(0);
  {
    MutexGuard<std::uint64_t> g = co_await m.lock();
    auto t = timeout(milliseconds(10), lock_forever(&m));
    absl::StatusOr<int> r = co_await std::move(t);
    EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  }
  // Had the cancelled waiter stayed queued, the unlock would have handed it the lock.
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock().has_value());
}

KEEL_TEST(Mutex, AbortedTaskWaitingForTheLockLeavesNoTrace) {
  auto m = std::make_shared<IntMutex>(0);
  MutexGuard<std::uint64_t> g = co_await m->lock();
  JoinHandle<void> h = spawn(add_under_lock(m, 1));
  co_await settle(20);
  EXPECT_FALSE(h.is_finished());
  h.abort();
  absl::Status s = co_await std::move(h);
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  g.unlock();
  EXPECT_FALSE(m->is_locked());
  EXPECT_EQ(m->get_mut(), 0u);
}

Task<std::size_t> race_waiter_against_release(IntMutex* m, MutexGuard<std::uint64_t> g) {
  auto race = select(lock_forever(m), drop_guard_later(std::move(g)));
  auto r = co_await race;
  co_return r.index();
}

// select(waiter, releaser): the releaser hands the lock to the waiter and finishes in the
// same poll, so select destroys the waiter after it was granted the lock but before it ran.
// Returns the select's winner; C queues behind the select's waiter (join polls branch 0
// first) and sets c_got once it has the lock.
Task<std::size_t> hand_off_then_c(IntMutex* m, MutexGuard<std::uint64_t> g, bool* c_got) {
  auto both = join(race_waiter_against_release(m, std::move(g)), wait_lock(m, c_got));
  auto [winner, unused] = co_await both;
  co_return winner;
}

KEEL_TEST(Mutex, WaiterCancelledAfterHandOffPassesTheLockOn) {
  time::pause();  // a lost hand-off leaves everything idle: the timeout then fails the test
  IntMutex m(0);
  bool c_got = false;
  MutexGuard<std::uint64_t> g = co_await m.lock();
  auto t = timeout(std::chrono::hours(1), hand_off_then_c(&m, std::move(g), &c_got));
  absl::StatusOr<std::size_t> winner = co_await std::move(t);
  KEEL_ASSERT_OK(winner);
  EXPECT_EQ(*winner, 1u);  // the releaser won; the granted waiter was destroyed
  EXPECT_TRUE(c_got);      // ... and its hand-off went to C
  EXPECT_FALSE(m.is_locked());
}

KEEL_TEST(Mutex, WaiterCancelledAfterHandOffWithNobodyBehindUnlocks) {
  IntMutex m(0);
  MutexGuard<std::uint64_t> g = co_await m.lock();
  auto race = select(lock_forever(&m), drop_guard_later(std::move(g)));
  auto winner = co_await race;
  EXPECT_EQ(winner.index(), 1u);
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock().has_value());
}

Task<void> set_flag(std::shared_ptr<std::atomic<bool>> flag) {
  flag->store(true);
  co_return;
}

// lock() spends the cooperative budget: a task looping on an uncontended lock still yields,
// so a sibling runs even on a single-threaded scheduler.
KEEL_TEST(Mutex, UncontendedLockLoopRespectsTheCoopBudget) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> sibling = spawn(set_flag(flag));
  IntMutex m(0);
  bool seen = false;
  for (int i = 0; i < 100000 && !seen; ++i) {
    MutexGuard<std::uint64_t> g = co_await m.lock();
    ++*g;
    seen = flag->load();
  }
  EXPECT_TRUE(seen);
  KEEL_ASSERT_OK(co_await std::move(sibling));
}

constexpr int kStressTasks = 8;
constexpr int kStressIncrements = 10000;

Task<void> increment_many(std::shared_ptr<IntMutex> m, std::shared_ptr<std::atomic<int>> inside) {
  for (int i = 0; i < kStressIncrements; ++i) {
    MutexGuard<std::uint64_t> g = co_await m->lock();
    // Mutual exclusion: nobody else is between lock and unlock.
    EXPECT_EQ(inside->fetch_add(1), 0);
    std::uint64_t v = *g;
    if (i % 64 == 0) co_await yield_now();  // hold the lock across a suspension now and then
    *g = v + 1;
    inside->fetch_sub(1);
  }
}

KEEL_TEST(Mutex, StressManyTasksExactTotal) {
  auto m = std::make_shared<IntMutex>(0);
  auto inside = std::make_shared<std::atomic<int>>(0);
  std::vector<JoinHandle<void>> hs;
  for (int t = 0; t < kStressTasks; ++t) hs.push_back(spawn(increment_many(m, inside)));
  for (auto& h : hs) KEEL_ASSERT_OK(co_await std::move(h));
  EXPECT_EQ(m->get_mut(), std::uint64_t{kStressTasks} * kStressIncrements);
  EXPECT_FALSE(m->is_locked());
}

// Stress with cancellation: waiters time out (real cancellations in the queue and after
// hand-offs) while others count; the lock must never be lost or doubly held.
Task<void> lock_with_cancels(std::shared_ptr<IntMutex> m, std::shared_ptr<std::atomic<int>> done) {
  for (int i = 0; i < 500; ++i) {
    if (i % 3 == 0) {
      // A waiter raced against a ready branch: cancelled queued, granted or never queued.
      auto race = select(add_under_lock(m, 1), yield_task());
      auto r = co_await race;
      if (r.index() == 0) done->fetch_add(1);
    } else {
      MutexGuard<std::uint64_t> g = co_await m->lock();
      ++*g;
      done->fetch_add(1);
    }
  }
}

KEEL_TEST(Mutex, StressWithCancelledWaitersLosesNothing) {
  auto m = std::make_shared<IntMutex>(0);
  auto done = std::make_shared<std::atomic<int>>(0);
  std::vector<JoinHandle<void>> hs;
  for (int t = 0; t < 6; ++t) hs.push_back(spawn(lock_with_cancels(m, done)));
  for (auto& h : hs) KEEL_ASSERT_OK(co_await std::move(h));
  EXPECT_EQ(m->get_mut(), static_cast<std::uint64_t>(done->load()));
  EXPECT_FALSE(m->is_locked());
  EXPECT_TRUE(m->try_lock().has_value());
}

}  // namespace
}  // namespace keel::sync
