// Keel's micro benchmarks: the runtime's basic costs, each shape the same work as the Tokio
// peer of the same name (benchmarks/peers/tokio_micro), compared by compare.sh.
//
// One line per benchmark: what one op is, and the run (mt = multi_thread with 2 workers, ct =
// current_thread); ns/op is the wall time of the measured work divided by the op count.
//   spawn_join                 spawn + join of an empty task; 1,000,000 spawned from one task, mt
//   spawn_join_current_thread  the same on ct
//   yield                      one `co_await keel::yield_now()`; 10,000,000 in one task, ct
//   chained_spawn              one link of a detached spawn chain 1,000 deep, 1,000 chains, mt
//   timers                     one seeded 0..=1000 ms sleep, 1,000,000 tasks, mt; + lateness_us
//   blocking                   one `co_await keel::spawn_blocking(...)` round trip, 100,000, mt
// and the sync shapes of sync_shapes.cc (channels, Mutex, Notify, Semaphore), listed there.
//
// Timing follows the Tokio peer's rules (see its module comment): the runtime is built before
// the clock starts and destroyed after it stops; inputs are allocated or drawn first; the
// clock runs inside the driver task (block_on's task, which runs on the runtime as the peer's
// spawned driver does), so it covers only the measured work. Hence UseManualTime: each shape
// reports the driver's own measurement with SetIterationTime, and Google Benchmark computes
// items_per_second from it. Each shape runs once (Iterations(1)) with no warm-up; compare.sh
// repeats whole processes and takes the median.
//
//   ./bazelw run -c opt //benchmarks/micro:micro -- --benchmark_filter='timers'
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "benchmarks/micro/harness.h"
#include "runtime/keel.h"

namespace keel_micro {
namespace {

constexpr std::uint64_t kSpawnJoinTasks = 1'000'000;
constexpr std::uint64_t kYields = 10'000'000;
constexpr std::uint64_t kChains = 1'000;
constexpr std::uint64_t kChainDepth = 1'000;
constexpr std::uint64_t kTimerTasks = 1'000'000;
// Each timer task sleeps a uniform random 0..=kTimerMaxDelayMs milliseconds.
constexpr std::uint64_t kTimerMaxDelayMs = 1'000;
// The peer's seed ("keel"); with SmallRng below both sides sleep the very same delays.
constexpr std::uint64_t kTimerSeed = 0x6b65'656c;
constexpr std::uint64_t kBlockingRoundTrips = 100'000;

// rand 0.8's SmallRng on 64-bit targets, as the peer uses it: `seed_from_u64` (rand_core's
// default: PCG32 output filling the 32-byte seed) then xoshiro256++, and `gen_range(0..=max)`
// for u64 (widening multiply with rejection). Reproduced so that both sides draw the same
// delays: the first are 444, 753, 143, 122 ms, and the 1,000,000 sum to 500,727,271 ms.
class SmallRng {
 public:
  explicit SmallRng(std::uint64_t state) {
    for (std::uint64_t& word : s_) {
      std::uint64_t lo = pcg32(state);
      std::uint64_t hi = pcg32(state);
      word = lo | (hi << 32);  // the seed bytes are read as little-endian u64s
    }
  }

  // Uniform in [0, max].
  std::uint64_t gen_range_inclusive(std::uint64_t max) {
    const std::uint64_t range = max + 1;
    const std::uint64_t zone = (range << __builtin_clzll(range)) - 1;
    for (;;) {
      const unsigned __int128 product = static_cast<unsigned __int128>(next_u64()) * range;
      if (static_cast<std::uint64_t>(product) <= zone) {
        return static_cast<std::uint64_t>(product >> 64);
      }
    }
  }

 private:
  static std::uint32_t pcg32(std::uint64_t& state) {
    state = state * 6364136223846793005ULL + 11634580027462260723ULL;
    const auto xorshifted = static_cast<std::uint32_t>(((state >> 18) ^ state) >> 27);
    const auto rot = static_cast<std::uint32_t>(state >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  std::uint64_t s_[4];
};

// A one-shot completion one task awaits and another sets: the end of a chained_spawn chain
// (the peer's tokio::sync::oneshot<()>). One per chain, so its mutex is off the hot path.
// notify() may run before, during or after the wait; the waiter re-checks `done_`.
class Completion {
 public:
  void notify() {
    keel::Waker waker;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      waker = std::move(waker_);
    }
    std::move(waker).wake();
  }

  class [[nodiscard]] Awaiter final : public keel::detail::Leaf {
   public:
    explicit Awaiter(Completion& c, std::source_location where) : c_(c) {
      await_point = {"Completion", where};
    }
    Awaiter(const Awaiter&) = delete;
    // Cancelled mid-wait (destroyed at its suspension point): unregister.
    ~Awaiter() {
      keel::Waker waker;
      std::lock_guard<std::mutex> lock(c_.mu_);
      waker = std::move(c_.waker_);
    }

    bool await_ready() { return c_.is_done(); }
    bool await_suspend(std::coroutine_handle<> h) {
      keel::Waker w = keel::detail::current_waker("Completion");
      {
        std::lock_guard<std::mutex> lock(c_.mu_);
        if (c_.done_) return false;
        c_.waker_ = std::move(w);
      }
      // A notify() from another worker before this line finds the task running; it is then
      // polled again after this poll, and poll_ready() sees `done_`.
      keel::detail::park_current(h, this);
      return true;
    }
    bool poll_ready() override { return c_.is_done(); }
    void await_resume() {}

   private:
    Completion& c_;
  };

  Awaiter wait(std::source_location where = std::source_location::current()) {
    return Awaiter(*this, where);
  }

 private:
  bool is_done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

  std::mutex mu_;
  bool done_ = false;
  keel::Waker waker_;
};

// ---- spawn_join, spawn_join_current_thread -------------------------------------------------

keel::Task<void> empty_task() { co_return; }

// Spawns `tasks` empty tasks, keeping every JoinHandle, then awaits them all.
keel::Task<keel::Duration> spawn_join(std::uint64_t tasks) {
  // Sized up front so that growing the vector is not part of the measurement.
  std::vector<keel::JoinHandle<void>> handles;
  handles.reserve(tasks);
  const Clock::time_point start = Clock::now();
  for (std::uint64_t i = 0; i < tasks; ++i) handles.push_back(keel::spawn(empty_task()));
  for (keel::JoinHandle<void>& handle : handles) check(co_await handle, "an empty task failed");
  co_return Clock::now() - start;
}

// ---- yield ---------------------------------------------------------------------------------

keel::Task<keel::Duration> yield_loop(std::uint64_t yields) {
  const Clock::time_point start = Clock::now();
  for (std::uint64_t i = 0; i < yields; ++i) co_await keel::yield_now();
  co_return Clock::now() - start;
}

// ---- chained_spawn -------------------------------------------------------------------------

void spawn_chain(std::uint64_t remaining, std::shared_ptr<Completion> done);

// One link: the last signals `done`, the others spawn the rest of the chain.
keel::Task<void> chain_link(std::uint64_t remaining, std::shared_ptr<Completion> done) {
  if (remaining == 1) {
    done->notify();
  } else {
    spawn_chain(remaining - 1, std::move(done));
  }
  co_return;
}

// Spawns a chain of `remaining` tasks, each spawning the next one. Each link is detached (its
// JoinHandle dropped at once), as in the peer: spawn plus schedule, no suspended parents.
void spawn_chain(std::uint64_t remaining, std::shared_ptr<Completion> done) {
  (void)keel::spawn(chain_link(remaining, std::move(done)));
}

keel::Task<keel::Duration> chained_spawn(std::uint64_t chains, std::uint64_t depth) {
  const Clock::time_point start = Clock::now();
  for (std::uint64_t i = 0; i < chains; ++i) {
    auto done = std::make_shared<Completion>();
    spawn_chain(depth, done);
    co_await done->wait();
  }
  co_return Clock::now() - start;
}

// ---- timers --------------------------------------------------------------------------------
// Reported as ns/op plus the counter `lateness_us`: the mean over all tasks of actual wake-up
// minus deadline, in microseconds (the peer's method).

// Sleeps `delay` counted from when the task starts, and gives how late it woke in nanoseconds.
// The deadline is taken inside the task so that the lateness is the timer's own, not the time
// the task waited in a run queue first. Signed, so that an early wake-up would show.
keel::Task<std::int64_t> sleep_and_measure(keel::Duration delay) {
  const keel::Instant deadline = keel::Instant::now() + delay;
  co_await keel::sleep_until(deadline);
  const keel::Instant woke = keel::Instant::now();
  co_return (woke - deadline).count();
}

struct TimersResult {
  keel::Duration elapsed;
  std::int64_t total_lateness_ns;
};

keel::Task<TimersResult> timers(std::vector<keel::Duration> delays) {
  std::vector<keel::JoinHandle<std::int64_t>> handles;
  handles.reserve(delays.size());
  const Clock::time_point start = Clock::now();
  for (keel::Duration delay : delays) handles.push_back(keel::spawn(sleep_and_measure(delay)));
  // int64 nanoseconds overflow only if 1,000,000 tasks were each ~2.5 hours late.
  std::int64_t total_lateness_ns = 0;
  for (keel::JoinHandle<std::int64_t>& handle : handles) {
    absl::StatusOr<std::int64_t> late = co_await handle;
    check(late.status(), "a timer task failed");
    total_lateness_ns += *late;
  }
  co_return TimersResult{Clock::now() - start, total_lateness_ns};
}

// ---- blocking ------------------------------------------------------------------------------

keel::Task<keel::Duration> blocking_round_trips(std::uint64_t round_trips) {
  const Clock::time_point start = Clock::now();
  for (std::uint64_t i = 0; i < round_trips; ++i) {
    check(co_await keel::spawn_blocking([] {}), "an empty blocking function failed");
  }
  co_return Clock::now() - start;
}

void bm_spawn_join(benchmark::State& state) {
  run_shape(state, kSpawnJoinTasks, multi_thread_runtime,
            [] { return spawn_join(kSpawnJoinTasks); });
}

void bm_spawn_join_current_thread(benchmark::State& state) {
  run_shape(state, kSpawnJoinTasks, current_thread_runtime,
            [] { return spawn_join(kSpawnJoinTasks); });
}

void bm_yield(benchmark::State& state) {
  run_shape(state, kYields, current_thread_runtime, [] { return yield_loop(kYields); });
}

void bm_chained_spawn(benchmark::State& state) {
  run_shape(state, kChains * kChainDepth, multi_thread_runtime,
            [] { return chained_spawn(kChains, kChainDepth); });
}

void bm_timers(benchmark::State& state) {
  double mean_lateness_us = 0;
  for (auto _ : state) {
    // The delays are drawn before the runtime starts, as in the peer.
    SmallRng rng(kTimerSeed);
    std::vector<keel::Duration> delays;
    delays.reserve(kTimerTasks);
    for (std::uint64_t i = 0; i < kTimerTasks; ++i) {
      delays.push_back(std::chrono::milliseconds(rng.gen_range_inclusive(kTimerMaxDelayMs)));
    }
    absl::StatusOr<keel::Runtime> rt = multi_thread_runtime();
    if (!rt.ok()) {
      state.SkipWithError(std::string(rt.status().message()).c_str());
      break;
    }
    const TimersResult result = rt->block_on(timers(std::move(delays)));
    state.SetIterationTime(seconds(result.elapsed));
    mean_lateness_us =
        static_cast<double>(result.total_lateness_ns) / static_cast<double>(kTimerTasks) / 1'000.0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(kTimerTasks) * state.iterations());
  state.counters["lateness_us"] = benchmark::Counter(mean_lateness_us);
}

void bm_blocking(benchmark::State& state) {
  run_shape(state, kBlockingRoundTrips, multi_thread_runtime,
            [] { return blocking_round_trips(kBlockingRoundTrips); });
}

}  // namespace
}  // namespace keel_micro

int main(int argc, char** argv) {
  // Names are the peer's shape names; Google Benchmark appends /iterations:1/manual_time.
  // clang-format off
  std::vector<keel_micro::Shape> shapes = {
      {"spawn_join", keel_micro::bm_spawn_join},
      {"spawn_join_current_thread", keel_micro::bm_spawn_join_current_thread},
      {"yield", keel_micro::bm_yield},
      {"chained_spawn", keel_micro::bm_chained_spawn},
      {"timers", keel_micro::bm_timers},
      {"blocking", keel_micro::bm_blocking},
  };
  // clang-format on
  for (const keel_micro::Shape& shape : keel_micro::sync_shapes()) shapes.push_back(shape);
  for (const auto& [name, fn] : shapes) {
    benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(name, fn);
    b->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
