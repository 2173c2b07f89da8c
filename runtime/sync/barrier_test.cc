// Tests of sync::Barrier on every scheduler flavour: one leader per generation, reuse across
// generations, Barrier(0/1), a cancelled waiter withdrawing its arrival (and one cancelled
// after its generation was released withdrawing nothing), and a multi-task stress test.

#include "runtime/sync/barrier.h"

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::sync {
namespace {

using std::chrono::milliseconds;
using testing::settle;

Task<bool> wait_leader(Barrier* b) {
  BarrierWaitResult r = co_await b->wait();
  co_return r.is_leader();
}

KEEL_TEST(Barrier, OneLeaderPerGenerationAndReusable) {
  Barrier b(3);
  EXPECT_EQ(b.parties(), 3u);
  for (int gen = 0; gen < 3; ++gen) {
    auto all = join(wait_leader(&b), wait_leader(&b), wait_leader(&b));
    auto [x, y, z] = co_await all;
    EXPECT_EQ(int{x} + int{y} + int{z}, 1) << "generation " << gen;
    EXPECT_TRUE(z);  // the last to arrive leads
  }
}

KEEL_TEST(Barrier, BarrierOfOneOrZeroNeverWaits) {
  Barrier one(1);
  Barrier zero(0);
  EXPECT_TRUE((co_await one.wait()).is_leader());
  EXPECT_TRUE((co_await one.wait()).is_leader());
  EXPECT_TRUE((co_await zero.wait()).is_leader());
}

Task<int> wait_forever(Barrier* b) {
  co_await b->wait();
  co_return 1;
}

Task<std::pair<bool, bool>> two_waits(Barrier* b) {
  auto all = join(wait_leader(b), wait_leader(b));
  auto [x, y] = co_await all;
  co_return std::make_pair(x, y);
}

KEEL_TEST(Barrier, CancelledWaiterWithdrawsItsArrival) {
  time::pause();
  Barrier b(2);
  auto t = timeout(milliseconds(5), wait_forever(&b));
  absl::StatusOr<int> r = co_await std::move(t);
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  // Had the arrival stayed, the first wait below would lead alone and the second would hang
  // (the timeout turns that into a failure).
  auto pair = timeout(milliseconds(50), two_waits(&b));
  absl::StatusOr<std::pair<bool, bool>> leaders = co_await std::move(pair);
  KEEL_ASSERT_OK(leaders);
  EXPECT_FALSE(leaders->first);
  EXPECT_TRUE(leaders->second);
}

Task<std::size_t> race_two_waiters(Barrier* b) {
  // Branch 0 arrives and waits; branch 1 arrives as the leader and wins the select, so
  // branch 0 is destroyed after its generation was released, before it resumed.
  auto race = select(wait_forever(b), wait_leader(b));
  auto r = co_await race;
  co_return r.index();
}

KEEL_TEST(Barrier, WaiterCancelledAfterReleaseWithdrawsNothing) {
  Barrier b(2);
  std::size_t winner = co_await race_two_waiters(&b);
  EXPECT_EQ(winner, 1u);
  // The next generation starts from zero arrivals.
  auto all = join(wait_leader(&b), wait_leader(&b));
  auto [x, y] = co_await all;
  EXPECT_EQ(int{x} + int{y}, 1);
}

Task<bool> wait_leader_owned(std::shared_ptr<Barrier> b) {
  BarrierWaitResult r = co_await b->wait();
  co_return r.is_leader();
}

KEEL_TEST(Barrier, AbortedWaiterWithdrawsItsArrival) {
  auto b = std::make_shared<Barrier>(2);
  JoinHandle<bool> h = spawn(wait_leader_owned(b));
  co_await settle(20);
  h.abort();
  absl::StatusOr<bool> r = co_await std::move(h);
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  time::pause();
  auto pair = timeout(milliseconds(50), two_waits(b.get()));
  absl::StatusOr<std::pair<bool, bool>> leaders = co_await std::move(pair);
  KEEL_ASSERT_OK(leaders);
  EXPECT_FALSE(leaders->first);
  EXPECT_TRUE(leaders->second);
}

constexpr int kParties = 6;
constexpr int kGenerations = 300;

struct Progress {
  std::atomic<int> leaders{0};
  std::atomic<int> arrived[kGenerations] = {};
  std::atomic<int> violations{0};
};

Task<void> generations(std::shared_ptr<Barrier> b, std::shared_ptr<Progress> p) {
  for (int g = 0; g < kGenerations; ++g) {
    p->arrived[g].fetch_add(1);
    BarrierWaitResult r = co_await b->wait();
    // Nobody leaves generation g before all have arrived in it.
    if (p->arrived[g].load() != kParties) p->violations.fetch_add(1);
    if (r.is_leader()) p->leaders.fetch_add(1);
    if (g % 7 == 0) co_await yield_now();
  }
}

KEEL_TEST(Barrier, StressGenerations) {
  auto b = std::make_shared<Barrier>(kParties);
  auto p = std::make_shared<Progress>();
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < kParties; ++i) hs.push_back(spawn(generations(b, p)));
  for (auto& h : hs) KEEL_ASSERT_OK(co_await std::move(h));
  EXPECT_EQ(p->leaders.load(), kGenerations);
  EXPECT_EQ(p->violations.load(), 0);
}

}  // namespace
}  // namespace keel::sync
