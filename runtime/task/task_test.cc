// Tests of Task, spawn, JoinHandle, yield_now and the combinators, on every flavour.

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

using std::chrono::milliseconds;

Task<int> answer() { co_return 42; }

Task<int> add(int a, int b) {
  int x = co_await answer();
  co_return a + b + x - 42;
}

Task<void> thrower() {
  co_await yield_now();
  throw std::runtime_error("boom");
}

KEEL_TEST(Task, AwaitsInlineAndReturnsValues) {
  EXPECT_EQ(co_await answer(), 42);
  EXPECT_EQ(co_await add(1, 2), 3);
  co_return;
}

KEEL_TEST(Task, ExceptionPropagatesToAwaiter) {
  bool caught = false;
  try {
    co_await thrower();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "boom";
  }
  EXPECT_TRUE(caught);
}

KEEL_TEST(Spawn, JoinGivesTheValue) {
  JoinHandle<int> h = spawn(add(2, 3));
  absl::StatusOr<int> v = co_await h;
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 5);
  EXPECT_TRUE(h.is_finished());
}

KEEL_TEST(Spawn, ExceptionIsRethrownToJoiner) {
  JoinHandle<void> h = spawn(thrower());
  bool caught = false;
  try {
    (void)co_await h;
  } catch (const std::runtime_error&) {
    caught = true;
  }
  EXPECT_TRUE(caught);
}

Task<int> count_to(int n) {
  int i = 0;
  for (; i < n; ++i) co_await yield_now();
  co_return i;
}

KEEL_TEST(Spawn, ManyTasksAllComplete) {
  std::vector<JoinHandle<int>> hs;
  for (int i = 0; i < 1000; ++i) hs.push_back(spawn(count_to(i % 7)));
  int sum = 0;
  for (auto& h : hs) {
    absl::StatusOr<int> v = co_await h;
    KEEL_ASSERT_OK(v);
    sum += *v;
  }
  int expected = 0;
  for (int i = 0; i < 1000; ++i) expected += i % 7;
  EXPECT_EQ(sum, expected);
}

Task<void> sleep_forever(std::shared_ptr<std::atomic<bool>> destroyed,
                         std::shared_ptr<std::atomic<bool>> started = nullptr) {
  if (started) started->store(true);
  struct Flag {
    std::shared_ptr<std::atomic<bool>> f;
    ~Flag() { f->store(true); }
  } flag{std::move(destroyed)};
  co_await sleep(std::chrono::hours(24 * 365));
}

KEEL_TEST(Spawn, AbortCancelsATaskParkedOnATimer) {
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = spawn(sleep_forever(destroyed, started));
  while (!started->load()) co_await yield_now();
  h.abort();
  absl::Status s = co_await h;
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_TRUE(destroyed->load());
  EXPECT_EQ(Handle::current().metrics().timers_active, 0u);
}

Task<void> wait_on(JoinHandle<void> h, std::shared_ptr<std::atomic<bool>> destroyed) {
  struct Flag {
    std::shared_ptr<std::atomic<bool>> f;
    ~Flag() { f->store(true); }
  } flag{std::move(destroyed)};
  (void)co_await h;
}

KEEL_TEST(Spawn, AbortCancelsATaskParkedOnAJoinHandle) {
  auto d1 = std::make_shared<std::atomic<bool>>(false);
  auto d2 = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> inner = spawn(sleep_forever(d1, started));
  JoinHandle<void> outer = spawn(wait_on(std::move(inner), d2));
  while (!started->load()) co_await yield_now();
  co_await yield_now();
  outer.abort();
  EXPECT_TRUE(absl::IsCancelled(co_await outer));
  EXPECT_TRUE(d2->load());
  // The inner task was detached when the outer's handle to it was destroyed; it still runs.
  EXPECT_FALSE(d1->load());
}

KEEL_TEST(Spawn, DroppedHandleDetaches) {
  auto done = std::make_shared<std::atomic<int>>(0);
  {
    JoinHandle<void> h = spawn([](std::shared_ptr<std::atomic<int>> d) -> Task<void> {
      co_await yield_now();
      d->fetch_add(1);
    }(done));
  }
  while (done->load() == 0) co_await yield_now();
  EXPECT_EQ(done->load(), 1);
}

Task<void> yield_forever(std::shared_ptr<std::atomic<bool>> destroyed,
                         std::shared_ptr<std::atomic<bool>> started) {
  struct Flag {
    std::shared_ptr<std::atomic<bool>> f;
    ~Flag() { f->store(true); }
  } flag{std::move(destroyed)};
  started->store(true);
  for (;;) co_await yield_now();
}

KEEL_TEST(Spawn, AbortCancelsATaskThatKeepsYielding) {
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = spawn(yield_forever(destroyed, started));
  while (!started->load()) co_await yield_now();
  h.abort();
  EXPECT_TRUE(absl::IsCancelled(co_await h));
  EXPECT_TRUE(destroyed->load());
}

Task<void> join_two_sleepers(std::shared_ptr<std::atomic<bool>> d1,
                             std::shared_ptr<std::atomic<bool>> d2,
                             std::shared_ptr<std::atomic<bool>> started) {
  started->store(true);
  co_await join(sleep_forever(std::move(d1)), sleep_forever(std::move(d2)));
}

KEEL_TEST(Combinators, AbortDestroysEveryBranchOfAJoin) {
  auto d1 = std::make_shared<std::atomic<bool>>(false);
  auto d2 = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = spawn(join_two_sleepers(d1, d2, started));
  while (!started->load() || Handle::current().metrics().timers_active < 2) {
    co_await yield_now();
  }
  h.abort();
  EXPECT_TRUE(absl::IsCancelled(co_await h));
  EXPECT_TRUE(d1->load());
  EXPECT_TRUE(d2->load());
  EXPECT_EQ(Handle::current().metrics().timers_active, 0u);
}

Task<int> select_then_value(std::shared_ptr<std::atomic<bool>> d) {
  // A select nested inside a join branch: wakers route through two levels of branches.
  auto r = co_await select(sleep_forever(std::move(d)), count_to(2));
  co_return static_cast<int>(r.index());
}

KEEL_TEST(Combinators, NestedSelectInsideJoin) {
  time::pause();
  auto d = std::make_shared<std::atomic<bool>>(false);
  auto [a, b] = co_await join(select_then_value(d), count_to(4));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 4);
  EXPECT_TRUE(d->load());
}

KEEL_TEST(Combinators, JoinRunsBoth) {
  auto [a, b] = co_await join(count_to(3), add(1, 1));
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 2);
}

KEEL_TEST(Combinators, JoinAll) {
  std::vector<Task<int>> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(count_to(i));
  std::vector<int> out = co_await join_all(std::move(tasks));
  KEEL_ASSERT_TRUE(out.size() == 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i);
}

KEEL_TEST(Combinators, SelectDestroysTheLoser) {
  time::pause();
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  auto r = co_await select(sleep_forever(destroyed), count_to(5));
  EXPECT_EQ(r.index(), 1u);
  EXPECT_EQ(std::get<1>(r), 5);
  EXPECT_TRUE(destroyed->load());
  EXPECT_EQ(Handle::current().metrics().timers_active, 0u);
}

KEEL_TEST(Timeout, ExpiresOnThePausedClock) {
  time::pause();
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  Instant start = Instant::now();
  absl::Status s = co_await timeout(milliseconds(500), sleep_forever(destroyed));
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_TRUE(destroyed->load());
  EXPECT_EQ(Instant::now() - start, milliseconds(500));
}

KEEL_TEST(Timeout, CompletesInTime) {
  time::pause();
  absl::StatusOr<int> v = co_await timeout(milliseconds(500), count_to(3));
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 3);
}

TaskLocal<std::string> request_id;

Task<std::string> read_local() {
  co_await yield_now();
  const std::string* v = request_id.get();
  co_return v ? *v : std::string("<none>");
}

KEEL_TEST(TaskLocal, ScopesFollowTheTaskAndBranches) {
  EXPECT_EQ(co_await read_local(), "<none>");
  EXPECT_EQ(co_await request_id.scope("outer", read_local()), "outer");
  auto [a, b] = co_await join(request_id.scope("a", read_local()), request_id.scope("b", read_local()));
  EXPECT_EQ(a, "a");
  EXPECT_EQ(b, "b");
  EXPECT_EQ(request_id.get(), nullptr);
}

}  // namespace
}  // namespace keel
