// Tests of sync::CancellationToken on every scheduler flavour: cancel wakes awaiters, copies
// share state, the child tree (down, not up; born cancelled; unlinked when dropped), drop
// guards, run_until_cancelled, cancellation of a cancelled() awaiter, and a stress test that
// cancels a tree while children come and go.

#include "runtime/sync/cancellation_token.h"

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/sync/notify.h"
#include "runtime/test/keel_test.h"

namespace keel::sync {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using testing::eventually;
using testing::settle;

Task<int> wait_cancelled_then(CancellationToken t, int v) {
  co_await t.cancelled();
  co_return v;
}

Task<void> cancel_later(CancellationToken t) {
  co_await yield_now();
  t.cancel();
}

KEEL_TEST(CancellationToken, CancelWakesEveryAwaiter) {
  CancellationToken t;
  EXPECT_FALSE(t.is_cancelled());
  CancellationToken copy = t;
  EXPECT_TRUE(copy == t);
  auto all = join(wait_cancelled_then(t, 1), wait_cancelled_then(copy, 2), cancel_later(copy));
  auto [a, b, unused] = co_await all;
  EXPECT_EQ(a + b, 3);
  EXPECT_TRUE(t.is_cancelled());
  co_await t.cancelled();  // ready at once from now on
  t.cancel();              // idempotent
  EXPECT_TRUE(t.is_cancelled());
}

KEEL_TEST(CancellationToken, ChildrenFollowTheParentNotTheOtherWay) {
  CancellationToken root;
  CancellationToken child = root.child_token();
  CancellationToken grandchild = child.child_token();
  CancellationToken sibling = root.child_token();
  EXPECT_FALSE(child == root);
  child.cancel();
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_TRUE(grandchild.is_cancelled());
  EXPECT_FALSE(root.is_cancelled());
  EXPECT_FALSE(sibling.is_cancelled());
  auto all = join(wait_cancelled_then(sibling, 1), cancel_later(root));
  auto [v, unused] = co_await all;
  EXPECT_EQ(v, 1);
  EXPECT_TRUE(sibling.is_cancelled());
  // A child of a cancelled token is born cancelled.
  EXPECT_TRUE(root.child_token().is_cancelled());
}

KEEL_TEST(CancellationToken, DroppedChildrenAreUnlinked) {
  CancellationToken root;
  for (int i = 0; i < 1000; ++i) {
    CancellationToken c = root.child_token();
    CancellationToken gc = c.child_token();
    EXPECT_EQ(root.child_count(), 1u);
  }
  EXPECT_EQ(root.child_count(), 0u);
  CancellationToken kept = root.child_token();
  {
    CancellationToken copy = kept;  // a copy keeps the child alive and linked
  }
  EXPECT_EQ(root.child_count(), 1u);
  root.cancel();
  EXPECT_TRUE(kept.is_cancelled());
  co_return;
}

KEEL_TEST(CancellationToken, ChildKeepsItsParentStateAlive) {
  CancellationToken child;
  {
    CancellationToken root;
    child = root.child_token();
  }
  EXPECT_FALSE(child.is_cancelled());
  child.cancel();
  EXPECT_TRUE(child.is_cancelled());
  co_return;
}

KEEL_TEST(CancellationToken, DropGuardCancelsUnlessDisarmed) {
  CancellationToken a;
  {
    DropGuard g = a.drop_guard();
    DropGuard moved = std::move(g);
  }
  EXPECT_TRUE(a.is_cancelled());
  CancellationToken b;
  {
    DropGuard g = b.drop_guard();
    CancellationToken back = g.disarm();
    EXPECT_TRUE(back == b);
  }
  EXPECT_FALSE(b.is_cancelled());
  co_return;
}

Task<int> wait_for_notify(Notify* n, int v) {
  co_await n->notified();
  co_return v;
}

Task<void> finish_flag(std::shared_ptr<bool> destroyed_flag) {
  struct SetOnDestroy {
    std::shared_ptr<bool> f;
    ~SetOnDestroy() { *f = true; }
  } s{destroyed_flag};
  co_await sleep(hours(1));
}

KEEL_TEST(CancellationToken, RunUntilCancelled) {
  time::pause();
  CancellationToken t;
  // Not cancelled: the task's value.
  Notify n;
  n.notify_one();
  Task<std::optional<int>> first = t.run_until_cancelled(wait_for_notify(&n, 7));
  std::optional<int> v = co_await std::move(first);
  EXPECT_EQ(v, std::optional<int>(7));
  // Cancelled mid-way: nullopt, and the task is destroyed.
  auto destroyed = std::make_shared<bool>(false);
  auto both = join(t.run_until_cancelled(finish_flag(destroyed)), cancel_later(t));
  auto [r, unused] = co_await both;
  EXPECT_FALSE(r.has_value());
  EXPECT_TRUE(*destroyed);
  // Already cancelled: nullopt at once, even for a task that would be ready.
  n.notify_one();
  Task<std::optional<int>> last = run_until_cancelled(t, wait_for_notify(&n, 1));
  std::optional<int> w = co_await std::move(last);
  EXPECT_FALSE(w.has_value());
}

Task<int> wait_token(CancellationToken t) {
  co_await t.cancelled();
  co_return 1;
}

KEEL_TEST(CancellationToken, CancelledAwaiterDestroyedMidWaitLeavesNoTrace) {
  time::pause();
  CancellationToken t;
  auto w = timeout(milliseconds(5), wait_token(t));
  absl::StatusOr<int> r = co_await std::move(w);
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  // Aborting a spawned waiter too.
  JoinHandle<int> h = spawn(wait_token(t.child_token()));
  co_await settle(20);
  h.abort();
  absl::StatusOr<int> hr = co_await std::move(h);
  EXPECT_TRUE(absl::IsCancelled(hr.status()));
  // Cancelling afterwards must not touch the destroyed awaiters (ASan checks).
  t.cancel();
  EXPECT_EQ(t.child_count(), 0u);
}

// Tasks wait on short-lived grandchildren while others create and drop children; the root is
// cancelled from yet another task. Every waiter completes, and the tree shrinks back.
Task<void> churn_children(CancellationToken root, std::shared_ptr<std::atomic<bool>> stop) {
  while (!stop->load()) {
    CancellationToken c = root.child_token();
    CancellationToken gc = c.child_token();
    co_await yield_now();
  }
}

Task<int> wait_on_grandchild(CancellationToken root) {
  CancellationToken gc = root.child_token().child_token();
  co_await gc.cancelled();
  co_return 1;
}

KEEL_TEST(CancellationToken, StressCancelTreeWhileChildrenChurn) {
  CancellationToken root;
  auto stop = std::make_shared<std::atomic<bool>>(false);
  std::vector<JoinHandle<void>> churners;
  for (int i = 0; i < 3; ++i) churners.push_back(spawn(churn_children(root, stop)));
  std::vector<JoinHandle<int>> waiters;
  for (int i = 0; i < 50; ++i) waiters.push_back(spawn(wait_on_grandchild(root)));
  co_await settle(50);
  root.cancel();
  int done = 0;
  for (auto& h : waiters) {
    absl::StatusOr<int> r = co_await std::move(h);
    KEEL_ASSERT_OK(r);
    done += *r;
  }
  EXPECT_EQ(done, 50);
  stop->store(true);
  for (auto& h : churners) KEEL_ASSERT_OK(co_await std::move(h));
  EXPECT_EQ(root.child_count(), 0u);
}

}  // namespace
}  // namespace keel::sync
