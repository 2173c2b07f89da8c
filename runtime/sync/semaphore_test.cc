// Tests of sync::Semaphore on every scheduler flavour: permits, try_acquire errors, close,
// FIFO with large requests, owned permits, cancellation (queued, partially assigned, and after
// the permits were handed over) and a stress test that checks the semaphore never over-grants.

#include "runtime/sync/semaphore.h"

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

Task<void> yield_task() { co_await yield_now(); }

KEEL_TEST(Semaphore, AcquireAndReleaseOnDestruction) {
  Semaphore s(3);
  EXPECT_EQ(s.available_permits(), 3u);
  {
    absl::StatusOr<SemaphorePermit> p = co_await s.acquire();
    KEEL_ASSERT_OK(p);
    EXPECT_EQ(p->num_permits(), 1u);
    EXPECT_EQ(s.available_permits(), 2u);
    absl::StatusOr<SemaphorePermit> q = co_await s.acquire_many(2);
    KEEL_ASSERT_OK(q);
    EXPECT_EQ(s.available_permits(), 0u);
    p->merge(std::move(*q));
    EXPECT_EQ(p->num_permits(), 3u);
  }
  EXPECT_EQ(s.available_permits(), 3u);
  // Zero permits always succeed at once.
  absl::StatusOr<SemaphorePermit> z = co_await s.acquire_many(0);
  KEEL_ASSERT_OK(z);
  EXPECT_EQ(s.available_permits(), 3u);
}

KEEL_TEST(Semaphore, TryAcquireForgetAndAddPermits) {
  Semaphore s(2);
  absl::StatusOr<SemaphorePermit> a = s.try_acquire_many(2);
  KEEL_ASSERT_OK(a);
  absl::StatusOr<SemaphorePermit> b = s.try_acquire();
  EXPECT_TRUE(absl::IsResourceExhausted(b.status())) << b.status();
  EXPECT_NE(b.status().message().find("Semaphore::try_acquire"), absl::string_view::npos);
  a->forget();  // both permits are gone for good
  EXPECT_EQ(s.available_permits(), 0u);
  s.add_permits(5);
  EXPECT_EQ(s.available_permits(), 5u);
  EXPECT_EQ(s.forget_permits(2), 2u);
  EXPECT_EQ(s.available_permits(), 3u);
  EXPECT_EQ(s.forget_permits(10), 3u);
  EXPECT_EQ(s.available_permits(), 0u);
  co_return;
}

Task<absl::Status> acquire_status(Semaphore* s, std::size_t n) {
  absl::StatusOr<SemaphorePermit> p = co_await s->acquire_many(n);
  co_return p.status();
}

Task<void> close_later(Semaphore* s) {
  co_await yield_now();
  s->close();
}

KEEL_TEST(Semaphore, CloseFailsWaitersAndLaterAcquires) {
  Semaphore s(1);
  absl::StatusOr<SemaphorePermit> held = s.try_acquire();
  KEEL_ASSERT_OK(held);
  auto all = join(acquire_status(&s, 1), acquire_status(&s, 3), close_later(&s));
  auto [r1, r2, unused] = co_await all;
  EXPECT_TRUE(absl::IsFailedPrecondition(r1)) << r1;
  EXPECT_TRUE(absl::IsFailedPrecondition(r2)) << r2;
  EXPECT_NE(r1.message().find("closed"), absl::string_view::npos);
  EXPECT_TRUE(s.is_closed());
  absl::StatusOr<SemaphorePermit> late = co_await s.acquire();
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status())) << late.status();
  absl::StatusOr<SemaphorePermit> tried = s.try_acquire();
  EXPECT_TRUE(absl::IsFailedPrecondition(tried.status())) << tried.status();
  // A permit held across close() stays valid and still returns.
  held = absl::FailedPreconditionError("dropped");
  EXPECT_EQ(s.available_permits(), 1u);
}

Task<void> acquire_record(Semaphore* s, std::size_t n, std::vector<int>* order, int id) {
  absl::StatusOr<SemaphorePermit> p = co_await s->acquire_many(n);
  EXPECT_TRUE(p.ok());
  order->push_back(id);
  co_await yield_now();
}

// Releases the held permits one at a time, checking that the small request queued behind the
// big one does not overtake it.
Task<void> release_slowly(Semaphore* s, SemaphorePermit held, std::vector<int>* order) {
  co_await yield_now();
  s->add_permits(1);  // 1 free: the head (needs 3) takes it, the 1-permit request behind waits
  co_await yield_now();
  EXPECT_TRUE(order->empty());
  EXPECT_EQ(s->available_permits(), 0u);
  held.forget();
  s->add_permits(1);
  co_await yield_now();
  EXPECT_TRUE(order->empty());
  s->add_permits(1);  // the head has its 3 now
}

KEEL_TEST(Semaphore, LargeRequestAtTheHeadIsNotOvertaken) {
  Semaphore s(1);
  absl::StatusOr<SemaphorePermit> held = s.try_acquire();
  KEEL_ASSERT_OK(held);
  std::vector<int> order;
  auto all = join(acquire_record(&s, 3, &order, 0), acquire_record(&s, 1, &order, 1),
                  release_slowly(&s, std::move(*held), &order));
  co_await all;
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(s.available_permits(), 3u);
}

Task<void> add_permits_task(Semaphore* s, std::size_t n) {
  s->add_permits(n);
  co_return;
}

KEEL_TEST(Semaphore, WaitersAreServedInFifoOrder) {
  Semaphore s(0);
  std::vector<int> order;
  auto all = join(acquire_record(&s, 1, &order, 0), acquire_record(&s, 2, &order, 1),
                  acquire_record(&s, 1, &order, 2), acquire_record(&s, 1, &order, 3),
                  add_permits_task(&s, 5));
  co_await all;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(s.available_permits(), 5u);
}

Task<int> acquire_forever(Semaphore* s, std::size_t n) {
  absl::StatusOr<SemaphorePermit> p = co_await s->acquire_many(n);
  co_return p.ok() ? 1 : 0;
}

KEEL_TEST(Semaphore, CancelledWhileQueuedReturnsPartialPermits) {
  time::pause();
  Semaphore s(2);
  absl::StatusOr<SemaphorePermit> held = s.try_acquire();
  KEEL_ASSERT_OK(held);
  // The request for 3 takes the 1 free permit and waits for 2 more; then it is cancelled.
  auto t = timeout(milliseconds(5), acquire_forever(&s, 3));
  absl::StatusOr<int> r = co_await std::move(t);
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  EXPECT_EQ(s.available_permits(), 1u);
  EXPECT_TRUE(s.try_acquire().ok());  // no ghost waiter blocks the queue
  held = absl::CancelledError("dropped");
  EXPECT_EQ(s.available_permits(), 2u);
}

Task<void> release_later(SemaphorePermit p) {
  co_await yield_now();
  // Released here, inside the body: a parameter would live until the frame is destroyed.
  SemaphorePermit dropped = std::move(p);
}

Task<std::size_t> race_acquire_against_release(Semaphore* s, SemaphorePermit p) {
  auto race = select(acquire_forever(s, 1), release_later(std::move(p)));
  auto r = co_await race;
  co_return r.index();
}

Task<void> acquire_flag(Semaphore* s, bool* got) {
  absl::StatusOr<SemaphorePermit> p = co_await s->acquire();
  *got = p.ok();
}

Task<std::size_t> grant_then_c(Semaphore* s, SemaphorePermit p, bool* c_got) {
  auto both = join(race_acquire_against_release(s, std::move(p)), acquire_flag(s, c_got));
  auto [winner, unused] = co_await both;
  co_return winner;
}

KEEL_TEST(Semaphore, CancelledAfterGrantPassesPermitsOn) {
  time::pause();  // a lost permit leaves everything idle: the timeout then fails the test
  Semaphore s(1);
  absl::StatusOr<SemaphorePermit> held = s.try_acquire();
  KEEL_ASSERT_OK(held);
  bool c_got = false;
  auto t = timeout(std::chrono::hours(1), grant_then_c(&s, std::move(*held), &c_got));
  absl::StatusOr<std::size_t> winner = co_await std::move(t);
  KEEL_ASSERT_OK(winner);
  EXPECT_EQ(*winner, 1u);  // the granted acquirer was destroyed before it resumed
  EXPECT_TRUE(c_got);
  EXPECT_EQ(s.available_permits(), 1u);
}

KEEL_TEST(Semaphore, CancelledAfterGrantWithNobodyBehindReturnsPermits) {
  Semaphore s(1);
  absl::StatusOr<SemaphorePermit> held = s.try_acquire();
  KEEL_ASSERT_OK(held);
  std::size_t winner = co_await race_acquire_against_release(&s, std::move(*held));
  EXPECT_EQ(winner, 1u);
  EXPECT_EQ(s.available_permits(), 1u);
}

Task<int> acquire_owned_forever(std::shared_ptr<Semaphore> s) {
  absl::StatusOr<OwnedSemaphorePermit> p = co_await acquire_owned(s);
  co_return p.ok() ? 1 : 0;
}

KEEL_TEST(Semaphore, AbortedWaiterLeavesNoTrace) {
  auto s = std::make_shared<Semaphore>(0);
  JoinHandle<int> h = spawn(acquire_owned_forever(s));
  co_await settle(20);
  h.abort();
  absl::StatusOr<int> r = co_await std::move(h);
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  s->add_permits(1);
  EXPECT_EQ(s->available_permits(), 1u);
}

Task<std::size_t> use_owned(OwnedSemaphorePermit p) {
  co_await yield_now();
  co_return p.num_permits();
}

KEEL_TEST(Semaphore, OwnedPermitsMoveIntoSpawnedTasks) {
  auto s = std::make_shared<Semaphore>(3);
  absl::StatusOr<OwnedSemaphorePermit> p = co_await acquire_many_owned(s, 2);
  KEEL_ASSERT_OK(p);
  EXPECT_EQ(p->semaphore(), s);
  EXPECT_EQ(s->available_permits(), 1u);
  absl::StatusOr<OwnedSemaphorePermit> q = try_acquire_owned(s);
  KEEL_ASSERT_OK(q);
  absl::StatusOr<OwnedSemaphorePermit> r = try_acquire_many_owned(s, 1);
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  JoinHandle<std::size_t> h = spawn(use_owned(std::move(*p)));
  absl::StatusOr<std::size_t> n = co_await std::move(h);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(s->available_permits(), 2u);
  // The owned permit keeps the semaphore alive after every other reference is gone.
  std::weak_ptr<Semaphore> weak = s;
  s.reset();
  EXPECT_FALSE(weak.expired());
  q = absl::CancelledError("dropped");
  EXPECT_TRUE(weak.expired());
}

struct Gauge {
  std::atomic<int> in_flight{0};
  std::atomic<int> max_seen{0};
  std::atomic<int> completed{0};
};

constexpr int kLimit = 3;

Task<void> limited_worker(std::shared_ptr<Semaphore> s, std::shared_ptr<Gauge> g, int id) {
  for (int i = 0; i < 2000; ++i) {
    std::size_t n = (id + i) % 4 == 0 ? 2 : 1;
    absl::StatusOr<SemaphorePermit> p = co_await s->acquire_many(n);
    EXPECT_TRUE(p.ok());
    int now = g->in_flight.fetch_add(static_cast<int>(n)) + static_cast<int>(n);
    EXPECT_LE(now, kLimit);
    int prev = g->max_seen.load();
    while (now > prev && !g->max_seen.compare_exchange_weak(prev, now)) {
    }
    if (i % 16 == 0) co_await yield_now();
    g->in_flight.fetch_sub(static_cast<int>(n));
    g->completed.fetch_add(1);
  }
}

KEEL_TEST(Semaphore, StressNeverOverGrants) {
  auto s = std::make_shared<Semaphore>(kLimit);
  auto g = std::make_shared<Gauge>();
  std::vector<JoinHandle<void>> hs;
  for (int t = 0; t < 8; ++t) hs.push_back(spawn(limited_worker(s, g, t)));
  for (auto& h : hs) KEEL_ASSERT_OK(co_await std::move(h));
  EXPECT_EQ(g->completed.load(), 8 * 2000);
  EXPECT_LE(g->max_seen.load(), kLimit);
  EXPECT_EQ(s->available_permits(), static_cast<std::size_t>(kLimit));
}

Task<void> racing_acquirer(std::shared_ptr<Semaphore> s) {
  for (int i = 0; i < 500; ++i) {
    auto race = select(acquire_forever(s.get(), 1 + i % 2), yield_task());
    co_await race;
  }
}

KEEL_TEST(Semaphore, StressWithCancelledAcquiresLosesNoPermit) {
  auto s = std::make_shared<Semaphore>(2);
  std::vector<JoinHandle<void>> hs;
  for (int t = 0; t < 6; ++t) hs.push_back(spawn(racing_acquirer(s)));
  for (auto& h : hs) KEEL_ASSERT_OK(co_await std::move(h));
  EXPECT_EQ(s->available_permits(), 2u);
}

}  // namespace
}  // namespace keel::sync
