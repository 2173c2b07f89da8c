#include "runtime/metrics/metrics.h"

#include "absl/strings/str_cat.h"

namespace keel {

WorkerMetrics RuntimeMetrics::total() const {
  WorkerMetrics t;
  for (const WorkerMetrics& w : workers) {
    t.polls_total += w.polls_total;
    t.steals_total += w.steals_total;
    t.steal_operations_total += w.steal_operations_total;
    t.parks_total += w.parks_total;
    t.noops_total += w.noops_total;
    t.local_schedules_total += w.local_schedules_total;
    t.overflows_total += w.overflows_total;
    t.busy_ns_total += w.busy_ns_total;
    t.local_queue_depth += w.local_queue_depth;
  }
  return t;
}

namespace {

void gauge(std::string& out, const char* name, const char* help, std::uint64_t v) {
  absl::StrAppend(&out, "# HELP keel_", name, " ", help, "\n# TYPE keel_", name, " gauge\nkeel_",
                  name, " ", v, "\n");
}

void counter(std::string& out, const char* name, const char* help, std::uint64_t v) {
  absl::StrAppend(&out, "# HELP keel_", name, " ", help, "\n# TYPE keel_", name,
                  " counter\nkeel_", name, " ", v, "\n");
}

template <class F>
void per_worker(std::string& out, const std::vector<WorkerMetrics>& workers, const char* name,
                const char* type, const char* help, F field) {
  absl::StrAppend(&out, "# HELP keel_", name, " ", help, "\n# TYPE keel_", name, " ", type, "\n");
  for (std::size_t i = 0; i < workers.size(); ++i) {
    absl::StrAppend(&out, "keel_", name, "{worker=\"", i, "\"} ", field(workers[i]), "\n");
  }
}

}  // namespace

std::string RuntimeMetrics::to_prometheus() const {
  std::string out;
  absl::StrAppend(&out, "# HELP keel_runtime_info The runtime's flavour.\n",
                  "# TYPE keel_runtime_info gauge\n", "keel_runtime_info{flavor=\"", flavor,
                  "\"} 1\n");
  gauge(out, "workers", "Worker threads.", workers.size());
  per_worker(out, workers, "worker_polls_total", "counter", "Task polls.",
             [](const WorkerMetrics& w) { return w.polls_total; });
  per_worker(out, workers, "worker_steals_total", "counter", "Tasks stolen from other workers.",
             [](const WorkerMetrics& w) { return w.steals_total; });
  per_worker(out, workers, "worker_steal_operations_total", "counter", "Successful steals.",
             [](const WorkerMetrics& w) { return w.steal_operations_total; });
  per_worker(out, workers, "worker_parks_total", "counter", "Times the worker parked.",
             [](const WorkerMetrics& w) { return w.parks_total; });
  per_worker(out, workers, "worker_noops_total", "counter", "Unparks that found no work.",
             [](const WorkerMetrics& w) { return w.noops_total; });
  per_worker(out, workers, "worker_local_schedules_total", "counter",
             "Tasks scheduled on the worker's own queue.",
             [](const WorkerMetrics& w) { return w.local_schedules_total; });
  per_worker(out, workers, "worker_overflows_total", "counter",
             "Times the local queue overflowed into the global queue.",
             [](const WorkerMetrics& w) { return w.overflows_total; });
  per_worker(out, workers, "worker_busy_seconds_total", "counter",
             "Time spent running tasks rather than parked.",
             [](const WorkerMetrics& w) { return static_cast<double>(w.busy_ns_total) / 1e9; });
  per_worker(out, workers, "worker_local_queue_depth", "gauge", "Tasks in the local queue.",
             [](const WorkerMetrics& w) { return w.local_queue_depth; });
  gauge(out, "global_queue_depth", "Tasks in the global injection queue.", global_queue_depth);
  counter(out, "remote_schedules_total", "Tasks scheduled from outside a worker.",
          remote_schedules_total);
  counter(out, "spawned_tasks_total", "Tasks spawned.", spawned_tasks_total);
  gauge(out, "alive_tasks", "Tasks spawned and not yet finished.", alive_tasks);
  counter(out, "io_events_total", "Readiness events delivered by epoll.", io_events_total);
  counter(out, "busy_poll_caught_total", "Busy polls of the I/O driver that caught an event.",
          busy_poll_caught_total);
  counter(out, "busy_poll_missed_total", "Busy polls of the I/O driver that ran out without an event.",
          busy_poll_missed_total);
  gauge(out, "registered_fds", "File descriptors registered with the I/O driver.",
        registered_fds);
  gauge(out, "timers_active", "Timers waiting in the wheel.", timers_active);
  counter(out, "timers_fired_total", "Timers fired.", timers_fired_total);
  gauge(out, "blocking_threads", "Threads of the blocking pool.", blocking_threads);
  gauge(out, "idle_blocking_threads", "Idle threads of the blocking pool.",
        idle_blocking_threads);
  gauge(out, "blocking_queue_depth", "Blocking tasks waiting for a thread.",
        blocking_queue_depth);
  counter(out, "slow_polls_total", "Polls that held a worker longer than the threshold.",
          slow_polls_total);
  return out;
}

namespace detail {

WorkerMetrics WorkerCounters::snapshot() const {
  WorkerMetrics m;
  m.polls_total = polls.get();
  m.steals_total = steals.get();
  m.steal_operations_total = steal_operations.get();
  m.parks_total = parks.get();
  m.noops_total = noops.get();
  m.local_schedules_total = local_schedules.get();
  m.overflows_total = overflows.get();
  m.busy_ns_total = busy_ns.get();
  return m;
}

}  // namespace detail
}  // namespace keel
