#include "runtime/metrics/slow_poll.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/task/header.h"

namespace keel {

std::string SlowPollReport::to_string() const {
  std::string where = resumed_from_what == nullptr
                          ? std::string("its first poll")
                          : detail::AwaitPoint{resumed_from_what, resumed_from}.describe();
  auto ms = [](Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::string waiting =
      waiting_for_cpu >= std::chrono::milliseconds(1)
          ? absl::StrCat(" (", ms(waiting_for_cpu), " ms of it waiting for a CPU)")
          : std::string();
  return absl::StrCat("slow poll: task ", task_id, task_name.empty() ? "" : " '", task_name,
                      task_name.empty() ? "" : "'", " (spawned at ", spawned_at.file_name(), ":",
                      spawned_at.line(), ") held worker ", worker, " for at least ", ms(at_least),
                      " ms", waiting, " after resuming from ", where,
                      "; a blocking call inside async code? use spawn_blocking");
}

namespace detail {
namespace {
std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Reads a small /proc file whole; nullopt if it cannot.
std::optional<std::string> read_proc(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}
}  // namespace

std::optional<ThreadSchedSample> read_thread_sched(int tid) {
  char path[64];
  // schedstat: "CPU_NS RUN_DELAY_NS TIMESLICES\n".
  std::snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
  std::optional<std::string> schedstat = read_proc(path);
  // stat: "TID (COMM) STATE ..."; COMM may hold spaces and parentheses, so the state follows
  // the last ')'.
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  std::optional<std::string> stat = read_proc(path);
  if (!schedstat || !stat) return std::nullopt;
  ThreadSchedSample s;
  const char* end = schedstat->data() + schedstat->size();
  std::from_chars_result cpu = std::from_chars(schedstat->data(), end, s.cpu_ns);
  if (cpu.ec != std::errc() || cpu.ptr == end || *cpu.ptr != ' ') return std::nullopt;
  std::from_chars_result delay = std::from_chars(cpu.ptr + 1, end, s.run_delay_ns);
  if (delay.ec != std::errc() || s.cpu_ns < 0 || s.run_delay_ns < 0) return std::nullopt;
  std::size_t paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size()) return std::nullopt;
  s.runnable = (*stat)[paren + 2] == 'R';
  return s;
}

void PollActivity::attach_current_thread() {
  // A current_thread runtime attaches at every block_on: ask the kernel once per thread.
  static thread_local const int tid = static_cast<int>(gettid());
  // ORDERING: relaxed; the monitor reads it as a hint: a stale value only means one poll is
  // judged by the wrong thread's figures (or none, as for an exited thread).
  tid_.store(tid, std::memory_order_relaxed);
}

void PollActivity::report(const TaskHeader& task, const AwaitPoint& resumed_from) {
  SlowPollReport r;
  r.worker = worker_;
  r.task_id = task.id();
  r.task_name = std::string(task.name());
  r.spawned_at = task.spawned_at();
  r.resumed_from_what = resumed_from.what;
  r.resumed_from = resumed_from.where;
  // ORDERING: relaxed; written by the monitor before it set flagged_seq_, a hint either way.
  r.at_least = Duration(steady_ns() - flagged_since_ns_.load(std::memory_order_relaxed));
  r.waiting_for_cpu = Duration(flagged_waiting_ns_.load(std::memory_order_relaxed));
  // Only report once per poll.
  flagged_seq_.store(~std::uint64_t{0}, std::memory_order_relaxed);
  // ORDERING: relaxed; a metrics counter.
  counter_->fetch_add(1, std::memory_order_relaxed);
  if (handler_ && *handler_) (*handler_)(r);
}

SlowPollMonitor::SlowPollMonitor(Duration threshold, SlowPollHandler handler, std::size_t workers,
                                 ThreadSchedReader sched)
    : threshold_(threshold), handler_(std::move(handler)), sched_(std::move(sched)) {
  if (!handler_) {
    handler_ = [](const SlowPollReport& r) {
      std::fprintf(stderr, "keel: %s\n", r.to_string().c_str());
    };
  }
  for (std::size_t i = 0; i < workers; ++i) {
    activities_.push_back(std::make_unique<PollActivity>(i));
    activities_.back()->handler_ = &handler_;
    activities_.back()->counter_ = &slow_polls_;
  }
}

SlowPollMonitor::~SlowPollMonitor() { stop(); }

void SlowPollMonitor::start(std::function<void(std::size_t)> on_stuck) {
  on_stuck_ = std::move(on_stuck);
  thread_ = std::thread([this] { run(); });
}

void SlowPollMonitor::stop() {
  {
    LockGuard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SlowPollMonitor::run() {
  const Duration interval = threshold_ / 2;
  UniqueLock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval);
    if (stop_) break;
    std::int64_t now = steady_ns();
    for (auto& a : activities_) sample(*a, now);
  }
}

void SlowPollMonitor::sample(PollActivity& a, std::int64_t now) {
  // ORDERING: relaxed; see PollActivity::begin.
  std::uint64_t seq = a.seq_.load(std::memory_order_relaxed);
  if ((seq & 1) == 0 || seq != a.last_seq_) {
    a.last_seq_ = seq;
    a.seen_ = (seq & 1) ? 1 : 0;
    a.first_seen_ns_ = now;
    a.flagged_ = false;
    return;
  }
  // The same poll, seen at `seen_` samples an interval apart. Only polls that outlast an
  // interval pay for reading the thread's figures.
  ++a.seen_;
  // ORDERING: relaxed; see PollActivity::attach_current_thread.
  int tid = a.tid_.load(std::memory_order_relaxed);
  std::optional<ThreadSchedSample> sched = tid != 0 && sched_ ? sched_(tid) : std::nullopt;
  if (a.seen_ == 2) {
    // The interval before this sample counts whole: there are no figures from its start.
    a.own_intervals_ = 1;
    a.waiting_ns_ = 0;
  } else {
    double waiting_share = 0;
    if (sched && a.prev_sched_ && now > a.prev_sample_ns_) {
      const std::int64_t wall = now - a.prev_sample_ns_;
      const std::int64_t cpu = std::max<std::int64_t>(0, sched->cpu_ns - a.prev_sched_->cpu_ns);
      const std::int64_t delay =
          std::max<std::int64_t>(0, sched->run_delay_ns - a.prev_sched_->run_delay_ns);
      // A thread runnable now and not on a CPU for part of the interval was waiting for one
      // (a wait still in progress is not in the run delay yet); a blocked one only waited
      // for what the kernel has accounted.
      std::int64_t waiting = sched->runnable ? std::max(delay, wall - cpu) : delay;
      waiting = std::clamp<std::int64_t>(waiting, 0, wall);
      a.waiting_ns_ += waiting;
      waiting_share = static_cast<double>(waiting) / static_cast<double>(wall);
    }
    a.own_intervals_ += 1 - waiting_share;
    // Flag once the poll's time not spent waiting for a CPU reaches the threshold (two
    // intervals): with no waiting at the third sample, as a poll that blocks or computes.
    if (!a.flagged_ && a.own_intervals_ >= 2) {
      a.flagged_ = true;
      a.flagged_waiting_ns_.store(a.waiting_ns_, std::memory_order_relaxed);
      a.flagged_since_ns_.store(a.first_seen_ns_, std::memory_order_relaxed);
      a.flagged_seq_.store(seq, std::memory_order_relaxed);
    }
  }
  a.prev_sched_ = sched;
  a.prev_sample_ns_ = now;
  // Past the threshold by the wall clock, the worker's queue is stalled whatever the reason:
  // let another worker take it.
  if (a.seen_ == 3 && on_stuck_) on_stuck_(a.worker_);
}

}  // namespace detail
}  // namespace keel
