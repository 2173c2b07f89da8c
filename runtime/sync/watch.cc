#include "runtime/sync/watch.h"

#include "absl/strings/str_cat.h"

namespace keel::sync::watch::detail {

absl::Status closed_error(const char* what) {
  return absl::FailedPreconditionError(absl::StrCat(what, ": the sender was dropped"));
}

void State::close_tx() {
  // ORDERING: seq_cst: publish-then-wake, as bump().
  version_.fetch_or(kClosedBit, std::memory_order_seq_cst);
  std::vector<Waker> wake;
  {
    keel::detail::LockGuard lock(mu_);
    while (Waiter* w = rx_waiters_.pop_front()) {
      w->queued = false;
      wake.push_back(std::move(w->waker));
    }
    // ORDERING: relaxed: under mu_, which every parker holds while changing the count.
    rx_parked_.store(0, std::memory_order_relaxed);
  }
  for (Waker& w : wake) std::move(w).wake();
}

void State::notify_rx() {
  // ORDERING: seq_cst: after bump()'s seq_cst increment; pairs with park_rx's seq_cst
  // increment-then-recheck, so a receiver that missed the new version is counted here.
  if (rx_parked_.load(std::memory_order_seq_cst) == 0) return;
  channel_detail::WakeList wake;
  keel::detail::UniqueLock lock(mu_);
  while (Waiter* w = rx_waiters_.pop_front()) {
    w->queued = false;
    // ORDERING: relaxed: under mu_.
    rx_parked_.fetch_sub(1, std::memory_order_relaxed);
    wake.push(std::move(w->waker));
    if (wake.full()) {
      lock.unlock();
      wake.wake_all();
      lock.lock();
    }
  }
  lock.unlock();
  wake.wake_all();
}

bool State::park_rx(Waiter* w, std::uint64_t seen, const Waker& waker) {
  keel::detail::LockGuard lock(mu_);
  w->waker = waker;
  w->queued = true;
  rx_waiters_.push_back(w);
  // ORDERING: seq_cst: increment-then-recheck against the sender's bump-then-check.
  rx_parked_.fetch_add(1, std::memory_order_seq_cst);
  std::uint64_t v = version();
  if ((v & kClosedBit) || (v & ~kClosedBit) != seen) {
    rx_waiters_.remove(w);
    w->queued = false;
    w->waker.reset();
    // ORDERING: relaxed: under mu_.
    rx_parked_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void State::unpark_rx(Waiter* w) {
  keel::detail::LockGuard lock(mu_);
  if (!w->queued) return;
  rx_waiters_.remove(w);
  w->queued = false;
  w->waker.reset();
  // ORDERING: relaxed: under mu_.
  rx_parked_.fetch_sub(1, std::memory_order_relaxed);
}

bool State::park_tx(Waiter* w, const Waker& waker) {
  keel::detail::LockGuard lock(mu_);
  // ORDERING: acquire; under mu_, which drop_receiver takes after its decrement.
  if (rx_count_.load(std::memory_order_acquire) == 0) return false;
  w->waker = waker;
  w->queued = true;
  tx_waiters_.push_back(w);
  return true;
}

void State::unpark_tx(Waiter* w) {
  keel::detail::LockGuard lock(mu_);
  if (!w->queued) return;
  tx_waiters_.remove(w);
  w->queued = false;
  w->waker.reset();
}

void State::drop_receiver() {
  // ORDERING: acq_rel: release pairs with receiver_count()'s acquire.
  if (rx_count_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::vector<Waker> wake;
  {
    keel::detail::LockGuard lock(mu_);
    while (Waiter* w = tx_waiters_.pop_front()) {
      w->queued = false;
      wake.push_back(std::move(w->waker));
    }
  }
  for (Waker& w : wake) std::move(w).wake();
}

}  // namespace keel::sync::watch::detail
