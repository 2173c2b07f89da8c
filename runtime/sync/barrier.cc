#include "runtime/sync/barrier.h"

#include <utility>

namespace keel::sync {

using keel::detail::LockGuard;

bool Barrier::arrive(Wait* w, Waker waker) {
  detail::WakeList wakes;
  {
    LockGuard lock(mu_);
    if (arrived_ + 1 < n_) {
      ++arrived_;
      w->waker_ = std::move(waker);
      // ORDERING: relaxed; read lock-free only after the leader's release store, or under mu_.
      w->node_state_.store(kNodeQueued, std::memory_order_relaxed);
      waiters_.push_back(w);
      w->phase_ = Wait::Phase::kWaiting;
      return true;
    }
    // The last arrival: release this generation.
    arrived_ = 0;
    ++generation_;
    while (Wait* o = waiters_.pop_front()) {
      wakes.push(std::move(o->waker_));
      // ORDERING: release; pairs with poll_ready's acquire, publishing every arrival's
      // writes (they precede our lock). Last access to *o.
      o->node_state_.store(kNodeReleased, std::memory_order_release);
    }
  }
  w->leader_ = true;
  w->phase_ = Wait::Phase::kDone;
  return false;
}

void Barrier::cancel(Wait* w) {
  LockGuard lock(mu_);
  // ORDERING: relaxed; the node's state only changes under mu_.
  if (w->node_state_.load(std::memory_order_relaxed) == kNodeQueued) {
    waiters_.remove(w);
    w->waker_.reset();
    --arrived_;  // withdraw the arrival
  }
}

Barrier::Wait::~Wait() {
  if (phase_ == Phase::kWaiting) barrier_->cancel(this);
}

bool Barrier::Wait::await_suspend(std::coroutine_handle<> h) {
  Waker w = keel::detail::current_waker(await_point.what);
  if (!barrier_->arrive(this, std::move(w))) return false;
  keel::detail::park_current(h, this);
  return true;
}

bool Barrier::Wait::poll_ready() {
  if (phase_ != Phase::kWaiting) return true;
  // ORDERING: acquire pairs with the leader's release store.
  return node_state_.load(std::memory_order_acquire) == kNodeReleased;
}

}  // namespace keel::sync
