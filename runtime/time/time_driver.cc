#include "runtime/time/time_driver.h"

#include <utility>

namespace keel::detail {

TimeDriver::TimeDriver(bool start_paused) : clock_(start_paused), wheel_(0) {}

bool TimeDriver::register_timer(TimerHandle* handle, Instant deadline, bool* earlier) {
  std::uint64_t tick = clock_.deadline_tick(deadline);
  LockGuard lock(mu_);
  // The wheel may lag the clock (it moves when the driver turns): a deadline at or before
  // the current tick is due now.
  if (tick <= clock_.now_tick() && deadline <= clock_.now()) return false;
  if (tick <= wheel_.elapsed()) tick = wheel_.elapsed() + 1;
  std::optional<std::uint64_t> before = wheel_.next_expiration();
  handle->entry.deadline = tick;
  wheel_.insert(&handle->entry);
  *earlier = !before || tick < *before;
  return true;
}

void TimeDriver::cancel(TimerHandle* handle) {
  LockGuard lock(mu_);
  wheel_.remove(&handle->entry);
}

std::size_t TimeDriver::process() {
  std::uint64_t now = clock_.now_tick();
  constexpr int kBatch = 32;
  Waker batch[kBatch];
  std::size_t total = 0;
  bool more = true;
  while (more) {
    int n = 0;
    more = false;
    {
      LockGuard lock(mu_);
      // Fire at most one batch per lock hold, then wake outside the lock. Entries beyond the
      // batch stay due and are fired by the next round of this loop.
      std::uint64_t target = now;
      wheel_.advance(target, [&](TimerEntry* e) {
        auto* h = reinterpret_cast<TimerHandle*>(e);
        if (n == kBatch) {
          // Put it back one tick ahead of elapsed; it is due, and the next round fires it.
          more = true;
          h->entry.deadline = wheel_.elapsed() + 1;
          wheel_.insert(e);
          return;
        }
        batch[n++] = std::move(h->waker);
        // ORDERING: release; the awaiter's poll_ready() acquires it.
        h->fired.store(true, std::memory_order_release);
      });
    }
    for (int i = 0; i < n; ++i) std::move(batch[i]).wake();
    total += static_cast<std::size_t>(n);
  }
  // ORDERING: relaxed; a metrics counter.
  fired_total_.fetch_add(total, std::memory_order_relaxed);
  return total;
}

std::optional<Instant> TimeDriver::next_deadline() {
  LockGuard lock(mu_);
  std::optional<std::uint64_t> tick = wheel_.next_expiration();
  if (!tick) return std::nullopt;
  return clock_.instant_of_tick(*tick);
}

std::size_t TimeDriver::active() const {
  LockGuard lock(mu_);
  return wheel_.size();
}

}  // namespace keel::detail
