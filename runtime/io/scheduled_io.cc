#include "runtime/io/scheduled_io.h"

namespace keel::detail {

ReadyEvent ScheduledIo::readiness(Interest interest) const {
  // ORDERING: acquire pairs with on_event()'s release, so what the event signalled (data in
  // the socket buffer) is visible before the caller's syscall.
  std::uint64_t word = readiness_.load(std::memory_order_acquire);
  return ReadyEvent{static_cast<std::uint32_t>(word & kReadyMask) & ready_mask(interest),
                    static_cast<std::uint32_t>((word & kTickMask) >> kTickShift),
                    (word & kShutdown) != 0};
}

void ScheduledIo::on_event(std::uint32_t ready) {
  std::uint64_t cur = readiness_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    std::uint64_t tick = ((cur & kTickMask) + (std::uint64_t{1} << kTickShift)) & kTickMask;
    next = (cur & ~kTickMask) | tick | ready;
    // ORDERING: acq_rel; release publishes the event to readiness() readers.
  } while (!readiness_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
  wake(ready);
}

void ScheduledIo::clear_readiness(ReadyEvent event) {
  std::uint64_t keep = Ready::kReadClosed | Ready::kWriteClosed | Ready::kError;
  std::uint64_t clear = event.ready & ~keep;
  std::uint64_t cur = readiness_.load(std::memory_order_relaxed);
  for (;;) {
    if (((cur & kTickMask) >> kTickShift) != event.tick) return;  // newer readiness arrived
    std::uint64_t next = cur & ~clear;
    // ORDERING: acq_rel; a CAS against the driver's on_event, which wins if it bumped the tick.
    if (readiness_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_relaxed)) {
      return;
    }
  }
}

void ScheduledIo::shutdown() {
  // ORDERING: acq_rel; waiters re-check under mu_, which wake() takes after this.
  readiness_.fetch_or(kShutdown, std::memory_order_acq_rel);
  wake(Ready::kAll);
}

bool ScheduledIo::add_waiter(IoWaiter* waiter) {
  LockGuard lock(mu_);
  ReadyEvent ev = readiness(waiter->interest);
  if (ev.ready != 0 || ev.shutdown) return false;
  waiters_.push_front(waiter);
  waiter->linked = true;
  return true;
}

void ScheduledIo::remove_waiter(IoWaiter* waiter) {
  LockGuard lock(mu_);
  if (!waiter->linked) return;
  waiters_.remove(waiter);
  waiter->linked = false;
}

void ScheduledIo::wake(std::uint32_t ready) {
  // Wakers are taken out under the lock and woken after it: waking may schedule a task that
  // runs (and destroys its waiter) at once on another worker.
  constexpr int kBatch = 32;
  Waker batch[kBatch];
  bool more = true;
  while (more) {
    int n = 0;
    more = false;
    {
      LockGuard lock(mu_);
      IoWaiter* w = waiters_.front();
      while (w != nullptr) {
        IoWaiter* next = w->next;
        if (ready & ready_mask(w->interest)) {
          if (n == kBatch) {
            more = true;
            break;
          }
          waiters_.remove(w);
          w->linked = false;
          batch[n++] = std::move(w->waker);
          // ORDERING: release; poll_ready() acquires it and then re-reads readiness.
          w->notified.store(true, std::memory_order_release);
        }
        w = next;
      }
    }
    for (int i = 0; i < n; ++i) std::move(batch[i]).wake();
  }
}

}  // namespace keel::detail
