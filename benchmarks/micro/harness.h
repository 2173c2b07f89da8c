// What every micro benchmark shape shares: the runtimes (as the Tokio peer builds them), error
// checks, and run_shape(), which runs one measured driver task per iteration. See micro.cc for
// the timing rules.
//
// Thread-safety: used from the benchmark's main thread.
#ifndef KEEL_BENCHMARKS_MICRO_HARNESS_H_
#define KEEL_BENCHMARKS_MICRO_HARNESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "runtime/keel.h"

namespace keel_micro {

using Clock = std::chrono::steady_clock;

// Worker threads of every multi_thread runtime, as in the Tokio peer (and this machine's cores).
constexpr std::size_t kWorkers = 2;

[[noreturn]] inline void die(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "micro: %s: %s\n", what, std::string(status.message()).c_str());
  std::abort();
}

inline void check(const absl::Status& status, const char* what) {
  if (!status.ok()) die(what, status);
}

inline double seconds(keel::Duration d) { return std::chrono::duration<double>(d).count(); }

// Every runtime enables everything (the peer enables Tokio's time driver in every shape, so
// that idle workers park on the same kind of driver).
inline absl::StatusOr<keel::Runtime> multi_thread_runtime() {
  return keel::Runtime::new_multi_thread().worker_threads(kWorkers).enable_all().build();
}

inline absl::StatusOr<keel::Runtime> current_thread_runtime() {
  return keel::Runtime::new_current_thread().enable_all().build();
}

// Builds a runtime with `make_runtime`, runs the driver task `make_driver()` on it, reports its
// measured time, and drops the runtime outside the measurement. `make_driver()` gives a Task
// whose value is a Duration.
template <class MakeRuntime, class MakeDriver>
void run_shape(benchmark::State& state, std::uint64_t ops, MakeRuntime make_runtime,
               MakeDriver make_driver) {
  for (auto _ : state) {
    absl::StatusOr<keel::Runtime> rt = make_runtime();
    if (!rt.ok()) {
      state.SkipWithError(std::string(rt.status().message()).c_str());
      break;
    }
    const keel::Duration elapsed = rt->block_on(make_driver());
    state.SetIterationTime(seconds(elapsed));
  }  // the runtime shuts down here, unmeasured
  state.SetItemsProcessed(static_cast<std::int64_t>(ops) * state.iterations());
}


// A shape: its name (the Tokio peer's) and its Google Benchmark function.
using Shape = std::pair<const char*, void (*)(benchmark::State&)>;

// The shapes of sync_shapes.cc (sync primitives and channels), in the order they run.
std::vector<Shape> sync_shapes();

}  // namespace keel_micro

#endif  // KEEL_BENCHMARKS_MICRO_HARNESS_H_
