#include "runtime/sync/channel_detail/permits.h"

#include <vector>

namespace keel::sync::channel_detail {

Semaphore::Semaphore(std::size_t permits, AtomicWaker* closed_waker)
    : state_(static_cast<std::uint64_t>(permits) << kShift), closed_waker_(closed_waker) {}

Semaphore::Acquire Semaphore::acquire_or_enqueue(PermitWaiter* w, const Waker& waker) {
  keel::detail::LockGuard lock(mu_);
  // ORDERING: relaxed: the CAS re-reads; kWaitersBit only changes under mu_.
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (s & kClosedBit) return Acquire::kClosed;
    if (s >= kOne) {
      // ORDERING: acquire as in try_acquire.
      if (state_.compare_exchange_weak(s, s - kOne, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return Acquire::kAcquired;
      }
      continue;
    }
    if (s & kWaitersBit) break;
    // ORDERING: relaxed: the bit is a flag for release(), which then takes mu_ (the lock
    // orders the queue itself); a failed CAS (a concurrent release or close) retries.
    if (state_.compare_exchange_weak(s, s | kWaitersBit, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      break;
    }
  }
  w->waker = waker;
  w->queued = true;
  waiters_.push_back(w);
  ++waiting_;
  return Acquire::kQueued;
}

void Semaphore::release_locked(Waker& to_wake) {
  PermitWaiter* w = waiters_.pop_front();
  if (w == nullptr) {
    // ORDERING: seq_cst as in release().
    std::uint64_t prev = state_.fetch_add(kOne, std::memory_order_seq_cst);
    if (prev & kClosedBit) closed_waker_->wake_if_armed();
    return;
  }
  --waiting_;
  w->queued = false;
  to_wake = std::move(w->waker);
  if (waiters_.empty()) {
    // ORDERING: relaxed: under mu_, which orders the queue; permits stay 0 meanwhile.
    state_.fetch_and(~kWaitersBit, std::memory_order_relaxed);
  }
  // ORDERING: release: publishes the grant (and what came with the released permit) to the
  // owner's acquire load.
  w->outcome.store(PermitWaiter::kGranted, std::memory_order_release);
}

void Semaphore::release_slow() {
  Waker to_wake;
  {
    keel::detail::LockGuard lock(mu_);
    release_locked(to_wake);
  }
  std::move(to_wake).wake();
}

void Semaphore::cancel(PermitWaiter* w) {
  Waker to_wake;
  {
    keel::detail::LockGuard lock(mu_);
    if (w->queued) {
      waiters_.remove(w);
      --waiting_;
      w->queued = false;
      w->waker.reset();
      if (waiters_.empty()) {
        // ORDERING: relaxed: under mu_ (see release_locked).
        state_.fetch_and(~kWaitersBit, std::memory_order_relaxed);
      }
      return;
    }
    // ORDERING: relaxed: written under mu_, which we hold.
    if (w->outcome.load(std::memory_order_relaxed) == PermitWaiter::kGranted) {
      // Granted, but the owner never took it: pass it on.
      release_locked(to_wake);
    }
  }
  std::move(to_wake).wake();
}

void Semaphore::close() {
  std::vector<Waker> to_wake;
  {
    keel::detail::LockGuard lock(mu_);
    // ORDERING: seq_cst: ordered with the receiver's seq_cst checks; release publishes.
    state_.fetch_or(kClosedBit, std::memory_order_seq_cst);
    waiting_ = 0;
    while (PermitWaiter* w = waiters_.pop_front()) {
      w->queued = false;
      to_wake.push_back(std::move(w->waker));
      // ORDERING: release pairs with the owner's acquire load.
      w->outcome.store(PermitWaiter::kClosed, std::memory_order_release);
    }
    // ORDERING: relaxed: under mu_.
    state_.fetch_and(~kWaitersBit, std::memory_order_relaxed);
  }
  for (Waker& w : to_wake) std::move(w).wake();
}

void CloseNotifier::close() {
  std::vector<Waker> to_wake;
  {
    keel::detail::LockGuard lock(mu_);
    // ORDERING: release pairs with is_closed(); under mu_ against add().
    if (closed_.exchange(true, std::memory_order_acq_rel)) return;
    while (CloseWaiter* w = waiters_.pop_front()) {
      w->queued = false;
      to_wake.push_back(std::move(w->waker));
    }
  }
  for (Waker& w : to_wake) std::move(w).wake();
}

bool CloseNotifier::add(CloseWaiter* w, const Waker& waker) {
  keel::detail::LockGuard lock(mu_);
  // ORDERING: relaxed: under mu_, which close() holds while setting the flag.
  if (closed_.load(std::memory_order_relaxed)) return false;
  w->waker = waker;
  w->queued = true;
  waiters_.push_back(w);
  return true;
}

void CloseNotifier::remove(CloseWaiter* w) {
  keel::detail::LockGuard lock(mu_);
  if (!w->queued) return;
  waiters_.remove(w);
  w->queued = false;
  w->waker.reset();
}

}  // namespace keel::sync::channel_detail
