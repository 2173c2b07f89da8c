// Tests of the stream adapters (adapters.h) except merge (merge_test.cc): values, laziness,
// exceptions, and for every adapter the cancellation-safety of next(): a consumer that gives
// up on next() again and again (timeout on the paused clock) still sees every item once.

#include "runtime/stream/adapters.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
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

// Counts how many items were pulled from it.
Stream<int> counted(int n, std::shared_ptr<int> pulled) {
  for (int i = 0; i < n; ++i) {
    ++*pulled;
    co_yield i;
  }
}

// Vectors built outside coroutines: GCC 12 rejects a braced initializer list inside one.
template <class... I>
std::vector<int> ints(I... xs) {
  std::vector<int> out;
  (out.push_back(xs), ...);
  return out;
}
template <class... D>
std::vector<double> doubles(D... xs) {
  std::vector<double> out;
  (out.push_back(xs), ...);
  return out;
}

// (A plain function: GCC 12 rejects string literals in a braced initializer inside a coroutine.)
std::vector<std::string> abc() { return {"a", "b", "c"}; }
std::vector<std::string> tens() { return {"10", "20", "30", "40"}; }

KEEL_TEST(StreamSources, IterOnceEmptyFromRange) {
  auto ta = collect(iter(abc()));
  EXPECT_EQ(co_await std::move(ta), abc());
  auto tb = collect(once(7));
  EXPECT_EQ(co_await std::move(tb), ints(7));
  auto tc = collect(empty<int>());
  EXPECT_TRUE((co_await std::move(tc)).empty());
  auto td = collect(from_range(ints(4, 5)));
  EXPECT_EQ(co_await std::move(td), ints(4, 5));
  auto te = collect(from_range(std::views::iota(1, 4)));
  EXPECT_EQ(co_await std::move(te), ints(1, 2, 3));
}

KEEL_TEST(StreamAdapters, MapFilterFilterMap) {
  auto s = map(iter(ints(1, 2, 3, 4)), [](int x) { return std::to_string(x * 10); });
  auto all1 = collect(std::move(s));
  EXPECT_EQ(co_await std::move(all1), tens());
  int calls = 0;
  auto f = filter(iter(ints(1, 2, 3, 4, 5)), [&calls](const int& x) {
    ++calls;
    return x % 2 == 1;
  });
  auto all2 = collect(std::move(f));
  EXPECT_EQ(co_await std::move(all2), ints(1, 3, 5));
  EXPECT_EQ(calls, 5);
  auto fm = filter_map(iter(ints(1, 2, 3)), [](int x) {
    return x == 2 ? std::nullopt : std::optional<double>(x / 2.0);
  });
  auto all3 = collect(std::move(fm));
  EXPECT_EQ(co_await std::move(all3), doubles(0.5, 1.5));
}

Task<int> slow_square(int x) {
  co_await sleep(milliseconds(5));
  co_return x * x;
}

KEEL_TEST(StreamAdapters, ThenAwaitsEachItemInOrder) {
  time::pause();
  Instant start = Instant::now();
  auto s = then(iter(ints(1, 2, 3)), slow_square);
  auto all4 = collect(std::move(s));
  EXPECT_EQ(co_await std::move(all4), ints(1, 4, 9));
  EXPECT_EQ(Instant::now() - start, Duration(milliseconds(15)));
  time::resume();
}

KEEL_TEST(StreamAdapters, TakeSkipAndTheirWhileForms) {
  auto pulled = std::make_shared<int>(0);
  auto t = take(counted(10, pulled), 3);
  auto all5 = collect(std::move(t));
  EXPECT_EQ(co_await std::move(all5), ints(0, 1, 2));
  EXPECT_EQ(*pulled, 3);  // take never asks for the 4th
  auto t0 = take(counted(10, pulled), 0);
  auto all6 = collect(std::move(t0));
  EXPECT_TRUE((co_await std::move(all6)).empty());
  EXPECT_EQ(*pulled, 3);
  auto t_short = take(iter(ints(1)), 5);
  auto all7 = collect(std::move(t_short));
  EXPECT_EQ(co_await std::move(all7), ints(1));

  auto tw = take_while(iter(ints(1, 2, 5, 1)), [](const int& x) { return x < 3; });
  auto all8 = collect(std::move(tw));
  EXPECT_EQ(co_await std::move(all8), ints(1, 2));
  auto sk = skip(iter(ints(1, 2, 3, 4)), 2);
  auto all9 = collect(std::move(sk));
  EXPECT_EQ(co_await std::move(all9), ints(3, 4));
  auto sk_all = skip(iter(ints(1, 2)), 5);
  auto all10 = collect(std::move(sk_all));
  EXPECT_TRUE((co_await std::move(all10)).empty());
  auto sw = skip_while(iter(ints(1, 2, 5, 1)), [](const int& x) { return x < 3; });
  auto all11 = collect(std::move(sw));
  EXPECT_EQ(co_await std::move(all11), ints(5, 1));
}

KEEL_TEST(StreamAdapters, ChainIsLazyAboutItsSecondStream) {
  auto pulled = std::make_shared<int>(0);
  auto c = chain(iter(ints(7, 8)), counted(2, pulled));
  EXPECT_EQ((co_await c.next()).value_or(-1), 7);
  EXPECT_EQ((co_await c.next()).value_or(-1), 8);
  EXPECT_EQ(*pulled, 0);
  auto all12 = collect(std::move(c));
  EXPECT_EQ(co_await std::move(all12), ints(0, 1));
}

KEEL_TEST(StreamConsumers, ForEachFoldCount) {
  std::vector<int> seen;
  auto each1 = for_each(iter(ints(1, 2, 3)), [&seen](int x) { seen.push_back(x); });
  co_await std::move(each1);
  EXPECT_EQ(seen, ints(1, 2, 3));
  auto folded1 = fold(iter(ints(1, 2, 3)), 0, [](int a, int x) { return a + x; });
  int sum = co_await std::move(folded1);
  EXPECT_EQ(sum, 6);
  auto counted_1 = count(map(iter(ints(1, 2, 3)), [](int x) { return x; }));
  std::size_t n = co_await std::move(counted_1);
  EXPECT_EQ(n, 3u);
}

Task<void> record_later(std::shared_ptr<std::vector<int>> out, int x) {
  co_await sleep(milliseconds(1));
  out->push_back(x);
}

KEEL_TEST(StreamConsumers, ForEachAwaitsAsyncBodies) {
  time::pause();
  auto out = std::make_shared<std::vector<int>>();
  auto each2 = for_each(iter(ints(1, 2, 3)),
                    [out](int x) { return record_later(out, x); });
  co_await std::move(each2);
  EXPECT_EQ(*out, ints(1, 2, 3));
  time::resume();
}

// Destroying a consumer Task destroys the stream it owns, suspended source included.
KEEL_TEST(StreamConsumers, CancelledConsumerDestroysItsStream) {
  time::pause();
  auto c = collect(map(ticking(0, 100, seconds(1)), [](int x) { return x; }));
  auto r = co_await ::keel::timeout(milliseconds(2500), std::move(c));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  EXPECT_EQ(timers_active(), 0u);
  auto f = fold(ticking(0, 100, seconds(1)), 0, [](int a, int x) { return a + x; });
  auto r2 = co_await ::keel::timeout(milliseconds(2500), std::move(f));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r2.status()));
  EXPECT_EQ(timers_active(), 0u);
  time::resume();
}

Stream<int> fails_at(int n) {
  for (int i = 0;; ++i) {
    if (i == n) throw std::runtime_error("source failed");
    co_yield i;
  }
}

KEEL_TEST(StreamAdapters, ExceptionsEndTheAdapterAndReachTheConsumer) {
  auto s = map(fails_at(2), [](int x) { return x + 1; });
  EXPECT_EQ((co_await s.next()).value_or(-1), 1);
  EXPECT_EQ((co_await s.next()).value_or(-1), 2);
  bool caught = false;
  try {
    co_await s.next();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "source failed";
  }
  EXPECT_TRUE(caught);
  EXPECT_FALSE((co_await s.next()).has_value());

  auto f = filter(iter(ints(1, 2)), [](const int& x) -> bool {
    if (x == 2) throw std::logic_error("predicate failed");
    return true;
  });
  EXPECT_EQ((co_await f.next()).value_or(-1), 1);
  caught = false;
  try {
    co_await f.next();
  } catch (const std::logic_error&) {
    caught = true;
  }
  EXPECT_TRUE(caught);
}

// ---- Cancellation: every adapter, with a consumer that gives up on next() mid-wait. ----

// 5 items, one every 10 ms, consumed with a patience of 3 ms: about 3 give-ups per item.
constexpr int kItems = 5;
constexpr Duration kPeriod = milliseconds(10);
constexpr Duration kPatience = milliseconds(3);

template <class T>
Task<void> expect_impatient_drain(Stream<T> s, std::vector<T> want) {
  int gave_up = 0;
  std::vector<T> got = co_await drain_impatiently(s, kPatience, &gave_up);
  EXPECT_EQ(got, want);
  EXPECT_GT(gave_up, 0);
  EXPECT_EQ(timers_active(), 0u);
}

KEEL_TEST(StreamCancellation, MapThenFilterFilterMap) {
  time::pause();
  auto drain1 = expect_impatient_drain(map(ticking(0, kItems, kPeriod), [](int x) { return x * 2; }),
                                  ints(0, 2, 4, 6, 8));
  co_await std::move(drain1);
  auto drain2 = expect_impatient_drain(then(ticking(0, kItems, kPeriod), slow_square),
                                  ints(0, 1, 4, 9, 16));
  co_await std::move(drain2);
  auto drain3 = expect_impatient_drain(
      filter(ticking(0, kItems, kPeriod), [](const int& x) { return x % 2 == 0; }),
      ints(0, 2, 4));
  co_await std::move(drain3);
  auto drain4 = expect_impatient_drain(
      filter_map(ticking(0, kItems, kPeriod),
                 [](int x) { return x == 1 ? std::nullopt : std::optional<int>(-x); }),
      ints(0, -2, -3, -4));
  co_await std::move(drain4);
  time::resume();
}

KEEL_TEST(StreamCancellation, TakeSkipWhileFormsChain) {
  time::pause();
  auto drain5 = expect_impatient_drain(take(ticking(0, kItems, kPeriod), 3), ints(0, 1, 2));
  co_await std::move(drain5);
  auto drain6 = expect_impatient_drain(skip(ticking(0, kItems, kPeriod), 2), ints(2, 3, 4));
  co_await std::move(drain6);
  auto drain7 = expect_impatient_drain(
      take_while(ticking(0, kItems, kPeriod), [](const int& x) { return x < 3; }),
      ints(0, 1, 2));
  co_await std::move(drain7);
  auto drain8 = expect_impatient_drain(
      skip_while(ticking(0, kItems, kPeriod), [](const int& x) { return x < 3; }),
      ints(3, 4));
  co_await std::move(drain8);
  auto drain9 = expect_impatient_drain(chain(ticking(0, 2, kPeriod), ticking(10, 2, kPeriod)),
                                  ints(0, 1, 10, 11));
  co_await std::move(drain9);
  time::resume();
}

// ---- timeout ----

KEEL_TEST(StreamTimeout, YieldsDeadlineExceededAndContinues) {
  time::pause();
  // Items every 10 s, each asked for with 3 s to spare: three timeouts before each item.
  auto s = timeout(ticking(0, 3, seconds(10)), seconds(3));
  std::vector<int> items;
  int deadlines = 0;
  while (std::optional<absl::StatusOr<int>> r = co_await s.next()) {
    if (r->ok()) {
      items.push_back(**r);
    } else {
      EXPECT_TRUE(absl::IsDeadlineExceeded(r->status())) << r->status();
      ++deadlines;
    }
  }
  EXPECT_EQ(items, ints(0, 1, 2));
  EXPECT_EQ(deadlines, 9);
  EXPECT_EQ(timers_active(), 0u);
  time::resume();
}

KEEL_TEST(StreamTimeout, FastItemsNeverTimeOut) {
  time::pause();
  auto s = timeout(ticking(0, 4, milliseconds(10)), seconds(1));
  int n = 0;
  while (std::optional<absl::StatusOr<int>> r = co_await s.next()) {
    EXPECT_TRUE(r->ok());
    ++n;
  }
  EXPECT_EQ(n, 4);
  time::resume();
}

// The consumer of a timeout stream gives up sooner than the stream's own deadline: items and
// deadline statuses still come out once each, in order.
KEEL_TEST(StreamCancellation, Timeout) {
  time::pause();
  auto s = timeout(ticking(0, 3, milliseconds(10)), milliseconds(4));
  int gave_up = 0;
  std::vector<absl::StatusOr<int>> got =
      co_await drain_impatiently(s, milliseconds(3), &gave_up);
  std::vector<int> items;
  for (const auto& r : got) {
    if (r.ok()) items.push_back(*r);
  }
  EXPECT_EQ(items, ints(0, 1, 2));
  EXPECT_GT(gave_up, 0);
  EXPECT_GT(got.size(), items.size());  // some deadlines were yielded too
  EXPECT_EQ(timers_active(), 0u);
  time::resume();
}

// ---- from_receiver ----

static_assert(Receiver<TestChannel<int>::Receiver>);
static_assert(!Receiver<int>);

Task<void> send_spaced(TestChannel<int>::Sender tx, int n, Duration gap) {
  for (int i = 0; i < n; ++i) {
    co_await sleep(gap);
    tx.send(i);
  }
  tx.close();
}

KEEL_TEST(StreamFromReceiver, YieldsUntilClosed) {
  auto [tx, rx] = TestChannel<int>::make();
  tx.send(1);
  tx.send(2);
  tx.close();
  auto coll1 = collect(from_receiver(std::move(rx)));
  EXPECT_EQ(co_await std::move(coll1), ints(1, 2));
}

KEEL_TEST(StreamCancellation, FromReceiver) {
  time::pause();
  auto [tx, rx] = TestChannel<int>::make();
  auto producer = spawn(send_spaced(tx, kItems, kPeriod));
  auto drain10 = expect_impatient_drain(from_receiver(std::move(rx)), ints(0, 1, 2, 3, 4));
  co_await std::move(drain10);
  co_await producer;
  time::resume();
}

// Many producer threads and a consumer whose next() loses a select to yield_now() most of the
// time: every value arrives exactly once.
Task<void> send_many(TestChannel<int>::Sender tx, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    tx.send(i);
    if (i % 7 == 0) co_await yield_now();
  }
}
Task<void> yield_once() { co_await yield_now(); }

KEEL_TEST(StreamCancellation, FromReceiverStress) {
  constexpr int kProducers = 4;
  constexpr int kPer = 2000;
  auto [tx, rx] = TestChannel<int>::make();
  std::vector<JoinHandle<void>> producers;
  for (int p = 0; p < kProducers; ++p) producers.push_back(spawn(send_many(tx, p * kPer, kPer)));
  auto s = map(from_receiver(std::move(rx)), [](int x) { return x; });
  std::vector<int> seen(kProducers * kPer, 0);
  int received = 0;
  int lost_races = 0;
  while (received < kProducers * kPer) {
    Task<std::optional<int>> next = next_task(s);
    Task<void> yield = yield_once();
    auto r = co_await select(std::move(next), std::move(yield));
    if (r.index() == 1) {
      ++lost_races;
      continue;
    }
    std::optional<int> v = std::get<0>(std::move(r));
    KEEL_ASSERT_TRUE(v.has_value());
    ++seen[*v];
    ++received;
  }
  for (auto& h : producers) co_await h;
  tx.close();
  EXPECT_FALSE((co_await s.next()).has_value());
  for (int i = 0; i < kProducers * kPer; ++i) EXPECT_EQ(seen[i], 1) << "value " << i;
  (void)lost_races;
}

}  // namespace
}  // namespace keel::stream
