// Tests of Stream<T>, the async generator: values in order, end of stream, exceptions, awaits
// inside the generator, and the cancellation-safety of next().

#include "runtime/stream/stream.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Stream<int> count_to(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
}

KEEL_TEST(Stream, YieldsValuesInOrderThenEnds) {
  auto s = count_to(4);
  std::vector<int> got;
  while (std::optional<int> v = co_await s.next()) got.push_back(*v);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
  // A finished stream keeps answering nullopt.
  EXPECT_FALSE((co_await s.next()).has_value());
}

Stream<std::string> lazy(std::shared_ptr<int> started) {
  ++*started;
  co_yield std::string("a");
}

KEEL_TEST(Stream, IsLazy) {
  auto started = std::make_shared<int>(0);
  {
    auto s = lazy(started);
    EXPECT_EQ(*started, 0);
  }
  EXPECT_EQ(*started, 0);
  auto s = lazy(started);
  auto v = co_await s.next();
  EXPECT_EQ(*started, 1);
  EXPECT_EQ(v.value_or(""), "a");
}

Stream<int> throws_after(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
  throw std::runtime_error("generator failed");
}

KEEL_TEST(Stream, ExceptionReachesTheConsumer) {
  auto s = throws_after(1);
  EXPECT_EQ((co_await s.next()).value_or(-1), 0);
  bool caught = false;
  try {
    co_await s.next();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "generator failed";
  }
  EXPECT_TRUE(caught);
  EXPECT_FALSE((co_await s.next()).has_value());
}

Task<int> add_later(int v) {
  co_await yield_now();
  co_return v + 100;
}

Stream<int> ticking(int n, Duration period) {
  for (int i = 0; i < n; ++i) {
    co_await sleep(period);
    int v = co_await add_later(i);
    co_yield v;
  }
}

KEEL_TEST(Stream, GeneratorAwaitsTimersAndTasks) {
  time::pause();
  Instant start = Instant::now();
  auto s = ticking(3, milliseconds(10));
  std::vector<int> got;
  while (auto v = co_await s.next()) got.push_back(*v);
  EXPECT_EQ(got, (std::vector<int>{100, 101, 102}));
  EXPECT_EQ(Instant::now() - start, Duration(milliseconds(30)));
  time::resume();
}

// The consumer gives up on next() while the generator sleeps; a later next() continues from
// where the generator was, so no value is lost and none is produced twice.
KEEL_TEST(Stream, NextIsCancellationSafe) {
  time::pause();
  auto s = ticking(3, seconds(10));
  std::vector<int> got;
  int timeouts = 0;
  while (true) {
    auto next = next_task(s);
    auto r = co_await timeout(seconds(3), std::move(next));
    if (!r.ok()) {
      EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
      ++timeouts;
      continue;
    }
    if (!r->has_value()) break;
    got.push_back(**r);
  }
  EXPECT_EQ(got, (std::vector<int>{100, 101, 102}));
  EXPECT_EQ(timeouts, 9);  // three 3 s timeouts per 10 s tick
  time::resume();
}

Stream<int> forever(std::shared_ptr<bool> destroyed) {
  struct SetOnExit {
    std::shared_ptr<bool> flag;
    ~SetOnExit() { *flag = true; }
  } guard{destroyed};
  for (int i = 0;; ++i) {
    co_await sleep(seconds(1));
    co_yield i;
  }
}

KEEL_TEST(Stream, DestroyingTheStreamDestroysTheSuspendedGenerator) {
  time::pause();
  auto destroyed = std::make_shared<bool>(false);
  {
    auto s = forever(destroyed);
    EXPECT_EQ((co_await s.next()).value_or(-1), 0);
    auto next = next_task(s);
    auto r = co_await timeout(milliseconds(500), std::move(next));
    EXPECT_FALSE(r.ok());  // the generator is now suspended inside sleep()
    EXPECT_FALSE(*destroyed);
  }
  EXPECT_TRUE(*destroyed);
  EXPECT_EQ(Handle::current().metrics().timers_active, 0u);
  time::resume();
}

Task<std::vector<int>> drain(Stream<int> s) {
  std::vector<int> out;
  while (auto v = co_await s.next()) out.push_back(*v);
  co_return out;
}

// A stream moves between tasks between calls to next(): a wake-up registered while the first
// task awaited reaches the second.
KEEL_TEST(Stream, MovesToAnotherTaskMidStream) {
  time::pause();
  auto s = ticking(4, milliseconds(5));
  EXPECT_EQ((co_await s.next()).value_or(-1), 100);
  auto next = next_task(s);
  auto r = co_await timeout(milliseconds(1), std::move(next));
  EXPECT_FALSE(r.ok());
  auto h = spawn(drain(std::move(s)));
  auto rest = co_await h;
  KEEL_ASSERT_OK(rest.status());
  EXPECT_EQ(*rest, (std::vector<int>{101, 102, 103}));
  time::resume();
}

}  // namespace
}  // namespace keel
