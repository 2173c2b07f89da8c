#include "runtime/metrics/slow_poll.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "runtime/task/header.h"

namespace keel {

std::string SlowPollReport::to_string() const {
  std::string where = resumed_from_what == nullptr
                          ? std::string("its first poll")
                          : absl::StrCat(resumed_from_what, " at ", resumed_from.file_name(), ":",
                                         resumed_from.line());
  return absl::StrCat("slow poll: task ", task_id, task_name.empty() ? "" : " '", task_name,
                      task_name.empty() ? "" : "'", " (spawned at ", spawned_at.file_name(), ":",
                      spawned_at.line(), ") held worker ", worker, " for at least ",
                      std::chrono::duration_cast<std::chrono::milliseconds>(at_least).count(),
                      " ms after resuming from ", where,
                      "; a blocking call inside async code? use spawn_blocking");
}

namespace detail {
namespace {
std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

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
  // Only report once per poll.
  flagged_seq_.store(~std::uint64_t{0}, std::memory_order_relaxed);
  // ORDERING: relaxed; a metrics counter.
  counter_->fetch_add(1, std::memory_order_relaxed);
  if (handler_ && *handler_) (*handler_)(r);
}

SlowPollMonitor::SlowPollMonitor(Duration threshold, SlowPollHandler handler,
                                 std::size_t workers)
    : threshold_(threshold), handler_(std::move(handler)) {
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
    for (auto& a : activities_) {
      // ORDERING: relaxed; see PollActivity::begin.
      std::uint64_t seq = a->seq_.load(std::memory_order_relaxed);
      if ((seq & 1) == 0 || seq != a->last_seq_) {
        a->last_seq_ = seq;
        a->seen_ = (seq & 1) ? 1 : 0;
        a->first_seen_ns_ = now;
        continue;
      }
      // Same poll seen again: it has run for at least `seen_` intervals.
      if (++a->seen_ == 3) {
        // Seen at three samples an interval apart: running for over two intervals, which is
        // the threshold.
        a->flagged_since_ns_.store(a->first_seen_ns_, std::memory_order_relaxed);
        a->flagged_seq_.store(seq, std::memory_order_relaxed);
        if (on_stuck_) on_stuck_(a->worker_);
      }
    }
  }
}

}  // namespace detail
}  // namespace keel
