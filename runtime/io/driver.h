// Driver: the I/O and time driver that a parked worker turns.
//
// Edge-triggered epoll plus an eventfd for cross-thread wake-ups, and the runtime's
// TimeDriver. `park(timeout)` waits in epoll_wait until an fd event, the next timer, the
// timeout or `unpark()`, then dispatches: fd events wake the waiters of their ScheduledIo, due
// timers wake their sleepers. Only one thread turns the driver at a time (`try_lock()`), and
// the driver is never held while tasks run: waking only queues tasks.
//
// With `busy_poll` set, a park that would block first polls epoll without blocking for up
// to that long: a server whose next request arrives within microseconds keeps its thread
// running, so the peer's send() does not pay for waking it (see Builder::busy_poll). It does
// so only while spins pay: BusyPollGovernor (busy_poll.h) stops them when the next event
// mostly comes later than the budget, as when the senders wait for a CPU the spin holds.
//
// A paused clock auto-advances to the next timer when the caller says the runtime is idle and
// no fd event is pending.
//
// Thread-safety: register/deregister/unpark and the timer methods are safe from any thread;
// park() only by the thread holding the driver lock.
#ifndef KEEL_RUNTIME_IO_DRIVER_H_
#define KEEL_RUNTIME_IO_DRIVER_H_

#include <sys/epoll.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/detail/concurrency.h"
#include "runtime/detail/intrusive_list.h"
#include "runtime/io/busy_poll.h"
#include "runtime/io/interest.h"
#include "runtime/io/scheduled_io.h"
#include "runtime/metrics/metrics.h"
#include "runtime/time/instant.h"
#include "runtime/time/time_driver.h"

namespace keel::detail {

struct DriverOptions {
  bool enable_io = true;
  bool enable_time = true;
  bool start_paused = false;
  // How long park() keeps polling epoll without blocking before it sleeps (zero: never).
  Duration busy_poll = Duration::zero();
};

class Driver {
 public:
  static absl::StatusOr<std::unique_ptr<Driver>> create(DriverOptions options);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  bool io_enabled() const { return options_.enable_io; }
  bool time_enabled() const { return options_.enable_time; }
  TimeDriver& time() { return time_; }

  // One thread at a time turns the driver.
  bool try_lock() { return turn_mu_.try_lock(); }
  void unlock() { turn_mu_.unlock(); }

  // Waits for events at most `timeout` (nullopt: until something happens; zero: just poll),
  // then wakes what is ready. With `idle` and a paused clock, advances the clock to the next
  // timer instead of sleeping. Returns the number of tasks woken (fd events + timers).
  std::size_t park(std::optional<Duration> timeout, bool idle);
  // Makes a concurrent or the next park() return promptly.
  void unpark();

  // Registers a non-blocking fd (edge-triggered, both directions).
  absl::StatusOr<ScheduledIo*> register_fd(int fd);
  // Removes the fd from epoll and wakes its waiters; the ScheduledIo is released later.
  void deregister(ScheduledIo* io);

  // Registers a timer; false when the deadline already passed. Wakes the parked driver if
  // the new timer is the earliest.
  bool register_timer(TimerHandle* handle, Instant deadline);
  void cancel_timer(TimerHandle* handle) { time_.cancel(handle); }

  // Marks every registration shut down (their waiters see errors) at runtime shutdown.
  void shutdown();

  std::uint64_t io_events_total() const {
    // ORDERING: relaxed; a metrics counter.
    return io_events_.load(std::memory_order_relaxed);
  }
  std::size_t registered_fds() const;
  // Parks that spun and caught an event / spun until the budget or the timeout ran out.
  std::uint64_t busy_poll_caught_total() const { return spins_caught_.get(); }
  std::uint64_t busy_poll_missed_total() const { return spins_missed_.get(); }

 private:
  Driver(DriverOptions options, int epoll_fd, int event_fd);
  void release_pending();
  // One epoll_wait (after the busy poll, when the wait may block) and the dispatch of what it
  // returned; returns the fd events delivered.
  std::size_t wait_and_dispatch(std::optional<Duration> timeout);
  // epoll_wait; with a busy poll configured and a wait that may block, polls without blocking
  // first while the governor says spins pay. Returns epoll_wait's result.
  int wait(std::optional<Duration> timeout);

  const DriverOptions options_;
  const int epoll_fd_;
  const int event_fd_;
  Mutex turn_mu_;
  TimeDriver time_;
  // Set while an unpark's eventfd write is pending, so repeated unparks write once.
  Atomic<bool> unpark_pending_{false};
  std::vector<epoll_event> events_;

  mutable Mutex reg_mu_;
  IntrusiveList<ScheduledIo, &ScheduledIo::reg_prev, &ScheduledIo::reg_next> registrations_;
  std::size_t registered_ = 0;
  std::vector<ScheduledIo*> pending_release_;
  bool shut_down_ = false;
  Atomic<std::uint64_t> io_events_{0};
  // Used by the turn lock's holder only; the counters are read by metrics.
  BusyPollGovernor busy_poll_;
  LocalCounter spins_caught_;
  LocalCounter spins_missed_;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_IO_DRIVER_H_
