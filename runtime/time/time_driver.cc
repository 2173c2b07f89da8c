#include "runtime/time/time_driver.h"

#include <utility>

#include "absl/container/inlined_vector.h"

namespace keel::detail {

TimeDriver::TimeDriver(bool start_paused) : clock_(start_paused), wheel_(0) {}

bool TimeDriver::register_timer(TimerHandle* handle, Instant deadline, bool* earlier) {
  std::uint64_t tick = clock_.deadline_tick(deadline);
  LockGuard lock(mu_);
  // The wheel may lag the clock (it moves when the driver turns): a deadline whose tick is
  // not after the current one is due now. (The tick rounds the deadline up and now_tick()
  // rounds the clock down, so this also means deadline <= now.)
  if (tick <= clock_.now_tick()) return false;
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
  // Every due timer is fired in one pass under the lock (its waker taken, `fired` set), and
  // the wakers are woken after the lock is released; the list stays on the stack for up to
  // kInlineWakers timers. Due entries must not be put back into the wheel to bound a batch:
  // the wheel only takes deadlines after elapsed(), so they would wait for the next tick (a
  // paused clock's advance() then left them pending, and auto-advance woke them 1 ms late).
  constexpr std::size_t kInlineWakers = 32;
  absl::InlinedVector<Waker, kInlineWakers> wakers;
  {
    LockGuard lock(mu_);
    wheel_.advance(now, [&](TimerEntry* e) {
      auto* h = reinterpret_cast<TimerHandle*>(e);
      wakers.push_back(std::move(h->waker));
      // ORDERING: release; the awaiter's poll_ready() acquires it.
      h->fired.store(true, std::memory_order_release);
    });
  }
  std::size_t total = wakers.size();
  // ORDERING: relaxed; a metrics counter. Counted before waking: the wake's release orders it
  // before the woken task's poll, so a task sees its own timer counted.
  fired_total_.fetch_add(total, std::memory_order_relaxed);
  for (Waker& w : wakers) std::move(w).wake();
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
