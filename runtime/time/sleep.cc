#include "runtime/time/sleep.h"

#include <cstdio>
#include <cstdlib>

#include "runtime/io/driver.h"
#include "runtime/scheduler/runtime_core.h"
#include "runtime/task/yield.h"

namespace keel {
namespace {

detail::Driver& timer_driver(const char* what) {
  detail::RuntimeCore& core = detail::require_core(what);
  if (!core.driver().time_enabled()) {
    std::fprintf(stderr,
                 "keel: %s needs timers, which are disabled on this runtime: call "
                 "enable_time() or enable_all() on the Builder\n",
                 what);
    std::abort();
  }
  return core.driver();
}

}  // namespace

Sleep::Sleep(Instant deadline, std::source_location where)
    : deadline_(deadline), driver_(&timer_driver("keel::sleep")) {
  await_point = {"sleep", where};
}

Sleep::~Sleep() {
  if (registered_) driver_->cancel_timer(&timer_);
}

bool Sleep::await_ready() {
  if (!detail::coop_has_budget()) return false;
  if (deadline_ > driver_->time().clock().now()) return false;
  detail::coop_proceed();
  return true;
}

bool Sleep::await_suspend(std::coroutine_handle<> h) {
  timer_.waker = detail::current_waker("sleep");
  bool out_of_budget = !detail::coop_has_budget();
  if (!driver_->register_timer(&timer_, deadline_)) {
    if (!out_of_budget) return false;  // already due
    // Due, but out of budget: yield first.
    timer_.fired.store(true, std::memory_order_relaxed);
    Waker self = std::move(timer_.waker);
    detail::park_current(h, this);
    std::move(self).wake();
    return true;
  }
  registered_ = true;
  detail::park_current(h, this);
  if (out_of_budget) detail::current_waker("sleep").wake_by_ref();
  return true;
}

bool Sleep::poll_ready() {
  // ORDERING: acquire pairs with the driver's release when it fired the timer.
  return timer_.fired.load(std::memory_order_acquire) || deadline_ <= driver_->time().clock().now();
}

Sleep sleep_until(Instant deadline, std::source_location where) { return Sleep(deadline, where); }

Sleep sleep(Duration d, std::source_location where) {
  return Sleep(Instant::now() + d, where);
}

Interval::Interval(Instant start, Duration period) : next_(start), period_(period) {
  if (period_ <= Duration::zero()) {
    std::fprintf(stderr, "keel: interval period must be positive\n");
    std::abort();
  }
}

Task<Instant> Interval::tick(std::source_location where) {
  co_await sleep_until(next_, where);
  Instant scheduled = next_;
  Instant now = Instant::now();
  switch (behavior_) {
    case MissedTickBehavior::kBurst:
      next_ = scheduled + period_;
      break;
    case MissedTickBehavior::kDelay:
      next_ = (now > scheduled ? now : scheduled) + period_;
      break;
    case MissedTickBehavior::kSkip: {
      next_ = scheduled + period_;
      if (now >= next_) {
        auto missed = (now - scheduled) / period_;
        next_ = scheduled + period_ * (missed + 1);
      }
      break;
    }
  }
  co_return scheduled;
}

void Interval::reset() { next_ = Instant::now() + period_; }

Interval interval(Duration period) { return Interval(Instant::now(), period); }
Interval interval_at(Instant start, Duration period) { return Interval(start, period); }

namespace time {

void pause() { timer_driver("keel::time::pause").time().clock().pause(); }
void resume() { timer_driver("keel::time::resume").time().clock().resume(); }
bool is_paused() { return timer_driver("keel::time::is_paused").time().clock().is_paused(); }

Task<void> advance(Duration d) {
  detail::Driver& driver = timer_driver("keel::time::advance");
  driver.time().clock().advance(d);
  driver.time().process();
  // Let the tasks those timers woke run before the caller continues.
  co_await yield_now();
}

}  // namespace time
}  // namespace keel
