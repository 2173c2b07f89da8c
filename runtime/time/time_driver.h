// TimeDriver: the runtime's timers: a clock, a timing wheel behind a mutex, and the logic
// that fires due timers.
//
// A `Sleep` awaiter owns a TimerHandle; registering links it into the wheel, destroying the
// awaiter unlinks it (cancellation). Firing happens on whichever thread turns the driver: due
// entries are unlinked and their wakers taken under the lock, and woken after it, so a
// cancelled awaiter never races with a fire that still reads its entry.
//
// Tokio keeps one wheel behind one lock, which becomes a contention point with many workers;
// per-worker wheels are the better end state (DESIGN.md). With this machine's 2 workers one
// lock is not yet the bottleneck, and the interface (register/cancel/process) does not
// change when the wheel is sharded.
//
// Thread-safety: all methods are safe from any thread.
#ifndef KEEL_RUNTIME_TIME_TIME_DRIVER_H_
#define KEEL_RUNTIME_TIME_TIME_DRIVER_H_

#include <cstdint>
#include <optional>

#include "runtime/detail/concurrency.h"
#include "runtime/task/waker.h"
#include "runtime/time/clock.h"
#include "runtime/time/wheel.h"

namespace keel::detail {

struct TimerHandle {
  TimerEntry entry;
  Waker waker;              // guarded by the driver's lock while linked
  Atomic<bool> fired{false};
};

class TimeDriver {
 public:
  explicit TimeDriver(bool start_paused);

  Clock& clock() { return clock_; }

  // Links the handle with its deadline; false when the deadline already passed (the caller
  // completes at once). Returns through `earlier` whether this became the earliest timer, so
  // the caller can wake a parked driver.
  bool register_timer(TimerHandle* handle, Instant deadline, bool* earlier);
  // Unlinks the handle if still linked.
  void cancel(TimerHandle* handle);
  // Fires every timer due at the clock's current time; returns how many fired.
  std::size_t process();
  // When the earliest timer is due, if any.
  std::optional<Instant> next_deadline();
  std::size_t active() const;
  std::uint64_t fired_total() const {
    // ORDERING: relaxed; a metrics counter.
    return fired_total_.load(std::memory_order_relaxed);
  }

 private:
  Clock clock_;
  mutable Mutex mu_;
  Wheel wheel_;
  Atomic<std::uint64_t> fired_total_{0};
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_TIME_TIME_DRIVER_H_
