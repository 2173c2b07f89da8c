// RuntimeMetrics: a snapshot of what a runtime's schedulers, driver and pools have done.
//
//   keel::RuntimeMetrics m = runtime.metrics();
//   std::cout << m.to_prometheus();
//
// Counters (`*_total`) only grow; gauges (depths, counts of live things) are the values at
// the snapshot. Per-worker counters are written by their worker with relaxed stores and read
// here without stopping it, so a snapshot is consistent per counter, not across counters.
//
// Thread-safety: a snapshot is a value.
#ifndef KEEL_RUNTIME_METRICS_METRICS_H_
#define KEEL_RUNTIME_METRICS_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/detail/concurrency.h"

namespace keel {

struct WorkerMetrics {
  std::uint64_t polls_total = 0;           // task polls
  std::uint64_t steals_total = 0;          // tasks taken from other workers
  std::uint64_t steal_operations_total = 0;
  std::uint64_t parks_total = 0;           // times the worker went to sleep
  std::uint64_t noops_total = 0;           // wake-ups that found no work
  std::uint64_t local_schedules_total = 0; // tasks queued on this worker
  std::uint64_t overflows_total = 0;       // times the ring spilled into the global queue
  std::uint64_t busy_ns_total = 0;         // time between waking up and parking
  std::uint64_t local_queue_depth = 0;
};

struct RuntimeMetrics {
  std::string flavor;  // "current_thread" or "multi_thread"
  std::vector<WorkerMetrics> workers;
  std::uint64_t global_queue_depth = 0;
  std::uint64_t remote_schedules_total = 0;  // tasks queued from outside a worker
  std::uint64_t spawned_tasks_total = 0;
  std::uint64_t alive_tasks = 0;
  std::uint64_t io_events_total = 0;
  std::uint64_t busy_poll_caught_total = 0;  // driver spins that caught an event
  std::uint64_t busy_poll_missed_total = 0;  // driver spins that ran out without one
  std::uint64_t registered_fds = 0;
  std::uint64_t timers_active = 0;
  std::uint64_t timers_fired_total = 0;
  std::uint64_t blocking_threads = 0;
  std::uint64_t idle_blocking_threads = 0;
  std::uint64_t blocking_queue_depth = 0;
  std::uint64_t slow_polls_total = 0;

  // Sums over workers.
  WorkerMetrics total() const;
  // Prometheus text exposition format (version 0.0.4), metric names prefixed `keel_`.
  std::string to_prometheus() const;
};

namespace detail {

// A counter written by one thread and read by any: relaxed load/store, no read-modify-write.
class LocalCounter {
 public:
  void add(std::uint64_t n = 1) {
    // ORDERING: relaxed; single writer, readers only need an eventually-current value.
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(std::uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  std::uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  Atomic<std::uint64_t> v_{0};
};

struct WorkerCounters {
  LocalCounter polls, steals, steal_operations, parks, noops, local_schedules, overflows, busy_ns;
  WorkerMetrics snapshot() const;
};

}  // namespace detail
}  // namespace keel

#endif  // KEEL_RUNTIME_METRICS_METRICS_H_
