// Tests of sync::Notify on every scheduler flavour: the stored permit, FIFO notify_one,
// notify_waiters (no permit, and awaiters created before the call), cancellation (queued, and
// after a notify_one picked the waiter: forwarded or stored) and a ping-pong stress test.

#include "runtime/sync/notify.h"

#include <atomic>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::sync {
namespace {

using std::chrono::milliseconds;
using testing::settle;

Task<int> wait_notified(Notify* n) {
  co_await n->notified();
  co_return 1;
}

// True when a notified() completes before a (paused-clock) timeout.
Task<bool> notified_within(Notify* n, Duration d) {
  auto t = timeout(d, wait_notified(n));
  absl::StatusOr<int> r = co_await std::move(t);
  co_return r.ok();
}

KEEL_TEST(Notify, NotifyOneWithoutWaitersStoresOnePermit) {
  time::pause();
  Notify n;
  n.notify_one();
  n.notify_one();  // still one permit
  co_await n.notified();  // consumes it at once
  EXPECT_FALSE(co_await notified_within(&n, milliseconds(10)));
}

Task<void> wait_record(Notify* n, std::vector<int>* order, int id) {
  co_await n->notified();
  order->push_back(id);
}

Task<void> notify_one_times(Notify* n, int times) {
  for (int i = 0; i < times; ++i) {
    co_await yield_now();
    n->notify_one();
  }
}

KEEL_TEST(Notify, NotifyOneWakesWaitersInFifoOrder) {
  Notify n;
  std::vector<int> order;
  auto all = join(wait_record(&n, &order, 0), wait_record(&n, &order, 1),
                  wait_record(&n, &order, 2), notify_one_times(&n, 3));
  co_await all;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

Task<void> notify_all_later(Notify* n) {
  co_await yield_now();
  n->notify_waiters();
}

KEEL_TEST(Notify, NotifyWaitersWakesAllAndStoresNoPermit) {
  time::pause();
  Notify n;
  std::vector<int> order;
  auto all = join(wait_record(&n, &order, 0), wait_record(&n, &order, 1),
                  wait_record(&n, &order, 2), notify_all_later(&n));
  co_await all;
  EXPECT_EQ(order.size(), 3u);
  EXPECT_FALSE(co_await notified_within(&n, milliseconds(10)));
  // notify_waiters with nobody waiting stores nothing either.
  n.notify_waiters();
  EXPECT_FALSE(co_await notified_within(&n, milliseconds(10)));
}

KEEL_TEST(Notify, NotifiedCreatedBeforeNotifyWaitersCompletes) {
  time::pause();
  Notify n;
  Notify::Notified early = n.notified();
  n.notify_waiters();
  co_await early;  // registered interest before the call: completes without waiting
  // A stored permit is kept by notify_waiters.
  n.notify_one();
  n.notify_waiters();
  EXPECT_TRUE(co_await notified_within(&n, milliseconds(10)));
}

KEEL_TEST(Notify, WaiterCancelledWhileQueuedLeavesNoTrace) {
  time::pause();
  Notify n;
  EXPECT_FALSE(co_await notified_within(&n, milliseconds(10)));
  // Had the cancelled waiter stayed queued, it would swallow this notification.
  n.notify_one();
  EXPECT_TRUE(co_await notified_within(&n, milliseconds(10)));
}

Task<void> notify_one_later(Notify* n) {
  co_await yield_now();
  n->notify_one();
}

Task<std::size_t> race_waiter_against_notify_one(Notify* n) {
  auto race = select(wait_notified(n), notify_one_later(n));
  auto r = co_await race;
  co_return r.index();
}

Task<void> wait_flag(Notify* n, bool* got) {
  co_await n->notified();
  *got = true;
}

Task<std::size_t> notify_then_c(Notify* n, bool* c_got) {
  auto both = join(race_waiter_against_notify_one(n), wait_flag(n, c_got));
  auto [winner, unused] = co_await both;
  co_return winner;
}

KEEL_TEST(Notify, CancelledAfterNotifyOneForwardsToTheNextWaiter) {
  time::pause();  // a lost notification leaves everything idle: the timeout fails the test
  Notify n;
  bool c_got = false;
  auto t = timeout(std::chrono::hours(1), notify_then_c(&n, &c_got));
  absl::StatusOr<std::size_t> winner = co_await std::move(t);
  KEEL_ASSERT_OK(winner);
  EXPECT_EQ(*winner, 1u);  // the notified waiter was destroyed before it resumed
  EXPECT_TRUE(c_got);      // ... and its notification went to C
}

KEEL_TEST(Notify, CancelledAfterNotifyOneWithNobodyBehindStoresThePermit) {
  time::pause();
  Notify n;
  std::size_t winner = co_await race_waiter_against_notify_one(&n);
  EXPECT_EQ(winner, 1u);
  EXPECT_TRUE(co_await notified_within(&n, milliseconds(10)));
  EXPECT_FALSE(co_await notified_within(&n, milliseconds(10)));
}

Task<std::size_t> race_waiter_against_notify_waiters(Notify* n) {
  auto race = select(wait_notified(n), notify_all_later(n));
  auto r = co_await race;
  co_return r.index();
}

KEEL_TEST(Notify, CancelledAfterNotifyWaitersForwardsNothing) {
  time::pause();
  Notify n;
  std::size_t winner = co_await race_waiter_against_notify_waiters(&n);
  EXPECT_EQ(winner, 1u);
  EXPECT_FALSE(co_await notified_within(&n, milliseconds(10)));
}

Task<int> wait_notified_owned(std::shared_ptr<Notify> n) {
  co_await n->notified();
  co_return 1;
}

KEEL_TEST(Notify, AbortedWaiterLeavesNoTrace) {
  time::pause();
  auto n = std::make_shared<Notify>();
  JoinHandle<int> h = spawn(wait_notified_owned(n));
  co_await settle(20);
  h.abort();
  absl::StatusOr<int> r = co_await std::move(h);
  // The waiter may have been notified by nobody: it must be cancelled, and leave no node.
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  n->notify_one();
  EXPECT_TRUE(co_await notified_within(n.get(), milliseconds(10)));
}

constexpr int kRounds = 5000;

Task<void> pinger(std::shared_ptr<Notify> ping, std::shared_ptr<Notify> pong,
                  std::shared_ptr<std::atomic<int>> count) {
  for (int i = 0; i < kRounds; ++i) {
    ping->notify_one();
    co_await pong->notified();
    count->fetch_add(1);
  }
}

Task<void> ponger(std::shared_ptr<Notify> ping, std::shared_ptr<Notify> pong) {
  for (int i = 0; i < kRounds; ++i) {
    co_await ping->notified();
    pong->notify_one();
  }
}

KEEL_TEST(Notify, StressPingPong) {
  auto ping = std::make_shared<Notify>();
  auto pong = std::make_shared<Notify>();
  auto count = std::make_shared<std::atomic<int>>(0);
  JoinHandle<void> b = spawn(ponger(ping, pong));
  JoinHandle<void> a = spawn(pinger(ping, pong, count));
  KEEL_ASSERT_OK(co_await std::move(a));
  KEEL_ASSERT_OK(co_await std::move(b));
  EXPECT_EQ(count->load(), kRounds);
}

Task<void> yield_times(int n) {
  for (int i = 0; i < n; ++i) co_await yield_now();
}

constexpr int kHandOffs = 2000;

// One notification outstanding at a time (the producer waits for an ack), consumed by racing
// consumers whose waits are cancelled at varying points by losing a select against yields.
// A notification lost by a cancelled waiter would leave the producer waiting for its ack: the
// consumers give up after a bound, everything goes idle, the paused clock auto-advances and
// the producer's timeout reports the loss instead of hanging.
Task<void> racing_consumer(std::shared_ptr<Notify> n, std::shared_ptr<Notify> ack,
                           std::shared_ptr<std::atomic<int>> got) {
  for (int k = 0; k < 100000 && got->load() < kHandOffs; ++k) {
    // Alternate a short race (often cancelled after being notified: the notification must be
    // forwarded) and a longer one (lets a forwarded notification be consumed).
    auto race = select(wait_notified(n.get()), yield_times(k % 2 == 0 ? 1 : 3));
    auto r = co_await race;
    if (r.index() == 0) {
      got->fetch_add(1);
      ack->notify_one();
    }
  }
}

Task<bool> producer(std::shared_ptr<Notify> n, std::shared_ptr<Notify> ack) {
  for (int i = 0; i < kHandOffs; ++i) {
    n->notify_one();
    auto t = timeout(std::chrono::hours(1), wait_notified(ack.get()));
    absl::StatusOr<int> r = co_await std::move(t);
    if (!r.ok()) co_return false;
  }
  co_return true;
}

KEEL_TEST(Notify, StressCancelledWaitersLoseNoNotification) {
  time::pause();
  auto n = std::make_shared<Notify>();
  auto ack = std::make_shared<Notify>();
  auto got = std::make_shared<std::atomic<int>>(0);
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < 4; ++i) hs.push_back(spawn(racing_consumer(n, ack, got)));
  absl::StatusOr<bool> ok = co_await spawn(producer(n, ack));
  KEEL_ASSERT_OK(ok);
  EXPECT_TRUE(*ok);
  for (auto& h : hs) KEEL_ASSERT_OK(co_await std::move(h));
  EXPECT_EQ(got->load(), kHandOffs);
}

}  // namespace
}  // namespace keel::sync
