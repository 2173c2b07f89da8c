#include "runtime/sync/notify.h"

#include <utility>

namespace keel::sync {

using keel::detail::SpinGuard;

void Notify::store_permit(std::size_t cur) {
  for (;;) {
    // ORDERING: release on success, so the task that consumes the permit (acquire CAS in
    // Notified) sees what was written before notify_one(); even kNotified -> kNotified is
    // written (a no-op RMW) so that a second notifier's writes are published too. Relaxed on
    // failure: we retry with the fresh value.
    if (state_.compare_exchange_weak(cur, (cur & ~kStateMask) | kNotified,
                                     std::memory_order_release, std::memory_order_relaxed)) {
      return;
    }
    // Under mu_ the word cannot become kWaiting: only kEmpty <-> kNotified flips made us retry.
  }
}

void Notify::notify_one() {
  // ORDERING: relaxed; the CAS in store_permit revalidates, and kWaiting is re-read under mu_.
  std::size_t cur = state_.load(std::memory_order_relaxed);
  while ((cur & kStateMask) != kWaiting) {
    // ORDERING: as in store_permit (release on success).
    if (state_.compare_exchange_weak(cur, (cur & ~kStateMask) | kNotified,
                                     std::memory_order_release, std::memory_order_relaxed)) {
      return;
    }
  }
  Waker waker;  // one waiter at most: no WakeList on this hot path
  {
    SpinGuard lock(mu_);
    // ORDERING: relaxed; kWaiting is entered and left only under mu_, which we hold.
    cur = state_.load(std::memory_order_relaxed);
    if ((cur & kStateMask) == kWaiting) {
      waker = notify_one_locked(cur);
    } else {
      // The last waiter left meanwhile; nothing can enter kWaiting while we hold mu_.
      store_permit(cur);
    }
  }
  std::move(waker).wake();
}

Waker Notify::notify_one_locked(std::size_t cur) {
  Notified* w = waiters_.pop_front();
  Waker waker = std::move(w->waker_);
  if (waiters_.empty()) {
    // ORDERING: relaxed; kWaiting -> kEmpty under mu_, and nothing lock-free writes the word
    // while it is kWaiting (the waiter learns of its wake-up through node_state_ below).
    state_.store((cur & ~kStateMask) | kEmpty, std::memory_order_relaxed);
  }
  // ORDERING: release; pairs with the waiter's acquire load (poll_ready), publishing what
  // the notifier wrote before notify_one(). Last access to *w.
  w->node_state_.store(kNodeNotifiedOne, std::memory_order_release);
  return waker;
}

void Notify::notify_waiters() {
  detail::WakeList wakes;
  {
    SpinGuard lock(mu_);
    // ORDERING: relaxed; under mu_ (kWaiting and the call count change only under it).
    std::size_t cur = state_.load(std::memory_order_relaxed);
    std::size_t bumped = cur + (std::size_t{1} << kCallsShift);
    if ((cur & kStateMask) == kWaiting) {
      while (Notified* w = waiters_.pop_front()) {
        wakes.push(std::move(w->waker_));
        // ORDERING: release; pairs with poll_ready's acquire. Last access to *w.
        w->node_state_.store(kNodeNotifiedAll, std::memory_order_release);
      }
      // ORDERING: release; a Notified created earlier that sees the new count (acquire)
      // completes and must see what preceded notify_waiters().
      state_.store((bumped & ~kStateMask) | kEmpty, std::memory_order_release);
    } else {
      // kEmpty/kNotified may flip lock-free meanwhile: add, do not store.
      // ORDERING: release; as above.
      state_.fetch_add(std::size_t{1} << kCallsShift, std::memory_order_release);
    }
  }
  wakes.wake_all();
}

bool Notify::consume_or_enqueue(Notified* w, Waker waker) {
  SpinGuard lock(mu_);
  // ORDERING: acquire; a changed call count means notify_waiters() ran, whose writes we then
  // see. The CASes below revalidate.
  std::size_t cur = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((cur >> kCallsShift) != w->calls_) return false;
    switch (cur & kStateMask) {
      case kNotified:
        // ORDERING: acquire on success pairs with the notifier's release CAS.
        if (state_.compare_exchange_weak(cur, (cur & ~kStateMask) | kEmpty,
                                         std::memory_order_acquire, std::memory_order_acquire)) {
          return false;
        }
        continue;
      case kEmpty:
        // ORDERING: acquire (both ways): on success we only announce a waiter (what it gets
        // later comes through node_state_), but a failure may show a permit or a moved call
        // count, whose notifier's writes we must then see.
        if (!state_.compare_exchange_weak(cur, (cur & ~kStateMask) | kWaiting,
                                          std::memory_order_acquire, std::memory_order_acquire)) {
          continue;
        }
        break;
      default:  // kWaiting
        break;
    }
    break;
  }
  w->waker_ = std::move(waker);
  // ORDERING: relaxed; read lock-free only after a later release store, or under mu_.
  w->node_state_.store(kNodeQueued, std::memory_order_relaxed);
  waiters_.push_back(w);
  w->phase_ = Notified::Phase::kWaiting;
  return true;
}

void Notify::cancel(Notified* w) {
  detail::WakeList wakes;
  {
    SpinGuard lock(mu_);
    // ORDERING: relaxed; the node's state only changes under mu_.
    std::uint8_t s = w->node_state_.load(std::memory_order_relaxed);
    // ORDERING: relaxed; kWaiting only changes under mu_, the CASes revalidate the rest.
    std::size_t cur = state_.load(std::memory_order_relaxed);
    if (s == kNodeQueued) {
      waiters_.remove(w);
      w->waker_.reset();
      if (waiters_.empty()) {
        // ORDERING: relaxed; kWaiting -> kEmpty under mu_ (see notify_one_locked).
        state_.store((cur & ~kStateMask) | kEmpty, std::memory_order_relaxed);
      }
    } else if (s == kNodeNotifiedOne) {
      // The notify_one() meant for us goes to the next waiter, or becomes the permit.
      if ((cur & kStateMask) == kWaiting) {
        wakes.push(notify_one_locked(cur));
      } else {
        store_permit(cur);
      }
    }
  }
  wakes.wake_all();
}

Notify::Notified::Notified(Notify& n, std::source_location where)
    // ORDERING: acquire; pairs with notify_waiters' release so a later completion because
    // the count moved sees its writes.
    : notify_(&n), calls_(n.state_.load(std::memory_order_acquire) >> kCallsShift) {
  await_point = {"Notify::notified", where};
}

Notify::Notified::~Notified() {
  if (phase_ == Phase::kWaiting) notify_->cancel(this);
}

bool Notify::Notified::await_ready() {
  // ORDERING: acquire; see consume_or_enqueue (a moved count or a permit carries the
  // notifier's writes).
  std::size_t cur = notify_->state_.load(std::memory_order_acquire);
  for (;;) {
    if ((cur >> kCallsShift) != calls_) break;
    if ((cur & kStateMask) != kNotified) return false;
    // ORDERING: acquire on success pairs with the notifier's release CAS; acquire on failure
    // as for the load above.
    if (notify_->state_.compare_exchange_weak(cur, (cur & ~kStateMask) | kEmpty,
                                              std::memory_order_acquire,
                                              std::memory_order_acquire)) {
      break;
    }
  }
  phase_ = Phase::kDone;
  return true;
}

bool Notify::Notified::await_suspend(std::coroutine_handle<> h) {
  Waker w = keel::detail::current_waker(await_point.what);
  if (!notify_->consume_or_enqueue(this, std::move(w))) {
    phase_ = Phase::kDone;
    return false;
  }
  keel::detail::park_current(h, this);
  return true;
}

bool Notify::Notified::poll_ready() {
  if (phase_ != Phase::kWaiting) return true;
  // ORDERING: acquire pairs with the notifier's release store of node_state_.
  return node_state_.load(std::memory_order_acquire) != kNodeQueued;
}

}  // namespace keel::sync
