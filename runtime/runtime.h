// Runtime, Builder and Handle: starting Keel and putting tasks on it.
//
//   absl::StatusOr<keel::Runtime> rt = keel::Runtime::new_multi_thread()
//                                          .worker_threads(4)
//                                          .enable_all()
//                                          .build();
//   if (!rt.ok()) { ... rt.status() ... }
//   int answer = rt->block_on(compute());   // runs until compute() finishes
//
// Inside a task, `keel::spawn(task)` starts a concurrent task on the current runtime and
// `keel::spawn_blocking(fn)` runs blocking code on the blocking pool. `Handle::current()` is
// the runtime the calling thread belongs to (a worker, a blocking thread, or a thread inside
// block_on).
//
// Destroying a Runtime shuts it down: workers stop, every task is cancelled (destroyed at its
// suspension point), and running blocking tasks are waited for (up to 10 s by default;
// `shutdown_timeout(d)` chooses).
//
// Thread-safety: Runtime and Handle methods are safe from any thread; one Runtime object is
// owned by one thread (move it, do not share it). Handles are cheap copies.
#ifndef KEEL_RUNTIME_RUNTIME_H_
#define KEEL_RUNTIME_RUNTIME_H_

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "runtime/metrics/metrics.h"
#include "runtime/metrics/slow_poll.h"
#include "runtime/scheduler/runtime_core.h"
#include "runtime/task/join_handle.h"
#include "runtime/task/task.h"
#include "runtime/time/instant.h"

namespace keel {

class Runtime;

class Handle {
 public:
  // The runtime of the calling thread; aborts with a clear message outside any runtime.
  static Handle current();
  static std::optional<Handle> try_current();

  Handle(const Handle& other);
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle other) noexcept;
  ~Handle();

  // Starts `task` concurrently. The task owns its frame and parameters; see task.h.
  template <class T>
  JoinHandle<T> spawn(Task<T> task, SpawnOptions options = {},
                      std::source_location where = std::source_location::current()) const {
    return core_->spawn(std::move(task), options, where);
  }
  // Runs `fn` (a callable taking nothing) on the blocking pool; `fn` is moved there.
  template <class F>
  auto spawn_blocking(F fn, std::source_location where = std::source_location::current()) const {
    return core_->spawn_blocking(std::move(fn), where);
  }
  // Runs `task` to completion from a thread outside the runtime and returns its value
  // (rethrowing its exception).
  template <class T>
  T block_on(Task<T> task, std::source_location where = std::source_location::current()) const;

  RuntimeMetrics metrics() const { return core_->metrics(); }
  // Every live task: id, name, state, spawn site, and the await it is suspended on.
  std::string dump() const { return core_->dump(); }

  detail::RuntimeCore* core() const { return core_; }

 private:
  friend class Runtime;
  explicit Handle(detail::RuntimeCore* core);  // takes a new reference
  detail::RuntimeCore* core_;
};

class Runtime {
 public:
  class Builder;
  static Builder new_current_thread();
  static Builder new_multi_thread();

  Runtime(Runtime&& other) noexcept;
  Runtime& operator=(Runtime&& other) noexcept;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  Handle handle() const { return Handle(core_); }

  // Runs `task` to completion on this runtime and returns its value (rethrowing its
  // exception). On current_thread the calling thread runs all tasks meanwhile.
  template <class T>
  T block_on(Task<T> task, std::source_location where = std::source_location::current()) {
    return handle().block_on(std::move(task), where);
  }
  template <class T>
  JoinHandle<T> spawn(Task<T> task, SpawnOptions options = {},
                      std::source_location where = std::source_location::current()) {
    return core_->spawn(std::move(task), options, where);
  }
  template <class F>
  auto spawn_blocking(F fn, std::source_location where = std::source_location::current()) {
    return core_->spawn_blocking(std::move(fn), where);
  }

  RuntimeMetrics metrics() const { return core_->metrics(); }
  std::string dump() const { return core_->dump(); }

  // Shuts down now, waiting at most `timeout` for running blocking tasks.
  void shutdown_timeout(Duration timeout);

 private:
  explicit Runtime(detail::RuntimeCore* core) : core_(core) {}
  detail::RuntimeCore* core_;
};

class Runtime::Builder {
 public:
  // Worker threads of a multi_thread runtime (default: one per CPU).
  Builder& worker_threads(std::size_t n);
  // Prefix of worker thread names (shown by top -H and gdb).
  Builder& thread_name(std::string name);
  Builder& max_blocking_threads(std::size_t n);
  // How long an idle blocking thread waits for work before exiting.
  Builder& thread_keep_alive(Duration d);
  // Polls between I/O driver turns while busy (default 61).
  Builder& event_interval(std::uint32_t n);
  // Polls between global-queue-first checks (default 31).
  Builder& global_queue_interval(std::uint32_t n);
  Builder& enable_io();
  Builder& enable_time();
  Builder& enable_all();
  // Before the thread turning the I/O driver sleeps in epoll_wait, it keeps polling without
  // blocking for up to `d` (default zero: it sleeps at once). For request/response servers
  // whose clients send again within microseconds: the thread is still running when the
  // request lands, so neither it nor the sender pays for a wake-up, at the price of up to `d`
  // of CPU each time the runtime goes idle. The driver spins only while spins pay: when the
  // next event mostly comes later than `d` (sparse traffic, or senders waiting for a CPU the
  // spin holds), it sleeps at once until events come within `d` again (runtime/io/busy_poll.h;
  // metrics busy_poll_caught_total / busy_poll_missed_total). At most one second.
  Builder& busy_poll(Duration d);
  // Starts with the clock paused (tests); see time.h.
  Builder& start_paused(bool paused = true);
  Builder& on_thread_start(std::function<void()> fn);
  Builder& on_thread_stop(std::function<void()> fn);
  // Reports polls longer than `threshold` (default 10 ms; zero disables detection).
  Builder& slow_poll_threshold(Duration threshold);
  // Receives slow-poll reports (default: a line on stderr).
  Builder& on_slow_poll(SlowPollHandler handler);

  // Starts the runtime; fails with the OS error when a resource cannot be created (e.g.
  // "epoll_create1: Too many open files") or with INVALID_ARGUMENT for bad settings.
  absl::StatusOr<Runtime> build();

 private:
  friend class Runtime;
  explicit Builder(bool multi_thread) { config_.multi_thread = multi_thread; }
  detail::RuntimeConfig config_;
};

// Spawns on the current runtime (see Handle::spawn).
template <class T>
JoinHandle<T> spawn(Task<T> task, SpawnOptions options = {},
                    std::source_location where = std::source_location::current()) {
  return detail::require_core("keel::spawn").spawn(std::move(task), options, where);
}

// Runs blocking `fn` on the current runtime's blocking pool (see Handle::spawn_blocking).
template <class F>
auto spawn_blocking(F fn, std::source_location where = std::source_location::current()) {
  return detail::require_core("keel::spawn_blocking").spawn_blocking(std::move(fn), where);
}

template <class T>
T Handle::block_on(Task<T> task, std::source_location where) const {
  JoinHandle<T> handle = core_->spawn(std::move(task), SpawnOptions{"block_on"}, where);
  core_->drive_until_complete(handle.header());
  detail::Cell<T>* cell = handle.cell();
  JoinResult<T> result = cell->take_output();  // rethrows the task's exception
  if constexpr (std::is_void_v<T>) {
    if (!result.ok()) {
      std::fprintf(stderr, "keel: block_on: %s\n", std::string(result.message()).c_str());
      std::abort();
    }
  } else {
    if (!result.ok()) {
      std::fprintf(stderr, "keel: block_on: %s\n",
                   std::string(result.status().message()).c_str());
      std::abort();
    }
    return std::move(*result);
  }
}

}  // namespace keel

#endif  // KEEL_RUNTIME_RUNTIME_H_
