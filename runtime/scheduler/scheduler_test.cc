// Scheduler behaviour: stress, cross-worker wake-ups, shutdown mid-flight, work stealing,
// the coop budget, a worker stuck in a blocking call, metrics, dumps and the Builder.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

using std::chrono::milliseconds;

#if defined(KEEL_SANITIZER)
// Sanitizers slow every atomic ~10x: the stress shapes shrink, their interleavings do not.
constexpr int kStressTasks = 100'000;
#else
constexpr int kStressTasks = 1'000'000;
#endif

// A one-shot event a task can await: the smallest leaf, written against the Leaf API.
class Event {
 public:
  void set() {
    Waker w;
    {
      std::lock_guard lock(mu_);
      set_ = true;
      w = std::move(waker_);
    }
    std::move(w).wake();
  }
  bool is_set() {
    std::lock_guard lock(mu_);
    return set_;
  }

  struct Awaiter final : detail::Leaf {
    Event* e;
    explicit Awaiter(Event* ev) : e(ev) { await_point = {"Event", std::source_location::current()}; }
    bool await_ready() { return e->is_set(); }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard lock(e->mu_);
      if (e->set_) return false;
      e->waker_ = detail::suspend_leaf(h, this);
      return true;
    }
    void await_resume() {}
    bool poll_ready() override { return e->is_set(); }
    ~Awaiter() {
      std::lock_guard lock(e->mu_);
      e->waker_.reset();
    }
  };
  Awaiter wait() { return Awaiter(this); }

 private:
  std::mutex mu_;
  bool set_ = false;
  Waker waker_;
};

Task<void> mark(std::vector<std::atomic<std::uint8_t>>* seen, int i) {
  // ORDERING: relaxed; the joins that follow order every count before the final check.
  (*seen)[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
  co_return;
}

Task<void> spawn_range(std::vector<std::atomic<std::uint8_t>>* seen, int from, int to) {
  std::vector<JoinHandle<void>> hs;
  hs.reserve(static_cast<std::size_t>(to - from));
  for (int i = from; i < to; ++i) hs.push_back(spawn(mark(seen, i)));
  for (auto& h : hs) EXPECT_TRUE((co_await h).ok());
}

TEST(SchedulerStress, MillionTasksFromThreadsAndTasksRunExactlyOnce) {
  for (std::size_t workers : {2u, 4u}) {
    SCOPED_TRACE(workers);
    // More threads than cores, and up to a million polls under a sanitizer: the slow-poll
    // detector is not what this test is about (its own tests are in slow_poll_test.cc).
    Runtime rt = testing::make_runtime({"multi_thread", true, workers}, [](Runtime::Builder& b) {
      b.slow_poll_threshold(Duration::zero());
    });
    std::vector<std::atomic<std::uint8_t>> seen(kStressTasks);
    Handle handle = rt.handle();
    // Half the tasks come from four outside threads, half from tasks on the workers.
    constexpr int kThreads = 4;
    int outside = kStressTasks / 2;
    std::vector<std::vector<JoinHandle<void>>> per_thread(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        int per = outside / kThreads;
        for (int i = t * per; i < (t + 1) * per; ++i) {
          per_thread[static_cast<std::size_t>(t)].push_back(handle.spawn(mark(&seen, i)));
        }
      });
    }
    JoinHandle<void> inside1 = rt.spawn(spawn_range(&seen, outside, outside + outside / 2));
    JoinHandle<void> inside2 = rt.spawn(spawn_range(&seen, outside + outside / 2, kStressTasks));
    for (auto& th : threads) th.join();
    rt.block_on([](std::vector<std::vector<JoinHandle<void>>>* all, JoinHandle<void>* a,
                   JoinHandle<void>* b) -> Task<void> {
      for (auto& v : *all) {
        for (auto& h : v) EXPECT_TRUE((co_await h).ok());
      }
      EXPECT_TRUE((co_await *a).ok());
      EXPECT_TRUE((co_await *b).ok());
    }(&per_thread, &inside1, &inside2));
    int wrong = 0;
    for (auto& s : seen) wrong += s.load() != 1;
    EXPECT_EQ(wrong, 0);
    EXPECT_GE(rt.metrics().spawned_tasks_total, static_cast<std::uint64_t>(kStressTasks));
  }
}

Task<void> ping(Event* mine, Event* theirs, int rounds, std::vector<std::unique_ptr<Event>>* evs,
                int* count) {
  (void)mine;
  (void)theirs;
  for (int r = 0; r < rounds; ++r) {
    co_await (*evs)[static_cast<std::size_t>(2 * r)]->wait();
    ++*count;
    (*evs)[static_cast<std::size_t>(2 * r + 1)]->set();
  }
}

Task<void> pong(int rounds, std::vector<std::unique_ptr<Event>>* evs, int* count) {
  for (int r = 0; r < rounds; ++r) {
    (*evs)[static_cast<std::size_t>(2 * r)]->set();
    co_await (*evs)[static_cast<std::size_t>(2 * r + 1)]->wait();
    ++*count;
  }
}

KEEL_TEST(Scheduler, TasksWakeEachOtherAcrossWorkers) {
  constexpr int kRounds = 2000;
  constexpr int kPairs = 8;
  std::vector<std::vector<std::unique_ptr<Event>>> events(kPairs);
  std::vector<int> counts(2 * kPairs, 0);
  std::vector<JoinHandle<void>> hs;
  for (int p = 0; p < kPairs; ++p) {
    auto& evs = events[static_cast<std::size_t>(p)];
    for (int i = 0; i < 2 * kRounds; ++i) evs.push_back(std::make_unique<Event>());
    hs.push_back(spawn(ping(nullptr, nullptr, kRounds, &evs, &counts[static_cast<std::size_t>(2 * p)])));
    hs.push_back(spawn(pong(kRounds, &evs, &counts[static_cast<std::size_t>(2 * p + 1)])));
  }
  for (auto& h : hs) EXPECT_TRUE((co_await h).ok());
  for (int c : counts) EXPECT_EQ(c, kRounds);
}

struct DtorCounter {
  std::atomic<int>* n;
  ~DtorCounter() { n->fetch_add(1); }
};

Task<void> forever_yielding(std::atomic<int>* started, std::atomic<int>* destroyed) {
  DtorCounter c{destroyed};
  started->fetch_add(1);
  for (;;) co_await yield_now();
}

Task<void> forever_sleeping(std::atomic<int>* started, std::atomic<int>* destroyed) {
  DtorCounter c{destroyed};
  started->fetch_add(1);
  for (;;) co_await sleep(milliseconds(1));
}

TEST(SchedulerShutdown, CancelsTasksMidFlight) {
  for (const testing::Flavor& f : testing::all_flavors()) {
    SCOPED_TRACE(f.name);
    std::atomic<int> started{0}, destroyed{0};
    constexpr int kTasks = 200;
    {
      Runtime rt = testing::make_runtime(f);
      for (int i = 0; i < kTasks; ++i) {
        // Dropped handles: the runtime alone owns these tasks.
        (void)(i % 2 ? rt.spawn(forever_yielding(&started, &destroyed))
                     : rt.spawn(forever_sleeping(&started, &destroyed)));
      }
      rt.block_on([](std::atomic<int>* s) -> Task<void> {
        while (s->load() < kTasks) co_await yield_now();
      }(&started));
    }  // shutdown: every task is destroyed at its suspension point
    EXPECT_EQ(started.load(), kTasks);
    EXPECT_EQ(destroyed.load(), kTasks);
  }
}

TEST(SchedulerShutdown, SpawnAfterShutdownIsCancelled) {
  Runtime rt = testing::make_runtime({"multi_thread", true, 2});
  Handle h = rt.handle();
  rt.shutdown_timeout(std::chrono::seconds(1));
  JoinHandle<int> j = h.spawn([]() -> Task<int> { co_return 1; }());
  EXPECT_TRUE(j.is_finished());
}

std::uint64_t spin(std::uint64_t n) {
  std::uint64_t x = 0x12345;
  for (std::uint64_t i = 0; i < n; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x;
}

Task<std::thread::id> cpu_bound() {
  volatile std::uint64_t sink = spin(200'000);
  (void)sink;
  co_return std::this_thread::get_id();
}

Task<void> fan_out(std::set<std::thread::id>* threads) {
  std::vector<JoinHandle<std::thread::id>> hs;
  // Fewer than a ring holds (256), so the other worker gets them by stealing, not from the
  // global queue after an overflow.
  for (int i = 0; i < 200; ++i) hs.push_back(spawn(cpu_bound()));
  for (auto& h : hs) {
    absl::StatusOr<std::thread::id> id = co_await h;
    if (id.ok()) threads->insert(*id);
  }
}

TEST(WorkStealing, OneSpawnerKeepsBothWorkersBusy) {
  Runtime rt = testing::make_runtime({"multi_thread", true, 2});
  std::set<std::thread::id> threads;
  rt.block_on(fan_out(&threads));
  RuntimeMetrics m = rt.metrics();
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_GT(m.total().steals_total, 0u);
  EXPECT_GT(m.workers[0].polls_total, 0u);
  EXPECT_GT(m.workers[1].polls_total, 0u);
}

Task<void> set_flag(std::atomic<bool>* flag) {
  flag->store(true);
  co_return;
}

Task<void> busy_on_ready_timers(std::atomic<bool>* sibling_ran, int* iterations_before) {
  Instant past = Instant::now();
  for (int i = 0; i < 100'000; ++i) {
    co_await sleep_until(past);  // always ready: completes without suspending, but costs budget
    if (sibling_ran->load()) {
      *iterations_before = i;
      co_return;
    }
  }
  *iterations_before = -1;
}

TEST(Coop, AlwaysReadyLoopDoesNotStarveSibling) {
  Runtime rt = testing::make_runtime({"current_thread", false, 1});
  std::atomic<bool> sibling_ran{false};
  int iterations = -2;
  rt.block_on([](std::atomic<bool>* flag, int* it) -> Task<void> {
    JoinHandle<void> sibling = spawn(set_flag(flag));
    co_await busy_on_ready_timers(flag, it);
    (void)co_await sibling;
  }(&sibling_ran, &iterations));
  EXPECT_GE(iterations, 0) << "the sibling never ran during the loop";
  EXPECT_LE(iterations, detail::kCoopBudget);
}

// --- a worker stuck in a blocking call -------------------------------------------------

struct StuckScenario {
  int pipe_fds[2] = {-1, -1};
  std::atomic<bool> helper_ran{false};
  std::atomic<bool> helper_served_io{false};
  std::atomic<bool> stuck_done{false};
};

Task<void> helper_task(StuckScenario* s) {
  s->helper_ran.store(true);
  // A timer and real I/O must both be served while the other worker is stuck.
  co_await sleep(milliseconds(1));
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  absl::StatusOr<AsyncFd> a = AsyncFd::create(sv[0]);
  absl::StatusOr<AsyncFd> b = AsyncFd::create(sv[1]);
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  JoinHandle<ssize_t> writer = spawn([](AsyncFd* fd) -> Task<ssize_t> {
    co_await sleep(milliseconds(1));
    co_return co_await fd->async_io(Interest::kWritable, [fd] { return ::write(fd->fd(), "x", 1); });
  }(&*b));
  char c = 0;
  ssize_t n = co_await a->async_io(Interest::kReadable, [&] { return ::read(a->fd(), &c, 1); });
  EXPECT_EQ(n, 1);
  EXPECT_TRUE((co_await writer).ok());
  s->helper_served_io.store(c == 'x');
  // Keep the other worker stuck well past the slow-poll threshold (10 ms), whichever order
  // the scheduler ran things in, so the detector has something to report.
  co_await sleep(milliseconds(100));
  // Release the stuck worker.
  EXPECT_EQ(::write(s->pipe_fds[1], "k", 1), 1);
}

Task<void> stuck_task(StuckScenario* s) {
  // The helper lands in this worker's LIFO slot, then this worker blocks until the helper
  // has run elsewhere: only another worker taking the LIFO task can end the wait.
  JoinHandle<void> helper = spawn(helper_task(s));
  char c;
  ssize_t n = ::read(s->pipe_fds[0], &c, 1);  // a blocking read: the worker is stuck
  EXPECT_EQ(n, 1);
  s->stuck_done.store(true);
  EXPECT_TRUE((co_await helper).ok());
}

TEST(StuckWorker, OtherWorkerRunsLifoTaskServesIoAndSlowPollIsReported) {
  std::mutex mu;
  std::vector<SlowPollReport> reports;
  Runtime rt = testing::make_runtime({"multi_thread", true, 2}, [&](Runtime::Builder& b) {
    b.slow_poll_threshold(milliseconds(10)).on_slow_poll([&](const SlowPollReport& r) {
      std::lock_guard lock(mu);
      reports.push_back(r);
    });
  });
  StuckScenario s;
  ASSERT_EQ(pipe2(s.pipe_fds, O_CLOEXEC), 0);
  rt.block_on([](StuckScenario* sc) -> Task<void> {
    JoinHandle<void> stuck = spawn(stuck_task(sc), SpawnOptions{"stuck-reader"});
    EXPECT_TRUE((co_await stuck).ok());
  }(&s));
  EXPECT_TRUE(s.helper_ran.load());
  EXPECT_TRUE(s.helper_served_io.load());
  EXPECT_TRUE(s.stuck_done.load());
  std::lock_guard lock(mu);
  bool found = false;
  for (const SlowPollReport& r : reports) {
    if (r.task_name == "stuck-reader") {
      found = true;
      EXPECT_TRUE(absl::StrContains(r.to_string(), "stuck-reader")) << r.to_string();
      EXPECT_TRUE(absl::StrContains(r.spawned_at.file_name(), "scheduler_test.cc"));
    }
  }
  EXPECT_TRUE(found) << "no slow-poll report for the stuck task";
  EXPECT_GE(rt.metrics().slow_polls_total, 1u);
  close(s.pipe_fds[0]);
  close(s.pipe_fds[1]);
}

// --- metrics, dumps, builder -----------------------------------------------------------

Task<void> named_sleeper() { co_await sleep(std::chrono::hours(1)); }

KEEL_TEST(Observability, DumpListsTasksAndWhereTheyWait) {
  JoinHandle<void> h = spawn(named_sleeper(), SpawnOptions{"sleepy"});
  while (!absl::StrContains(Handle::current().dump(), "waiting on sleep")) co_await yield_now();
  std::string dump = Handle::current().dump();
  EXPECT_TRUE(absl::StrContains(dump, "'sleepy'")) << dump;
  EXPECT_TRUE(absl::StrContains(dump, "waiting on sleep at runtime/scheduler/scheduler_test.cc"))
      << dump;
  EXPECT_TRUE(absl::StrContains(dump, "named_sleeper")) << dump;
  h.abort();
  (void)co_await h;
}

Task<void> join_sleeper() {
  JoinHandle<void> inner = spawn(named_sleeper());
  (void)co_await inner;
}

KEEL_TEST(Observability, DumpNamesTheTaskAJoinWaitsFor) {
  JoinHandle<void> h = spawn(join_sleeper(), SpawnOptions{"joiner"});
  while (!absl::StrContains(Handle::current().dump(), "waiting on JoinHandle")) {
    co_await yield_now();
  }
  std::string dump = Handle::current().dump();
  // The joiner waits on the task spawned in join_sleeper(), and the dump says where that is.
  EXPECT_TRUE(absl::StrContains(dump, "waiting on JoinHandle of the task spawned at "
                                      "runtime/scheduler/scheduler_test.cc"))
      << dump;
  h.abort();
  (void)co_await h;
}

Task<void> unlocated_reader(AsyncFd* fd) {
  char c = 0;
  // io_op is not given its caller's location (the sockets' reads and writes are built on it).
  (void)co_await fd->io_op(Interest::kReadable, "test socket read",
                           [fd, &c] { return ::read(fd->fd(), &c, 1); });
}

KEEL_TEST(Observability, DumpNamesAnAwaitWithoutALocationByItsNameAlone) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  absl::StatusOr<AsyncFd> a = AsyncFd::create(sv[0]);
  KEEL_ASSERT_OK(a);
  Task<void> reader = unlocated_reader(&*a);
  JoinHandle<void> h = spawn(std::move(reader), SpawnOptions{"reader"});
  while (!absl::StrContains(Handle::current().dump(), "waiting on test socket read")) {
    co_await yield_now();
  }
  std::string dump = Handle::current().dump();
  EXPECT_TRUE(absl::StrContains(dump, "waiting on test socket read\n")) << dump;
  EXPECT_FALSE(absl::StrContains(dump, " at :0")) << dump;
  h.abort();
  (void)co_await h;
  close(sv[1]);
}

KEEL_TEST(Observability, MetricsCountAndRenderAsPrometheus) {
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < 50; ++i) hs.push_back(spawn(named_sleeper()));
  for (int i = 0; i < 50; ++i) co_await yield_now();
  RuntimeMetrics m = Handle::current().metrics();
  EXPECT_GE(m.spawned_tasks_total, 50u);
  EXPECT_GE(m.alive_tasks, 50u);
  EXPECT_GT(m.total().polls_total, 0u);
  std::string text = m.to_prometheus();
  for (const char* name :
       {"keel_worker_polls_total{worker=\"0\"}", "keel_worker_steals_total", "keel_worker_parks_total",
        "keel_global_queue_depth", "keel_io_events_total", "keel_registered_fds",
        "keel_timers_active", "keel_blocking_threads", "keel_alive_tasks",
        "# TYPE keel_spawned_tasks_total counter"}) {
    EXPECT_TRUE(absl::StrContains(text, name)) << name << "\n" << text;
  }
  for (auto& h : hs) h.abort();
  for (auto& h : hs) (void)co_await h;
}

TEST(Builder, RejectsBadSettingsWithClearErrors) {
  absl::StatusOr<Runtime> rt = Runtime::new_multi_thread().event_interval(0).build();
  ASSERT_FALSE(rt.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(rt.status()));
  EXPECT_TRUE(absl::StrContains(rt.status().message(), "event_interval"));
  rt = Runtime::new_current_thread().start_paused().build();
  ASSERT_FALSE(rt.ok());
  EXPECT_TRUE(absl::StrContains(rt.status().message(), "enable_time"));
}

TEST(Builder, ThreadHooksAndNames) {
  std::atomic<int> starts{0}, stops{0};
  {
    absl::StatusOr<Runtime> rt = Runtime::new_multi_thread()
                                     .worker_threads(3)
                                     .thread_name("hooked")
                                     .on_thread_start([&] { starts.fetch_add(1); })
                                     .on_thread_stop([&] { stops.fetch_add(1); })
                                     .build();
    ASSERT_TRUE(rt.ok()) << rt.status();
    std::string name = rt->block_on([]() -> Task<std::string> {
      // Runs on a worker (block_on on multi_thread spawns the task).
      char buf[16] = {};
      pthread_getname_np(pthread_self(), buf, sizeof buf);
      co_return std::string(buf);
    }());
    EXPECT_TRUE(absl::StartsWith(name, "hooked-")) << name;
    EXPECT_EQ(rt->metrics().workers.size(), 3u);
  }
  EXPECT_EQ(starts.load(), 3);
  EXPECT_EQ(stops.load(), 3);
}

TEST(Builder, BlockOnReturnsValuesAndRethrows) {
  for (const testing::Flavor& f : testing::all_flavors()) {
    SCOPED_TRACE(f.name);
    Runtime rt = testing::make_runtime(f);
    EXPECT_EQ(rt.block_on([]() -> Task<int> { co_return 7; }()), 7);
    EXPECT_THROW(rt.block_on([]() -> Task<void> {
      co_await yield_now();
      throw std::logic_error("x");
    }()),
                 std::logic_error);
    // The runtime is reusable after block_on returns.
    EXPECT_EQ(rt.block_on([]() -> Task<int> { co_return 8; }()), 8);
  }
}

TEST(HandleDeathTest, CurrentOutsideARuntimeAbortsWithAMessage) {
  EXPECT_DEATH((void)Handle::current(), "needs a Keel runtime");
}

}  // namespace
}  // namespace keel
