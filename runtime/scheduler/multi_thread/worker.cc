#include "runtime/scheduler/multi_thread/worker.h"

#include <pthread.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"

namespace keel::detail {
namespace {

struct WorkerContext {
  const void* scheduler = nullptr;
  void* worker = nullptr;
};
thread_local WorkerContext worker_context;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint32_t xorshift(std::uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

// Wakes one thread for a task waiting to be woken or a poll that completed, so the caller
// blocked in block_on() can look again.
class ThreadNotify final : public Wakeable {
 public:
  void wake_by_ref() override {
    // Notified under the lock: once wait() returns (it re-takes mu_ after we release it), this
    // thread no longer touches the object, which the block_on thread may then free through
    // the last reference (a waker woken by reference holds none of its own).
    LockGuard lock(mu_);
    notified_ = true;
    cv_.notify_one();
  }
  // ORDERING: relaxed; the caller already holds a reference.
  void add_ref() override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void drop_ref() override {
    // ORDERING: acq_rel; the last owner deletes.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void wait() {
    UniqueLock lock(mu_);
    cv_.wait(lock, [this] { return notified_; });
    notified_ = false;
  }

 private:
  Atomic<std::uint32_t> refs_{1};
  Mutex mu_;
  CondVar cv_;
  bool notified_ = false;
};

}  // namespace

MultiThreadScheduler::MultiThreadScheduler(RuntimeConfig config, std::unique_ptr<Driver> driver)
    : RuntimeCore(std::move(config), std::move(driver),
                  config.worker_threads ? config.worker_threads
                                        : std::max(1u, std::thread::hardware_concurrency())),
      idle_(config_.worker_threads ? config_.worker_threads
                                   : std::max(1u, std::thread::hardware_concurrency())) {
  std::size_t n = config_.worker_threads ? config_.worker_threads
                                         : std::max(1u, std::thread::hardware_concurrency());
  config_.worker_threads = n;
  for (std::size_t i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, driver_.get()));
    workers_.back()->activity = activity(i);
    workers_.back()->rng = static_cast<std::uint32_t>(0x9e3779b9u * (i + 1));
  }
  start_monitor([this](std::size_t) {
    // A worker is stuck inside a poll: wake a sleeper, which may take the stuck worker's ring
    // and LIFO slot.
    notify_parked();
  });
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->thread = std::thread([this, wp] { run_worker(*wp); });
  }
}

MultiThreadScheduler::Worker* MultiThreadScheduler::current_worker() const {
  if (worker_context.scheduler != this) return nullptr;
  return static_cast<Worker*>(worker_context.worker);
}

void MultiThreadScheduler::schedule(TaskHeader* task, ScheduleKind kind) {
  Worker* w = current_worker();
  if (w != nullptr) {
    w->counters.local_schedules.add();
    if (w->in_driver) {
      // Woken by the driver (I/O, timers): to the ring, or the head of the global queue when
      // the ring is full, never behind a backlog of spawns. A sleeper is woken during the
      // turn only when the turn has queued a burst (kDriverBurst tasks: a wave of expiring
      // timers, many connections at once) that needs a second worker before the turn ends;
      // otherwise the turn's caller (park, maintenance) notifies once afterwards if the ring
      // holds kWakeBatch tasks or more. Waking one per task instead cost a futex wake per I/O
      // event, and the woken searcher's own notify then woke the driver's owner through the
      // eventfd: two wake-ups per event for no extra work.
      if (!w->queue.try_push_back(task)) {
        w->counters.overflows.add();
        if (!inject_.push_front(task)) task->drop_ref();
      }
      if (!w->turn_notified && w->queue.len() >= kDriverBurst) {
        w->turn_notified = true;
        notify_parked();
      }
      return;
    }
    if (kind == ScheduleKind::kYield || shuffle_point()) {
      push_local(*w, task);
      notify_parked();
      return;
    }
    // ORDERING: acq_rel; the slot may be emptied concurrently by a stealer (exchange is
    // atomic, so each task ends up in exactly one place).
    TaskHeader* prev = w->lifo.exchange(task, std::memory_order_acq_rel);
    if (prev != nullptr) {
      push_local(*w, prev);
      notify_parked();
    }
    return;
  }
  // From outside the workers: a woken task goes ahead of queued spawns (see inject.h).
  if (!(kind == ScheduleKind::kWake ? inject_.push_front(task) : inject_.push(task))) {
    task->drop_ref();  // shut down: the owned list already cancelled it
    return;
  }
  // ORDERING: relaxed; a metrics counter.
  remote_schedules_.fetch_add(1, std::memory_order_relaxed);
  notify_parked();
}

void MultiThreadScheduler::push_local(Worker& w, TaskHeader* task) {
  if (w.queue.push_back(task, inject_)) w.counters.overflows.add();
}

void MultiThreadScheduler::notify_parked() {
  if (std::optional<std::size_t> i = idle_.worker_to_notify()) workers_[*i]->parker.unpark();
}

void MultiThreadScheduler::run_worker(Worker& w) {
  std::string name = absl::StrCat(config_.thread_name.substr(0, 11), "-", w.index);
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  worker_context = {this, &w};
  EnterGuard enter(this);
  current_activity = w.activity;
  if (w.activity != nullptr) w.activity->attach_current_thread();
  if (config_.on_thread_start) config_.on_thread_start();
  std::int64_t busy_since = steady_ns();

  // ORDERING: acquire; pairs with stop_workers()'s release.
  while (!shutdown_.load(std::memory_order_acquire)) {
    ++w.tick;
    if (w.tick % config_.event_interval == 0) maintenance(w);
    TaskHeader* t = next_task(w);
    if (t == nullptr) t = steal_work(w);
    if (t != nullptr) {
      run_task(w, t);
      continue;
    }
    w.counters.busy_ns.add(static_cast<std::uint64_t>(steady_ns() - busy_since));
    park(w);
    busy_since = steady_ns();
  }
  w.counters.busy_ns.add(static_cast<std::uint64_t>(steady_ns() - busy_since));
  if (config_.on_thread_stop) config_.on_thread_stop();
  current_activity = nullptr;
  worker_context = {};
}

TaskHeader* MultiThreadScheduler::next_task(Worker& w) {
  if (w.tick % config_.global_queue_interval == 0 || shuffle_point()) {
    if (TaskHeader* t = inject_.pop()) return t;
  }
  // ORDERING: acq_rel; see schedule().
  if (TaskHeader* t = w.lifo.exchange(nullptr, std::memory_order_acq_rel)) return t;
  if (TaskHeader* t = w.queue.pop()) return t;
  return inject_.pop();
}

TaskHeader* MultiThreadScheduler::steal_work(Worker& w) {
  if (!w.is_searching) {
    if (!idle_.transition_to_searching()) return nullptr;
    w.is_searching = true;
  }
  std::size_t n = workers_.size();
  std::size_t start = xorshift(w.rng) % n;
  for (std::size_t i = 0; i < n; ++i) {
    Worker& victim = *workers_[(start + i) % n];
    if (&victim == &w) continue;
    std::uint32_t stolen = 0;
    if (TaskHeader* t = victim.queue.steal_into(w.queue, &stolen)) {
      w.counters.steals.add(stolen);
      w.counters.steal_operations.add();
      return t;
    }
    // A worker stuck in a long poll would strand its LIFO task: take it.
    if (victim.activity != nullptr && victim.activity->flagged()) {
      // ORDERING: acq_rel; races with the owner's exchange, and exactly one of us gets it.
      if (TaskHeader* t = victim.lifo.exchange(nullptr, std::memory_order_acq_rel)) {
        w.counters.steals.add();
        w.counters.steal_operations.add();
        return t;
      }
    }
  }
  return inject_.pop();
}

void MultiThreadScheduler::run_task(Worker& w, TaskHeader* task) {
  if (w.is_searching) {
    w.is_searching = false;
    // The last searcher found work: make sure someone keeps looking for the rest.
    if (idle_.transition_from_searching()) notify_parked();
  }
  CoopScope coop;
  w.counters.polls.add();
  task->run();
  for (int polls = 0;; ++polls) {
    // ORDERING: acq_rel; see schedule().
    TaskHeader* next = w.lifo.exchange(nullptr, std::memory_order_acq_rel);
    if (next == nullptr) return;
    if (polls >= kMaxLifoPolls || !coop_has_budget()) {
      // Enough ping-pong: the ring gets a turn. No notify: this worker runs the task next
      // unless it finds older work first, and waking a sleeper for it only bounces a chain of
      // tasks between cores. (If this worker then blocks, the task is stealable and the
      // slow-poll monitor wakes a sleeper.)
      push_local(w, next);
      return;
    }
    w.counters.polls.add();
    next->run();
  }
}

void MultiThreadScheduler::maintenance(Worker& w) {
  if (!driver_->try_lock()) return;
  w.in_driver = true;
  w.turn_notified = false;
  driver_->park(Duration::zero(), false);
  w.in_driver = false;
  driver_->unlock();
  notify_parked_if_batch(w);
}

bool MultiThreadScheduler::any_work_queued() const {
  if (!inject_.is_empty()) return true;
  for (const auto& w : workers_) {
    if (!w->queue.is_empty() || w->lifo.load(std::memory_order_acquire) != nullptr) return true;
  }
  return false;
}

void MultiThreadScheduler::park(Worker& w) {
  bool was_searching = w.is_searching;
  w.is_searching = false;
  if (idle_.transition_to_parked(w.index, was_searching)) {
    // The last searcher is leaving: work queued meanwhile must not go unnoticed.
    if (any_work_queued()) notify_parked();
  }
  w.counters.parks.add();
  // The last worker to sleep under a paused clock lets the driver's owner re-check whether
  // the runtime is idle (and so may auto-advance the clock).
  if (idle_.num_unparked() == 0 && driver_->time_enabled() &&
      driver_->time().clock().is_paused()) {
    driver_->unpark();
  }
  for (;;) {
    bool idle = idle_.num_unparked() == 0 && inject_.is_empty() && blocking_idle();
    w.in_driver = true;
    w.turn_notified = false;
    std::size_t woken = w.parker.park(std::nullopt, idle);
    w.in_driver = false;
    if (shutdown_.load(std::memory_order_acquire)) return;
    bool local_work =
        !w.queue.is_empty() || w.lifo.load(std::memory_order_acquire) != nullptr;
    if (local_work) {
      // Woken by the driver with tasks in our own queue.
      if (!idle_.unpark_worker_by_id(w.index)) w.is_searching = true;  // also notified
      notify_parked_if_batch(w);
      return;
    }
    if (!idle_.is_parked(w.index)) {
      // notify_parked() took us off the list and counted us as a searcher.
      w.is_searching = true;
      return;
    }
    if (woken == 0) w.counters.noops.add();
  }
}

void MultiThreadScheduler::drive_until_complete(TaskHeader* root) {
  if (current_worker() != nullptr) {
    std::fprintf(stderr, "keel: block_on called from a worker of the same runtime\n");
    std::abort();
  }
  auto* notify = new ThreadNotify;
  Waker waker = Waker::adopt(notify);
  while (!root->is_complete()) {
    if (!root->register_join_waker(waker)) break;
    if (root->is_complete()) break;
    notify->wait();
  }
}

void MultiThreadScheduler::stop_workers() {
  // ORDERING: release; workers acquire it in their loops.
  shutdown_.store(true, std::memory_order_release);
  for (auto& w : workers_) w->parker.unpark();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void MultiThreadScheduler::close_and_drain_queues() {
  TaskList rest = inject_.close();
  while (TaskHeader* t = rest.pop_front()) t->run();  // shut down already: drops references
  for (auto& w : workers_) {
    if (TaskHeader* t = w->lifo.exchange(nullptr, std::memory_order_acq_rel)) t->run();
    while (TaskHeader* t = w->queue.pop()) t->run();
  }
}

void MultiThreadScheduler::fill_metrics(RuntimeMetrics& m) const {
  m.flavor = "multi_thread";
  for (const auto& w : workers_) {
    WorkerMetrics wm = w->counters.snapshot();
    wm.local_queue_depth = w->queue.len();
    m.workers.push_back(wm);
  }
  m.global_queue_depth = inject_.len();
  m.remote_schedules_total = remote_schedules_.load(std::memory_order_relaxed);
}

}  // namespace keel::detail
