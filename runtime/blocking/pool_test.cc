// Tests of spawn_blocking and the blocking pool: values, exceptions, concurrency, the runtime
// context of pool threads, the thread bound, keep-alive, shutdown, cancellation of queued
// tasks, and how in-flight blocking work holds back the paused clock.
//
// Blocking tasks run on real threads, so the tests wait for them by yielding (async side) or
// spinning with std::this_thread::yield (blocking side) until a condition holds, giving up
// after a generous real-time bound so that a broken pool fails the test instead of hanging
// it. No test asserts how long anything took.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

using Flag = std::shared_ptr<std::atomic<bool>>;
using Counter = std::shared_ptr<std::atomic<int>>;
Flag make_flag() { return std::make_shared<std::atomic<bool>>(false); }
Counter make_counter() { return std::make_shared<std::atomic<int>>(0); }

// Only a give-up bound for a broken pool; a correct one is far quicker.
constexpr auto kGiveUp = std::chrono::seconds(60);

using testing::eventually;

// Blocking side (a pool thread, or the test's main thread): spins until pred() holds.
template <class Pred>
bool spin_until(Pred pred) {
  auto give_up = std::chrono::steady_clock::now() + kGiveUp;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

// Some work that takes a little while without sleeping: a window in which an overlapping
// task (if the pool ran two) would be caught.
void busy_work() {
  for (int i = 0; i < 2000; ++i) std::this_thread::yield();
}

RuntimeMetrics metrics() { return Handle::current().metrics(); }

KEEL_TEST(Blocking, ReturnsValues) {
  JoinHandle<int> h = spawn_blocking([] { return 6 * 7; });
  absl::StatusOr<int> v = co_await h;
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 42);
  std::string text = "moved in";
  // The handle is made in a statement of its own, not inside the co_await: GCC 12 miscompiles
  // an aggregate temporary (such as this lambda, which owns a std::string) that is passed by
  // value within a co_await expression: it is copied bitwise, and the string then frees its
  // original's buffer. (Reproduced without Keel; it does not depend on the callee.)
  JoinHandle<std::string> h2 = spawn_blocking([t = std::move(text)] { return t + " and back"; });
  absl::StatusOr<std::string> s = co_await h2;
  KEEL_ASSERT_OK(s);
  EXPECT_EQ(*s, "moved in and back");
}

KEEL_TEST(Blocking, ReturnsVoid) {
  Flag ran = make_flag();
  JoinHandle<void> h = spawn_blocking([ran] { ran->store(true); });
  absl::Status s = co_await h;
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(ran->load());
}

KEEL_TEST(Blocking, ReturnsMoveOnlyValues) {
  absl::StatusOr<std::unique_ptr<int>> p = co_await spawn_blocking([] {
    return std::make_unique<int>(5);
  });
  KEEL_ASSERT_OK(p);
  KEEL_ASSERT_TRUE(*p != nullptr);
  EXPECT_EQ(**p, 5);
}

KEEL_TEST(Blocking, ExceptionIsRethrownOnJoin) {
  JoinHandle<int> h = spawn_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
  bool caught = false;
  try {
    (void)co_await h;
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "disk on fire";
  }
  EXPECT_TRUE(caught);
  // The pool thread survived it.
  absl::StatusOr<int> v = co_await spawn_blocking([] { return 1; });
  KEEL_ASSERT_OK(v);
}

KEEL_TEST(Blocking, ManyConcurrentTasks) {
  constexpr int kTasks = 200;
  std::vector<JoinHandle<long>> hs;
  for (int i = 0; i < kTasks; ++i) {
    hs.push_back(spawn_blocking([i] {
      busy_work();
      return static_cast<long>(i) * 3;
    }));
  }
  long sum = 0;
  for (auto& h : hs) {
    absl::StatusOr<long> v = co_await h;
    KEEL_ASSERT_OK(v);
    sum += *v;
  }
  EXPECT_EQ(sum, 3L * kTasks * (kTasks - 1) / 2);
  EXPECT_LE(metrics().blocking_threads, 512u);
}

Task<int> answer() { co_return 42; }

KEEL_TEST(Blocking, HandleCurrentWorksOnABlockingThread) {
  time::pause();
  Instant paused_at = Instant::now();
  std::thread::id here = std::this_thread::get_id();
  auto h = spawn_blocking([here, paused_at] {
    struct Seen {
      bool has_runtime = false;
      bool other_thread = false;
      bool same_clock = false;
      std::string flavor;
      JoinHandle<int> spawned;
    } seen;
    std::optional<Handle> handle = Handle::try_current();
    seen.has_runtime = handle.has_value();
    seen.other_thread = std::this_thread::get_id() != here;
    // Instant::now() reads this runtime's (paused) clock.
    seen.same_clock = Instant::now() == paused_at;
    seen.flavor = Handle::current().metrics().flavor;
    // Spawning from a blocking thread puts the task on the runtime.
    seen.spawned = Handle::current().spawn(answer());
    return seen;
  });
  auto seen = co_await h;
  KEEL_ASSERT_OK(seen);
  EXPECT_TRUE(seen->has_runtime);
  EXPECT_TRUE(seen->other_thread);
  EXPECT_TRUE(seen->same_clock);
  EXPECT_EQ(seen->flavor, metrics().flavor);
  absl::StatusOr<int> v = co_await seen->spawned;
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 42);
}

KEEL_TEST(Blocking, MetricsCountBlockingThreads) {
  constexpr int kBlocked = 4;
  Counter started = make_counter();
  Flag release = make_flag();
  std::vector<JoinHandle<bool>> hs;
  for (int i = 0; i < kBlocked; ++i) {
    hs.push_back(spawn_blocking([started, release] {
      started->fetch_add(1);
      return spin_until([&] { return release->load(); });
    }));
  }
  EXPECT_TRUE(co_await eventually([&] { return started->load() == kBlocked; }));
  RuntimeMetrics m = metrics();
  EXPECT_GE(m.blocking_threads, static_cast<std::uint64_t>(kBlocked));
  EXPECT_EQ(m.blocking_queue_depth, 0u);
  release->store(true);
  for (auto& h : hs) {
    absl::StatusOr<bool> ok = co_await h;
    KEEL_ASSERT_OK(ok);
    EXPECT_TRUE(*ok);
  }
  // The threads stay (keep-alive is 10 s by default), idle.
  EXPECT_TRUE(co_await eventually([] {
    RuntimeMetrics m = metrics();
    return m.blocking_threads >= kBlocked && m.idle_blocking_threads == m.blocking_threads;
  }));
}

// While a blocking task is in flight the runtime is not idle: the paused clock must not jump
// ahead to a sleeper's deadline.
KEEL_TEST(Blocking, PausedClockHoldsWhileABlockingTaskRuns) {
  time::pause();
  Instant start = Instant::now();
  Flag slept = make_flag();
  JoinHandle<void> sleeper = spawn([](Flag s) -> Task<void> {
    co_await sleep(hours(1));
    s->store(true);
  }(slept));
  JoinHandle<bool> blocking = spawn_blocking([slept] {
    busy_work();
    busy_work();
    return slept->load();
  });
  absl::StatusOr<bool> slept_meanwhile = co_await blocking;
  KEEL_ASSERT_OK(slept_meanwhile);
  EXPECT_FALSE(*slept_meanwhile);
  EXPECT_TRUE((co_await sleeper).ok());
  EXPECT_EQ(Instant::now() - start, hours(1));
}

std::uint64_t total_parks() {
  std::uint64_t n = 0;
  for (const WorkerMetrics& w : Handle::current().metrics().workers) n += w.parks_total;
  return n;
}

// The runtime goes idle (a sleeper waits on the paused clock) while a detached blocking task
// still runs, so it cannot auto-advance yet. When that task finishes, the runtime must look
// again and advance the clock (it used to sleep in epoll_wait forever).
KEEL_TEST(Blocking, PausedClockAdvancesOnceTheLastBlockingTaskFinishes) {
  time::pause();
  for (int round = 0; round < 3; ++round) {
    Instant start = Instant::now();
    JoinHandle<void> sleeper = spawn(sleep_task(hours(1)));
    std::uint64_t parks = total_parks();
    {
      JoinHandle<bool> detached = spawn_blocking([parks] {
        // Finish only after a worker parked (the one running this test, once it awaits the
        // sleeper) with this task in flight.
        return spin_until([&] { return total_parks() > parks; });
      });
    }
    EXPECT_TRUE((co_await sleeper).ok());
    EXPECT_EQ(Instant::now() - start, hours(1));
  }
}

KEEL_TEST(Blocking, AbortingARunningTaskLetsItFinish) {
  Flag started = make_flag();
  Flag release = make_flag();
  JoinHandle<int> h = spawn_blocking([started, release] {
    started->store(true);
    spin_until([&] { return release->load(); });
    return 9;
  });
  EXPECT_TRUE(co_await eventually([&] { return started->load(); }));
  h.abort();  // too late: it runs to the end
  release->store(true);
  absl::StatusOr<int> v = co_await h;
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 9);
}

// Runs `body` on a fresh runtime of every flavour built with `configure`.
void run_with(const std::function<void(Runtime::Builder&)>& configure, Task<void> (*body)()) {
  for (const testing::Flavor& f : testing::all_flavors()) {
    SCOPED_TRACE(f.name);
    Runtime rt = testing::make_runtime(f, configure);
    rt.block_on(body());
  }
}

Task<void> one_at_a_time() {
  constexpr int kTasks = 10;
  struct State {
    std::mutex mu;
    std::vector<int> order;
    std::atomic<int> running{0};
    std::atomic<int> max_running{0};
    std::atomic<std::uint64_t> max_threads{0};
  };
  auto st = std::make_shared<State>();
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < kTasks; ++i) {
    hs.push_back(spawn_blocking([st, i] {
      int now = st->running.fetch_add(1) + 1;
      int prev = st->max_running.load();
      while (now > prev && !st->max_running.compare_exchange_weak(prev, now)) {
      }
      std::uint64_t threads = Handle::current().metrics().blocking_threads;
      std::uint64_t prev_threads = st->max_threads.load();
      while (threads > prev_threads &&
             !st->max_threads.compare_exchange_weak(prev_threads, threads)) {
      }
      busy_work();
      {
        std::lock_guard lock(st->mu);
        st->order.push_back(i);
      }
      st->running.fetch_sub(1);
    }));
  }
  // All but the first are queued behind it.
  EXPECT_LE(metrics().blocking_threads, 1u);
  for (auto& h : hs) EXPECT_TRUE((co_await h).ok());
  EXPECT_EQ(st->max_running.load(), 1);
  EXPECT_EQ(st->max_threads.load(), 1u);
  std::lock_guard lock(st->mu);
  std::vector<int> fifo;
  for (int i = 0; i < kTasks; ++i) fifo.push_back(i);
  EXPECT_EQ(st->order, fifo);  // queued tasks run in FIFO order
}

TEST(BlockingPool, OneThreadRunsTasksOneAtATimeInOrder) {
  run_with([](Runtime::Builder& b) { b.max_blocking_threads(1); }, &one_at_a_time);
}

Task<void> idle_threads_exit(Counter stopped) {
  for (int round = 0; round < 3; ++round) {
    int stopped_before = stopped->load();
    std::vector<JoinHandle<int>> hs;
    for (int i = 0; i < 3; ++i) hs.push_back(spawn_blocking([i] { return i; }));
    for (auto& h : hs) EXPECT_TRUE((co_await h).ok());
    // Idle for longer than the keep-alive, each thread exits (and says so).
    EXPECT_TRUE(co_await eventually([] { return metrics().blocking_threads == 0; }))
        << metrics().blocking_threads << " threads left";
    // A thread stops counting just before its stop hook runs: wait for the hook too. (The
    // Task is made in its own statement: GCC 12 miscompiles a lambda capturing a non-trivial
    // value as a temporary inside a co_await expression.)
    Task<bool> hooks_ran = eventually([stopped, stopped_before] {
      return stopped->load() > stopped_before;
    });
    EXPECT_TRUE(co_await std::move(hooks_ran));
    EXPECT_EQ(metrics().idle_blocking_threads, 0u);
  }
  // And new work starts a new thread.
  absl::StatusOr<int> v = co_await spawn_blocking([] { return 5; });
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 5);
}

Counter keep_alive_stopped;

Task<void> idle_threads_exit_body() { return idle_threads_exit(keep_alive_stopped); }

TEST(BlockingPool, IdleThreadsExitAfterTheKeepAlive) {
  keep_alive_stopped = make_counter();
  Counter stopped = keep_alive_stopped;
  run_with(
      [stopped](Runtime::Builder& b) {
        b.thread_keep_alive(milliseconds(1));
        // Counts pool threads too (worker threads stop only at shutdown).
        b.on_thread_stop([stopped] { stopped->fetch_add(1); });
      },
      &idle_threads_exit_body);
  keep_alive_stopped.reset();
}

Task<void> abort_queued() {
  Flag started = make_flag();
  Flag release = make_flag();
  Flag ran = make_flag();
  JoinHandle<int> first = spawn_blocking([started, release] {
    started->store(true);
    spin_until([&] { return release->load(); });
    return 1;
  });
  EXPECT_TRUE(co_await eventually([&] { return started->load(); }));
  // The only pool thread is busy: this one waits in the queue.
  JoinHandle<int> queued = spawn_blocking([ran] {
    ran->store(true);
    return 2;
  });
  EXPECT_EQ(metrics().blocking_queue_depth, 1u);
  queued.abort();
  release->store(true);
  absl::StatusOr<int> q = co_await queued;
  EXPECT_TRUE(absl::IsCancelled(q.status())) << q.status();
  EXPECT_FALSE(ran->load());
  absl::StatusOr<int> f = co_await first;
  KEEL_ASSERT_OK(f);
  EXPECT_EQ(*f, 1);
  EXPECT_EQ(metrics().blocking_queue_depth, 0u);
}

TEST(BlockingPool, AbortingAQueuedTaskCancelsIt) {
  run_with([](Runtime::Builder& b) { b.max_blocking_threads(1); }, &abort_queued);
}

// Runtime::shutdown_timeout waits for a running blocking task (here: one that is still busy
// when shutdown starts).
TEST(BlockingPool, ShutdownWaitsForARunningTask) {
  for (const testing::Flavor& f : testing::all_flavors()) {
    SCOPED_TRACE(f.name);
    Runtime rt = testing::make_runtime(f);
    Flag started = make_flag();
    Flag release = make_flag();
    Flag finished = make_flag();
    {
      JoinHandle<void> h = rt.spawn_blocking([started, release, finished] {
        started->store(true);
        spin_until([&] { return release->load(); });
        busy_work();
        finished->store(true);
      });
    }
    ASSERT_TRUE(spin_until([&] { return started->load(); }));
    release->store(true);
    rt.shutdown_timeout(kGiveUp);
    EXPECT_TRUE(finished->load());
  }
}

// ... but only up to the timeout: then shutdown returns, and the task finishes on its own.
TEST(BlockingPool, ShutdownGivesUpAfterTheTimeout) {
  for (const testing::Flavor& f : testing::all_flavors()) {
    SCOPED_TRACE(f.name);
    Flag started = make_flag();
    Flag release = make_flag();
    Flag finished = make_flag();
    Counter stopped = make_counter();
    Runtime rt = testing::make_runtime(f, [stopped](Runtime::Builder& b) {
      b.on_thread_stop([stopped] { stopped->fetch_add(1); });
    });
    JoinHandle<int> h = rt.spawn_blocking([started, release, finished] {
      started->store(true);
      spin_until([&] { return release->load(); });
      finished->store(true);
      return 3;
    });
    ASSERT_TRUE(spin_until([&] { return started->load(); }));
    rt.shutdown_timeout(milliseconds(10));
    EXPECT_FALSE(finished->load());  // it cannot have finished: it waits for `release`
    EXPECT_FALSE(h.is_finished());
    int stopped_before = stopped->load();  // the workers have stopped by now
    release->store(true);
    EXPECT_TRUE(spin_until([&] { return h.is_finished(); }));
    EXPECT_TRUE(finished->load());
    // Its thread exits by itself once done (workers stopped already, at shutdown).
    EXPECT_TRUE(spin_until([&] { return stopped->load() == stopped_before + 1; }));
  }
}

// Shutdown cancels tasks still waiting in the queue: they never run.
TEST(BlockingPool, ShutdownCancelsQueuedTasks) {
  for (const testing::Flavor& f : testing::all_flavors()) {
    SCOPED_TRACE(f.name);
    Runtime rt = testing::make_runtime(f, [](Runtime::Builder& b) { b.max_blocking_threads(1); });
    Flag started = make_flag();
    Flag release = make_flag();
    Flag queued_ran = make_flag();
    JoinHandle<void> running = rt.spawn_blocking([started, release] {
      started->store(true);
      spin_until([&] { return release->load(); });
    });
    ASSERT_TRUE(spin_until([&] { return started->load(); }));
    JoinHandle<void> queued = rt.spawn_blocking([queued_ran] { queued_ran->store(true); });
    EXPECT_EQ(rt.metrics().blocking_queue_depth, 1u);
    // Release the running task only once shutdown has cancelled the queued one (before that,
    // the queued one cannot finish: the only pool thread is busy).
    std::thread releaser([release, &queued] {
      spin_until([&] { return queued.is_finished(); });
      release->store(true);
    });
    rt.shutdown_timeout(kGiveUp);
    releaser.join();
    EXPECT_TRUE(queued.is_finished());
    EXPECT_TRUE(running.is_finished());
    EXPECT_FALSE(queued_ran->load());
  }
}

}  // namespace
}  // namespace keel
