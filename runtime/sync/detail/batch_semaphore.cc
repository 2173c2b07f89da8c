#include "runtime/sync/detail/batch_semaphore.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace keel::sync::detail {

using keel::detail::SpinGuard;

namespace {
[[noreturn]] void too_many_permits(const char* what, std::size_t n) {
  std::fprintf(stderr, "keel: %s: %zu permits exceed the maximum of %zu\n", what, n,
               BatchSemaphore::kMaxPermits);
  std::abort();
}
}  // namespace

BatchSemaphore::BatchSemaphore(std::size_t permits) : state_(permits << kShift) {
  if (permits > kMaxPermits) too_many_permits("semaphore", permits);
}

BatchSemaphore::TryResult BatchSemaphore::try_acquire(std::size_t n) {
  // ORDERING: relaxed; the CAS below revalidates the value it acts on.
  std::size_t cur = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (cur & kClosed) return TryResult::kClosed;
    if (n == 0) return TryResult::kAcquired;
    // kQueued implies 0 free permits, so a queued waiter is never overtaken here.
    if ((cur >> kShift) < n) return TryResult::kNoPermits;
    // ORDERING: acquire on success pairs with the release of whoever gave these permits
    // back (fast-path CAS or assign_locked), so what the previous holder wrote under the
    // lock/permit is visible to us; relaxed on failure, we only retry.
    if (state_.compare_exchange_weak(cur, cur - (n << kShift), std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      return TryResult::kAcquired;
    }
  }
}

void BatchSemaphore::release(std::size_t n) {
  if (n == 0) return;
  // ORDERING: relaxed; the CAS revalidates.
  std::size_t cur = state_.load(std::memory_order_relaxed);
  while (!(cur & kQueued)) {
    // ORDERING: release on success publishes the holder's writes to the next acquirer (its
    // acquire CAS); relaxed on failure, we retry or fall back to the locked path.
    if (state_.compare_exchange_weak(cur, cur + (n << kShift), std::memory_order_release,
                                     std::memory_order_relaxed)) {
      return;
    }
  }
  release_slow(n);
}

void BatchSemaphore::release_slow(std::size_t n) {
  WakeList wakes;
  {
    SpinGuard lock(mu_);
    // ORDERING: relaxed; under mu_, and kQueued only changes under mu_. If the queue emptied
    // since our check, the word is plain again and a CAS-free add would race with fast-path
    // acquirers, so add through assign_locked's fetch_add only when kQueued is still set.
    std::size_t cur = state_.load(std::memory_order_relaxed);
    if (cur & kQueued) {
      assign_locked(n, wakes);
    } else {
      // ORDERING: release; publishes the holder's writes to the next fast-path acquirer.
      state_.fetch_add(n << kShift, std::memory_order_release);
    }
  }
  wakes.wake_all();
}

void BatchSemaphore::assign_locked(std::size_t n, WakeList& wakes) {
  std::size_t rem = n;
  while (Acquire* w = waiters_.front()) {
    std::size_t take = std::min(rem, w->needed_);
    w->needed_ -= take;
    rem -= take;
    if (w->needed_ > 0) break;  // the head keeps what it got; nothing is left (rem == 0)
    waiters_.pop_front();
    wakes.push(std::move(w->waker_));
    // ORDERING: release; the waiter's acquire load in poll_ready()/finish() then sees the
    // permits' protected data (our writes, and the releaser's, which precede our lock).
    // This is the last access to *w: it may be destroyed as soon as it sees kNodeGranted.
    w->node_state_.store(kNodeGranted, std::memory_order_release);
  }
  if (waiters_.empty()) {
    // The queue drained: clear kQueued and hand the rest to the free count in one step.
    // While kQueued is set nothing else writes the word outside mu_ (fast paths fail or
    // only read, close() holds mu_), so the arithmetic below is exact.
    // ORDERING: release; fast-path acquirers of these permits acquire them.
    state_.fetch_add((rem << kShift) - kQueued, std::memory_order_release);
  }
}

void BatchSemaphore::add_permits(std::size_t n) {
  if (n == 0) return;
  // ORDERING: relaxed; a bound check only (a racing add is caught by its own check).
  std::size_t have = state_.load(std::memory_order_relaxed) >> kShift;
  if (n > kMaxPermits || have + n > kMaxPermits) too_many_permits("semaphore add_permits", have + n);
  release(n);
}

std::size_t BatchSemaphore::forget_permits(std::size_t n) {
  // ORDERING: relaxed; the CAS revalidates.
  std::size_t cur = state_.load(std::memory_order_relaxed);
  for (;;) {
    std::size_t take = std::min(n, cur >> kShift);
    if (take == 0) return 0;
    // ORDERING: relaxed; forgotten permits protect nothing and are never handed on.
    if (state_.compare_exchange_weak(cur, cur - (take << kShift), std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      return take;
    }
  }
}

void BatchSemaphore::close() {
  WakeList wakes;
  {
    SpinGuard lock(mu_);
    // ORDERING: release; pairs with the acquire loads that observe kClosed (the state is
    // only a flag here, but waiters reading it should see everything before close()).
    std::size_t cur = state_.fetch_or(kClosed, std::memory_order_release);
    if (cur & kClosed) return;
    std::size_t given_back = 0;
    while (Acquire* w = waiters_.pop_front()) {
      given_back += w->n_ - w->needed_;  // only the head can hold a partial assignment
      wakes.push(std::move(w->waker_));
      // ORDERING: release; last access to *w (see assign_locked).
      w->node_state_.store(kNodeClosed, std::memory_order_release);
    }
    if (cur & kQueued) {
      // ORDERING: release; the partial permits go back to the free count.
      state_.fetch_add((given_back << kShift) - kQueued, std::memory_order_release);
    }
  }
  wakes.wake_all();
}

bool BatchSemaphore::is_closed() const {
  // ORDERING: acquire; a caller that sees closed also sees what preceded close().
  return state_.load(std::memory_order_acquire) & kClosed;
}

std::size_t BatchSemaphore::available_permits() const {
  // ORDERING: relaxed; a snapshot for display and heuristics.
  return state_.load(std::memory_order_relaxed) >> kShift;
}

bool BatchSemaphore::acquire_or_enqueue(Acquire* a, Waker waker) {
  SpinGuard lock(mu_);
  // ORDERING: relaxed; the CAS revalidates, and kQueued cannot change while we hold mu_.
  std::size_t cur = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (cur & kClosed) {
      a->phase_ = Acquire::Phase::kClosed;
      return false;
    }
    std::size_t avail = cur >> kShift;
    std::size_t next;
    bool enough = !(cur & kQueued) && avail >= a->n_;
    if (enough) {
      next = cur - (a->n_ << kShift);
    } else {
      // Take whatever is free (only possible when the queue is empty: then we are the head)
      // and queue for the rest.
      next = (cur & kClosed) | kQueued;
    }
    // ORDERING: acquire on success: the permits we take carry the releasers' writes (their
    // release CAS/fetch_add); relaxed on failure, we retry.
    if (state_.compare_exchange_weak(cur, next, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      if (enough) {
        a->phase_ = Acquire::Phase::kAcquired;
        return false;
      }
      a->needed_ = a->n_ - avail;
      a->waker_ = std::move(waker);
      // ORDERING: relaxed; read lock-free only after a later release store, or under mu_.
      a->node_state_.store(kNodeQueued, std::memory_order_relaxed);
      waiters_.push_back(a);
      a->phase_ = Acquire::Phase::kWaiting;
      return true;
    }
  }
}

void BatchSemaphore::cancel(Acquire* a) {
  WakeList wakes;
  bool release_all = false;
  {
    SpinGuard lock(mu_);
    // ORDERING: relaxed; the node's state only changes under mu_, which we hold.
    std::uint8_t s = a->node_state_.load(std::memory_order_relaxed);
    if (s == kNodeQueued) {
      waiters_.remove(a);
      a->waker_.reset();
      std::size_t got = a->n_ - a->needed_;
      // Give back a partial assignment (to the next waiters), and clear kQueued if we were
      // the last one queued.
      if (got > 0 || waiters_.empty()) assign_locked(got, wakes);
    } else if (s == kNodeGranted) {
      release_all = true;  // the hand-off meant for us goes to the next waiter
    }
  }
  if (release_all) release(a->n_);
  wakes.wake_all();
}

// --- Acquire ---

BatchSemaphore::Acquire::Acquire(BatchSemaphore& sem, std::size_t n, const char* what,
                                 std::source_location where)
    : sem_(&sem), n_(n) {
  if (n > kMaxPermits) too_many_permits(what, n);
  await_point = {what, where};
}

BatchSemaphore::Acquire::~Acquire() {
  switch (phase_) {
    case Phase::kWaiting:
      sem_->cancel(this);
      break;
    case Phase::kAcquired:
      // Acquired but never handed to the caller: give the permits back.
      sem_->release(n_);
      break;
    default:
      break;
  }
}

bool BatchSemaphore::Acquire::await_ready() {
  // Out of cooperative budget: suspend (and yield) even if the permits are free.
  if (!keel::detail::coop_has_budget()) return false;
  switch (sem_->try_acquire(n_)) {
    case TryResult::kAcquired:
      keel::detail::coop_proceed();
      phase_ = Phase::kAcquired;
      return true;
    case TryResult::kClosed:
      phase_ = Phase::kClosed;
      return true;
    case TryResult::kNoPermits:
      break;
  }
  return false;
}

bool BatchSemaphore::Acquire::await_suspend(std::coroutine_handle<> h) {
  Waker w = keel::detail::current_waker(await_point.what);
  if (!keel::detail::coop_has_budget()) {
    // Yield first, without taking a place in the queue; poll_ready() acquires or queues on
    // the next poll, with this waker (the task's resume point stays the same).
    waker_ = w;  // not queued: ours, not guarded by the lock
    phase_ = Phase::kYielded;
    keel::detail::park_current(h, this);
    w.wake_by_ref();
    return true;
  }
  if (!sem_->acquire_or_enqueue(this, std::move(w))) return false;
  // A release may already have granted us and woken the task: it is running, so the wake
  // makes it poll again after this poll, and poll_ready() then sees the grant.
  keel::detail::park_current(h, this);
  return true;
}

bool BatchSemaphore::Acquire::poll_ready() {
  if (phase_ == Phase::kYielded) {
    // Back after a budget yield: acquire now, or queue (and stay parked).
    Waker w = std::move(waker_);
    return !sem_->acquire_or_enqueue(this, std::move(w));
  }
  if (phase_ != Phase::kWaiting) return true;
  // ORDERING: acquire pairs with the release store in assign_locked()/close().
  return node_state_.load(std::memory_order_acquire) != kNodeQueued;
}

bool BatchSemaphore::Acquire::finish() {
  if (phase_ == Phase::kWaiting) {
    // ORDERING: acquire pairs with the release store in assign_locked()/close().
    std::uint8_t s = node_state_.load(std::memory_order_acquire);
    phase_ = s == kNodeGranted ? Phase::kAcquired : Phase::kClosed;
    // The releaser (or close()) that set our node may still be inside mu_ finishing its hand-off.
    // Waiting it out means that once we return, nothing touches the semaphore on our behalf, so
    // a task may destroy the primitive right after a queued acquire (as it may after a
    // fast-path one). Only the queued path pays for this.
    SpinGuard wait_out_releaser(sem_->mu_);
  }
  bool ok = phase_ == Phase::kAcquired;
  phase_ = Phase::kDone;
  return ok;
}

}  // namespace keel::sync::detail
