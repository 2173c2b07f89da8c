// Tests of stream::merge: order, fairness, end, exceptions, destruction, and cancellation of
// the consumer's next() (no item lost or duplicated), including a multi-threaded stress test.

#include "runtime/stream/merge.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/stream/adapters.h"
#include "runtime/stream/test_sources.h"
#include "runtime/test/keel_test.h"

namespace keel::stream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::drain_impatiently;
using testing::TestChannel;
using testing::ticking;

std::uint64_t timers_active() { return Handle::current().metrics().timers_active; }

// Vectors built outside coroutines: GCC 12 rejects a braced initializer list inside one.
template <class... I>
std::vector<int> ints(I... xs) {
  std::vector<int> out;
  (out.push_back(xs), ...);
  return out;
}

Stream<int> naturals(int from) {
  for (int i = from;; ++i) co_yield i;
}

KEEL_TEST(StreamMerge, ReadySourcesAreServedRoundRobin) {
  auto m = merge(iter(ints(0, 1, 2)), iter(ints(10, 11, 12)));
  auto all = collect(std::move(m));
  EXPECT_EQ(co_await std::move(all), ints(0, 10, 1, 11, 2, 12));
}

// An always-ready source does not starve another.
KEEL_TEST(StreamMerge, IsFairBetweenBusySources) {
  auto m = take(merge(naturals(0), naturals(1000), naturals(2000)), 30);
  auto all = collect(std::move(m));
  std::vector<int> got = co_await std::move(all);
  int per[3] = {0, 0, 0};
  for (int v : got) ++per[v / 1000];
  EXPECT_EQ(per[0], 10);
  EXPECT_EQ(per[1], 10);
  EXPECT_EQ(per[2], 10);
}

KEEL_TEST(StreamMerge, EndsWhenEverySourceEnds) {
  auto m = merge(iter(ints(1)), empty<int>(), iter(ints(2, 3)));
  auto all = collect(std::move(m));
  std::vector<int> got = co_await std::move(all);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, ints(1, 2, 3));
  EXPECT_FALSE((co_await m.next()).has_value());  // moved-from: still answers nullopt

  std::vector<Stream<int>> no_sources;
  auto none = merge(std::move(no_sources));
  EXPECT_FALSE((co_await none.next()).has_value());
  std::vector<Stream<int>> one;
  one.push_back(iter(ints(5)));
  auto single = merge(std::move(one));
  EXPECT_EQ((co_await single.next()).value_or(-1), 5);
  EXPECT_FALSE((co_await single.next()).has_value());
}

KEEL_TEST(StreamMerge, ItemsComeInTheOrderTheyBecomeReady) {
  time::pause();
  // a at 10, 20, 30 ms; b at 15, 30, 45 ms.
  auto m = merge(ticking(0, 3, milliseconds(10)), ticking(100, 3, milliseconds(15)));
  std::vector<int> got;
  std::vector<Duration> at;
  Instant start = Instant::now();
  while (std::optional<int> v = co_await m.next()) {
    got.push_back(*v);
    at.push_back(Instant::now() - start);
  }
  KEEL_ASSERT_TRUE(got.size() == 6u);
  EXPECT_EQ(got[0], 0);
  EXPECT_EQ(got[1], 100);
  EXPECT_EQ(got[2], 1);
  EXPECT_EQ(std::min(got[3], got[4]), 2);  // both ready at 30 ms
  EXPECT_EQ(std::max(got[3], got[4]), 101);
  EXPECT_EQ(got[5], 102);
  EXPECT_EQ(at[0], Duration(milliseconds(10)));
  EXPECT_EQ(at[5], Duration(milliseconds(45)));
  time::resume();
}

KEEL_TEST(StreamMerge, NestedMerges) {
  auto m = merge(merge(iter(ints(1, 2)), iter(ints(3))), iter(ints(4, 5)));
  auto all = collect(std::move(m));
  std::vector<int> got = co_await std::move(all);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, ints(1, 2, 3, 4, 5));
}

Stream<int> fails_after(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
  throw std::runtime_error("source failed");
}

KEEL_TEST(StreamMerge, ExceptionFromASourceReachesTheConsumer) {
  time::pause();
  auto m = merge(fails_after(1), ticking(10, 5, seconds(1)));
  EXPECT_EQ((co_await m.next()).value_or(-1), 0);
  bool caught = false;
  try {
    co_await m.next();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "source failed";
  }
  EXPECT_TRUE(caught);
  EXPECT_FALSE((co_await m.next()).has_value());
  time::resume();
}

KEEL_TEST(StreamMerge, DestroyingTheMergeDestroysSuspendedSources) {
  time::pause();
  {
    auto m = merge(ticking(0, 5, seconds(1)), ticking(10, 5, seconds(2)));
    EXPECT_EQ((co_await m.next()).value_or(-1), 0);
    Task<std::optional<int>> next = next_task(m);
    auto r = co_await ::keel::timeout(milliseconds(100), std::move(next));
    EXPECT_FALSE(r.ok());
    EXPECT_GT(timers_active(), 0u);
  }
  EXPECT_EQ(timers_active(), 0u);
  time::resume();
}

// The consumer gives up on next() every 3 ms while the sources tick every 7 and 10 ms.
KEEL_TEST(StreamCancellation, Merge) {
  time::pause();
  auto m = merge(ticking(0, 6, milliseconds(7)), ticking(100, 4, milliseconds(10)),
                 ticking(200, 3, milliseconds(10)));
  int gave_up = 0;
  std::vector<int> got = co_await drain_impatiently(m, milliseconds(3), &gave_up);
  EXPECT_GT(gave_up, 0);
  std::vector<int> per_source[3];
  for (int v : got) per_source[v / 100].push_back(v);
  EXPECT_EQ(per_source[0], ints(0, 1, 2, 3, 4, 5));
  EXPECT_EQ(per_source[1], ints(100, 101, 102, 103));
  EXPECT_EQ(per_source[2], ints(200, 201, 202));
  EXPECT_EQ(timers_active(), 0u);
  time::resume();
}

// Producers on other tasks (other threads on multi_thread(4)) feed channels merged into one
// stream; the consumer's next() loses a select to yield_now() most of the time. Every value
// arrives once, and each producer's values arrive in order.
Task<void> produce(TestChannel<int>::Sender tx, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    tx.send(i);
    if (i % 5 == 0) co_await yield_now();
  }
  tx.close();
}
Task<void> yield_once() { co_await yield_now(); }

KEEL_TEST(StreamCancellation, MergeStress) {
  constexpr int kSources = 4;
  constexpr int kPer = 1500;
  std::vector<Stream<int>> sources;
  std::vector<JoinHandle<void>> producers;
  for (int p = 0; p < kSources; ++p) {
    auto [tx, rx] = TestChannel<int>::make();
    sources.push_back(from_receiver(std::move(rx)));
    producers.push_back(spawn(produce(tx, p * kPer, kPer)));
  }
  auto m = merge(std::move(sources));
  std::vector<int> last(kSources, -1);
  int received = 0;
  int out_of_order = 0;
  for (;;) {
    Task<std::optional<int>> next = next_task(m);
    Task<void> yield = yield_once();
    auto r = co_await select(std::move(next), std::move(yield));
    if (r.index() == 1) continue;
    std::optional<int> v = std::get<0>(std::move(r));
    if (!v.has_value()) break;
    int p = *v / kPer;
    if (*v != last[p] + 1 && !(last[p] == -1 && *v == p * kPer)) ++out_of_order;
    last[p] = *v;
    ++received;
  }
  for (auto& h : producers) co_await h;
  EXPECT_EQ(received, kSources * kPer);
  EXPECT_EQ(out_of_order, 0);
  for (int p = 0; p < kSources; ++p) EXPECT_EQ(last[p], (p + 1) * kPer - 1);
}

}  // namespace
}  // namespace keel::stream
