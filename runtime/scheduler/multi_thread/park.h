// Parker: how one worker sleeps and is woken.
//
// A parking worker that can take the driver lock sleeps in epoll_wait (serving I/O and timers
// for the whole runtime); the others sleep on a condition variable. unpark() knows which,
// from the state word:
//
//   kEmpty -> kParkedCondvar | kParkedDriver   (park)
//   any    -> kNotified                        (unpark; wakes the sleeper as its state says)
//   kNotified -> kEmpty                        (park consumes the notification and returns)
//
// Invariant: a notification is never lost: unpark() swaps in kNotified before looking at how
// the worker sleeps, and park() re-checks for kNotified under the mutex before waiting.
//
// Thread-safety: park() only by the owning worker; unpark() from any thread.
#ifndef KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_PARK_H_
#define KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_PARK_H_

#include <cstdint>
#include <optional>

#include "runtime/detail/concurrency.h"
#include "runtime/io/driver.h"

namespace keel::detail {

class Parker {
 public:
  explicit Parker(Driver* driver) : driver_(driver) {}

  // Sleeps until unparked, or (as the driver's owner) until I/O or a timer woke a task, or
  // `timeout` passed. `idle` lets a paused clock auto-advance. Returns tasks the driver woke.
  std::size_t park(std::optional<Duration> timeout, bool idle);
  void unpark();

 private:
  static constexpr std::uint32_t kEmpty = 0;
  static constexpr std::uint32_t kParkedCondvar = 1;
  static constexpr std::uint32_t kParkedDriver = 2;
  static constexpr std::uint32_t kNotified = 3;

  Driver* const driver_;
  Atomic<std::uint32_t> state_{kEmpty};
  Mutex mu_;
  CondVar cv_;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_PARK_H_
