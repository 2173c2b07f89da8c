// Slow-poll detection: reports a task poll that holds a worker longer than a threshold.
//
// A poll that blocks its thread (a synchronous syscall, a long computation, a mutex held
// across a slow call) stalls every task queued behind it. Each worker publishes a poll
// sequence number (odd while polling) and the id of the task it runs; a monitor thread
// samples them every threshold/2 and flags a poll it has seen running across two intervals,
// i.e. for longer than the threshold. When the flagged poll returns, its worker calls the
// handler with the task's id, name, spawn site and the await point it resumed from, so the
// report names the code that blocked. Workers pay two relaxed stores and a load per poll; no
// clock is read on the hot path.
//
// A worker thread the kernel keeps off a CPU (more runnable threads than cores: a load client
// on the same machine, a busy neighbour) also holds its poll for a long wall time without any
// blocking call in the task. Once a poll has been seen across one sampling interval, the
// monitor reads the worker thread's scheduler figures at each sample (/proc/self/task/TID/
// schedstat: CPU time and run delay; /proc/self/task/TID/stat: its state) and takes out of
// each interval the time the thread waited for a CPU: the run delay the kernel has accounted,
// and, for a thread runnable at the sample, the part of the interval it did not run (the
// kernel accounts a wait only when it ends). Only the rest, running or blocked, counts towards
// the threshold; the monitor still wakes another worker for the stalled queue either way.
// This is a sampled estimate: a blocking call that ends just before a sample counts as
// waiting for that interval. Without these files every long poll counts, as before.
//
// Thread-safety: PollActivity is written by its worker and read by the monitor; the monitor
// owns its thread.
#ifndef KEEL_RUNTIME_METRICS_SLOW_POLL_H_
#define KEEL_RUNTIME_METRICS_SLOW_POLL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include "runtime/detail/concurrency.h"
#include "runtime/task/context.h"
#include "runtime/time/instant.h"

namespace keel {

class TaskHeader;

struct SlowPollReport {
  std::size_t worker = 0;
  std::uint64_t task_id = 0;
  std::string task_name;
  std::source_location spawned_at;
  // Where the task resumed for this poll (the await it had been suspended on); empty for
  // the task's first poll.
  const char* resumed_from_what = nullptr;
  std::source_location resumed_from;
  // The poll ran at least this long (the monitor's sampling bounds it from below).
  Duration at_least{};
  // Of that, the time the worker thread waited for a CPU, as far as the monitor estimated it
  // (from the poll's second sample on); zero where unknown.
  Duration waiting_for_cpu{};

  std::string to_string() const;
};

using SlowPollHandler = std::function<void(const SlowPollReport&)>;

namespace detail {

// What the kernel says of one thread at one moment.
struct ThreadSchedSample {
  std::int64_t cpu_ns = 0;        // time on a CPU (schedstat's first field)
  std::int64_t run_delay_ns = 0;  // time runnable but waiting for a CPU, ended waits only
  bool runnable = false;          // state R: running or waiting for a CPU (not blocked)
};
// The sample of thread `tid` of this process, or nullopt where the kernel does not offer it.
std::optional<ThreadSchedSample> read_thread_sched(int tid);
using ThreadSchedReader = std::function<std::optional<ThreadSchedSample>(int tid)>;

class PollActivity {
 public:
  explicit PollActivity(std::size_t worker) : worker_(worker) {}

  void begin() {
    // ORDERING: relaxed; the monitor only needs to see the value change eventually, and the
    // report is produced on this thread.
    seq_.store(seq_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void end() { seq_.store(seq_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  // Records the calling thread as the one that runs this activity's polls (a worker at its
  // start; a current_thread runtime's block_on caller each time it drives).
  void attach_current_thread();
  bool flagged() const {
    // ORDERING: relaxed; a late flag only delays a report to the next slow poll.
    return flagged_seq_.load(std::memory_order_relaxed) == seq_.load(std::memory_order_relaxed);
  }
  // Called on the worker after a flagged poll, while the task is still alive.
  void report(const TaskHeader& task, const AwaitPoint& resumed_from);

 private:
  friend class SlowPollMonitor;
  const std::size_t worker_;
  Atomic<std::uint64_t> seq_{0};
  Atomic<std::uint64_t> flagged_seq_{~std::uint64_t{0}};
  Atomic<std::int64_t> flagged_since_ns_{0};    // steady-clock ns when first seen
  Atomic<std::int64_t> flagged_waiting_ns_{0};  // waiting for a CPU seen up to the flag
  Atomic<int> tid_{0};                          // 0: no thread attached yet
  SlowPollHandler* handler_ = nullptr;
  Atomic<std::uint64_t>* counter_ = nullptr;
  // Monitor-private sampling state.
  std::uint64_t last_seq_ = 0;
  int seen_ = 0;
  std::int64_t first_seen_ns_ = 0;
  std::int64_t prev_sample_ns_ = 0;              // this poll's previous sample, from the second
  std::optional<ThreadSchedSample> prev_sched_;  // the thread's figures then
  double own_intervals_ = 0;                     // intervals not spent waiting for a CPU
  std::int64_t waiting_ns_ = 0;                  // time waiting for a CPU, from the second
  bool flagged_ = false;                         // this poll is flagged already
};

inline thread_local PollActivity* current_activity = nullptr;

class SlowPollMonitor {
 public:
  // `sched` reads a worker thread's scheduler figures; tests substitute their own.
  SlowPollMonitor(Duration threshold, SlowPollHandler handler, std::size_t workers,
                  ThreadSchedReader sched = read_thread_sched);
  ~SlowPollMonitor();
  SlowPollMonitor(const SlowPollMonitor&) = delete;
  SlowPollMonitor& operator=(const SlowPollMonitor&) = delete;

  PollActivity& activity(std::size_t worker) { return *activities_[worker]; }
  std::uint64_t slow_polls() const { return slow_polls_.load(std::memory_order_relaxed); }
  // Starts sampling; `on_stuck(worker)` runs (on the monitor thread) when a worker's poll
  // passes the threshold, so the scheduler can wake another worker to take its queue.
  void start(std::function<void(std::size_t worker)> on_stuck);
  void stop();

 private:
  void run();
  void sample(PollActivity& a, std::int64_t now);

  const Duration threshold_;
  SlowPollHandler handler_;
  ThreadSchedReader sched_;
  std::vector<std::unique_ptr<PollActivity>> activities_;
  Atomic<std::uint64_t> slow_polls_{0};
  std::function<void(std::size_t)> on_stuck_;
  Mutex mu_;
  CondVar cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace detail
}  // namespace keel

#endif  // KEEL_RUNTIME_METRICS_SLOW_POLL_H_
