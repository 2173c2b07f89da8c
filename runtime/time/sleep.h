// Timers: sleep, sleep_until, interval, and the paused test clock.
//
//   co_await keel::sleep(std::chrono::milliseconds(50));
//   co_await keel::sleep_until(deadline);
//
//   keel::Interval tick = keel::interval(std::chrono::seconds(1));
//   for (;;) { keel::Instant at = co_await tick.tick(); ... }
//
//   keel::time::pause();                              // tests: the clock stops
//   co_await keel::time::advance(std::chrono::hours(1));  // timers due by then fire
//
// A paused clock also auto-advances to the next timer when every task is idle, so a test
// awaiting a one-hour sleep finishes at once. Timers have 1 ms resolution and never fire
// early. Destroying a pending sleep (cancelling its task, losing a select) unregisters it.
//
// Thread-safety: awaiters belong to one task; pause/advance affect the whole runtime.
#ifndef KEEL_RUNTIME_TIME_SLEEP_H_
#define KEEL_RUNTIME_TIME_SLEEP_H_

#include <coroutine>
#include <source_location>

#include "runtime/task/context.h"
#include "runtime/task/task.h"
#include "runtime/time/instant.h"
#include "runtime/time/time_driver.h"

namespace keel {

namespace detail {
class Driver;
}

class [[nodiscard]] Sleep final : public detail::Leaf {
 public:
  Sleep(Instant deadline, std::source_location where);
  Sleep(const Sleep&) = delete;
  Sleep& operator=(const Sleep&) = delete;
  ~Sleep();

  Instant deadline() const { return deadline_; }

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() {}
  bool poll_ready() override;

 private:
  Instant deadline_;
  detail::Driver* driver_;
  detail::TimerHandle timer_;
  bool registered_ = false;
};

Sleep sleep_until(Instant deadline, std::source_location where = std::source_location::current());
Sleep sleep(Duration d, std::source_location where = std::source_location::current());

// What an Interval does when ticks were missed (the task was busy past a tick).
enum class MissedTickBehavior {
  kBurst,  // fire the missed ticks back to back until caught up (default, as Tokio)
  kDelay,  // the next tick is one period after the late one
  kSkip,   // drop the missed ticks; the next tick is the next multiple of the period
};

class Interval {
 public:
  Interval(Instant start, Duration period);

  // Completes at the next tick and gives its scheduled instant. The first tick is `start`.
  Task<Instant> tick(std::source_location where = std::source_location::current());
  void set_missed_tick_behavior(MissedTickBehavior b) { behavior_ = b; }
  MissedTickBehavior missed_tick_behavior() const { return behavior_; }
  Duration period() const { return period_; }
  // Restarts so that the next tick is one period from now.
  void reset();

 private:
  Instant next_;
  Duration period_;
  MissedTickBehavior behavior_ = MissedTickBehavior::kBurst;
};

// An interval whose first tick is now.
Interval interval(Duration period);
// An interval whose first tick is `start`.
Interval interval_at(Instant start, Duration period);

namespace time {
// Stops the current runtime's clock (timers must be enabled).
void pause();
// Restarts a paused clock; it runs on from the paused instant (time never goes back).
void resume();
bool is_paused();
// Moves the paused clock forward by `d`, fires every timer due by then, and yields once so
// that the woken tasks get to run (on current_thread they run before advance() returns; on
// multi_thread they are queued on the workers and may still be running).
Task<void> advance(Duration d);
}  // namespace time

}  // namespace keel

#endif  // KEEL_RUNTIME_TIME_SLEEP_H_
