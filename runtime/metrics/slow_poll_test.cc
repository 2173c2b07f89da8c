// Tests of the slow-poll monitor on its own: which long polls it flags, given what the
// kernel says of the worker thread (CPU time, run delay, runnable or blocked). The test thread
// plays a worker whose poll does not return until the monitor has sampled it enough times; the
// monitor's callbacks (on_stuck, the figures' reader) are the synchronisation points, so no
// test depends on how long anything takes.
#include "runtime/metrics/slow_poll.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <source_location>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace keel::detail {
namespace {

using std::chrono::milliseconds;

constexpr Duration kThreshold = milliseconds(10);

// Counts the monitor's calls and lets the "worker" wait for a number of them.
class MonitorProbe {
 public:
  // `figures(call)` is what the fake reader returns at its call number `call` (from 0).
  explicit MonitorProbe(std::function<std::optional<ThreadSchedSample>(int call)> figures)
      : figures_(std::move(figures)) {}

  std::optional<ThreadSchedSample> read(int tid) {
    std::lock_guard lock(mu_);
    last_tid_ = tid;
    std::optional<ThreadSchedSample> d = figures_(reads_++);
    cv_.notify_all();
    return d;
  }
  void on_stuck() {
    std::lock_guard lock(mu_);
    ++stuck_;
    reads_at_stuck_ = reads_;
    cv_.notify_all();
  }
  // Waits until on_stuck has run and the reader has been called `more` times since.
  void wait_stuck_then_reads(int more) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stuck_ > 0 && reads_ >= reads_at_stuck_ + more; });
  }
  int stuck() {
    std::lock_guard lock(mu_);
    return stuck_;
  }
  int last_tid() {
    std::lock_guard lock(mu_);
    return last_tid_;
  }

 private:
  std::function<std::optional<ThreadSchedSample>(int)> figures_;
  std::mutex mu_;
  std::condition_variable cv_;
  int reads_ = 0;
  int reads_at_stuck_ = 0;
  int stuck_ = 0;
  int last_tid_ = 0;
};

struct Observed {
  bool flagged_at_stuck = false;  // flagged() when on_stuck had just run
  bool flagged_later = false;     // flagged() after `more` further samples
};

// Plays one long poll on this thread, sampled by a monitor whose reader is `probe`.
Observed long_poll(MonitorProbe& probe, int more_samples) {
  SlowPollMonitor monitor(
      kThreshold, [](const SlowPollReport&) {}, 1, [&](int tid) { return probe.read(tid); });
  PollActivity& activity = monitor.activity(0);
  activity.attach_current_thread();
  monitor.start([&](std::size_t) { probe.on_stuck(); });
  Observed o;
  activity.begin();
  probe.wait_stuck_then_reads(0);
  o.flagged_at_stuck = activity.flagged();
  probe.wait_stuck_then_reads(more_samples);
  o.flagged_later = activity.flagged();
  activity.end();
  monitor.stop();
  return o;
}

constexpr std::int64_t kSecond = 1'000'000'000;

TEST(SlowPollMonitor, PollThatBlocksIsFlaggedAtTheThreshold) {
  // A blocking call: the thread sleeps, its CPU time and run delay stand still.
  MonitorProbe probe([](int) { return ThreadSchedSample{5, 123, false}; });
  Observed o = long_poll(probe, 1);
  EXPECT_TRUE(o.flagged_at_stuck);
  EXPECT_TRUE(o.flagged_later);
  EXPECT_EQ(probe.last_tid(), static_cast<int>(gettid()));
}

TEST(SlowPollMonitor, PollThatComputesIsFlaggedAtTheThreshold) {
  // A long computation: runnable and on a CPU the whole time.
  MonitorProbe probe([](int call) { return ThreadSchedSample{call * kSecond, 0, true}; });
  Observed o = long_poll(probe, 1);
  EXPECT_TRUE(o.flagged_at_stuck);
}

TEST(SlowPollMonitor, PollOfAThreadWaitingForACpuIsNotFlaggedButItsQueueCountsAsStuck) {
  // Runnable but not running (no CPU time) at every sample: the kernel, not the task, holds
  // the poll. The kernel has not accounted the wait yet (the run delay stands still).
  MonitorProbe probe([](int) { return ThreadSchedSample{5, 0, true}; });
  Observed o = long_poll(probe, 4);
  EXPECT_FALSE(o.flagged_at_stuck);
  EXPECT_FALSE(o.flagged_later);
  EXPECT_EQ(probe.stuck(), 1);  // another worker is still woken for the stalled queue
}

TEST(SlowPollMonitor, WaitsTheKernelHasAccountedAreNotCountedEither) {
  // Asleep at each sample, but with a second of run delay accounted since the last one.
  MonitorProbe probe([](int call) { return ThreadSchedSample{5, call * kSecond, false}; });
  Observed o = long_poll(probe, 4);
  EXPECT_FALSE(o.flagged_at_stuck);
  EXPECT_FALSE(o.flagged_later);
}

TEST(SlowPollMonitor, PollThatWaitedThenBlocksIsFlaggedOnceItsOwnTimeReachesTheThreshold) {
  // Waiting for a CPU up to the third sample, then blocked: the third interval counts, and
  // the poll is flagged at the fourth sample. The reads of the fourth and fifth samples are
  // two, the last one after the fourth's decision.
  MonitorProbe probe([](int call) { return ThreadSchedSample{5, 0, call < 2}; });
  Observed o = long_poll(probe, 2);
  EXPECT_FALSE(o.flagged_at_stuck);
  EXPECT_TRUE(o.flagged_later);
}

TEST(SlowPollMonitor, WithoutTheKernelsFiguresEveryLongPollIsFlagged) {
  // A kernel without schedstat: the monitor falls back to the wall clock alone.
  MonitorProbe probe([](int) { return std::nullopt; });
  Observed o = long_poll(probe, 0);
  EXPECT_TRUE(o.flagged_at_stuck);
}

TEST(SlowPollMonitor, ReportSaysHowMuchOfThePollWaitedForACpu) {
  SlowPollReport r;
  r.task_id = 7;
  r.at_least = milliseconds(40);
  r.waiting_for_cpu = milliseconds(25);
  EXPECT_TRUE(absl::StrContains(r.to_string(), "at least 40 ms (25 ms of it waiting for a CPU)"))
      << r.to_string();
  r.waiting_for_cpu = Duration::zero();
  EXPECT_TRUE(absl::StrContains(r.to_string(), "at least 40 ms after resuming")) << r.to_string();
}

TEST(SlowPollMonitor, ReportNamesAnAwaitWithoutALocationByItsNameAlone) {
  SlowPollReport r;
  r.at_least = milliseconds(12);
  r.resumed_from_what = "TcpStream::read";  // the sockets' operations carry no location
  EXPECT_TRUE(absl::StrContains(r.to_string(), "after resuming from TcpStream::read;"))
      << r.to_string();
  r.resumed_from = std::source_location::current();
  EXPECT_TRUE(
      absl::StrContains(r.to_string(), "TcpStream::read at runtime/metrics/slow_poll_test.cc:"))
      << r.to_string();
}

TEST(ReadThreadSched, ReadsThisThreadAndRejectsThreadsOfOtherProcesses) {
  if (access("/proc/thread-self/schedstat", R_OK) != 0) {
    GTEST_SKIP() << "this kernel has no /proc/PID/schedstat";
  }
  std::optional<ThreadSchedSample> s = read_thread_sched(static_cast<int>(gettid()));
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->cpu_ns, 0);
  EXPECT_GE(s->run_delay_ns, 0);
  EXPECT_TRUE(s->runnable);  // this thread is running as it reads
  // Thread 1 (init) is not a thread of this process.
  EXPECT_EQ(read_thread_sched(1), std::nullopt);
  EXPECT_EQ(read_thread_sched(-1), std::nullopt);
}

}  // namespace
}  // namespace keel::detail
