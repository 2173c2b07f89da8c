// The runtime's clock: the steady clock, or a paused test clock that only moves when told.
//
// Each runtime has one Clock. Paused (`time::pause()` or Builder::start_paused), `now()` stays
// put until `time::advance(d)` moves it, or until the runtime auto-advances it to the next
// timer because every task is idle; tests of expiry and timeouts then run instantly and
// deterministically. Resumed, it runs at the steady clock's rate from where it stood.
//
// Timer ticks are whole milliseconds since the clock's origin; a deadline is rounded *up* to
// its tick, so a timer never fires early.
//
// Thread-safety: all methods are safe from any thread.
#ifndef KEEL_RUNTIME_TIME_CLOCK_H_
#define KEEL_RUNTIME_TIME_CLOCK_H_

#include <cstdint>

#include "runtime/detail/concurrency.h"
#include "runtime/time/instant.h"

namespace keel::detail {

class Clock {
 public:
  explicit Clock(bool start_paused);

  Instant now() const;
  bool is_paused() const {
    // ORDERING: acquire pairs with pause()/resume()'s release.
    return paused_.load(std::memory_order_acquire);
  }
  void pause();
  // Runs again from the instant it was paused at (plus any advance): time never goes back, so
  // the timer wheel, which reached that instant, is never ahead of the clock.
  void resume();
  // Moves a paused clock forward (no-op on a running clock).
  void advance(Duration d);
  // Moves a paused clock to `t` if `t` is later.
  void advance_to(Instant t);

  // The tick at or after `t`; the tick of the origin is 0.
  std::uint64_t deadline_tick(Instant t) const;
  // The tick `now()` is in (rounded down).
  std::uint64_t now_tick() const;
  Instant instant_of_tick(std::uint64_t tick) const;

 private:
  const Instant origin_;
  // ORDERING (all members): paused_ is read with acquire on every now(); the paused instant
  // itself is guarded by mu_. offset_ns_ is written under mu_ while paused, before the
  // release store of paused_ = false that resume() makes, so a now() that acquires
  // paused_ == false reads an offset at least that new.
  Atomic<bool> paused_;
  // How far a running clock is from the steady clock: what pausing and advancing added (or,
  // negative, the real time that passed while paused).
  Atomic<std::int64_t> offset_ns_{0};
  mutable Mutex mu_;
  Instant paused_at_;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_TIME_CLOCK_H_
