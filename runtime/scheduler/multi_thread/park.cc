#include "runtime/scheduler/multi_thread/park.h"

namespace keel::detail {

std::size_t Parker::park(std::optional<Duration> timeout, bool idle) {
  // A pending notification returns at once.
  std::uint32_t expected = kNotified;
  // ORDERING: acq_rel; acquire sees what the unparker queued before notifying.
  if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    return 0;
  }
  if (driver_->try_lock()) {
    expected = kEmpty;
    std::size_t woken = 0;
    // ORDERING: acq_rel; publishes "in the driver" so unpark() writes the eventfd.
    if (state_.compare_exchange_strong(expected, kParkedDriver, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      woken = driver_->park(timeout, idle);
    }
    // Whatever happened (woken by the driver, the eventfd or a timeout), clear the state; an
    // unpark racing with this leaves kNotified, which we consume here.
    // ORDERING: acq_rel, as above.
    state_.exchange(kEmpty, std::memory_order_acq_rel);
    driver_->unlock();
    return woken;
  }
  UniqueLock lock(mu_);
  expected = kEmpty;
  // ORDERING: acq_rel; under mu_, so unpark()'s lock-then-notify cannot slip between this
  // transition and the wait.
  if (!state_.compare_exchange_strong(expected, kParkedCondvar, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
    state_.store(kEmpty, std::memory_order_release);  // it was kNotified: consume
    return 0;
  }
  if (timeout) {
    cv_.wait_for(lock, *timeout, [this] {
      return state_.load(std::memory_order_acquire) == kNotified;
    });
  } else {
    cv_.wait(lock, [this] { return state_.load(std::memory_order_acquire) == kNotified; });
  }
  // ORDERING: release; consumes the notification (or the timeout's parked state).
  state_.store(kEmpty, std::memory_order_release);
  return 0;
}

void Parker::unpark() {
  // ORDERING: acq_rel; release publishes the queued work to the woken worker.
  std::uint32_t prev = state_.exchange(kNotified, std::memory_order_acq_rel);
  switch (prev) {
    case kParkedCondvar: {
      // Taking the lock orders us after the sleeper's wait began (it holds mu_ until then).
      { LockGuard lock(mu_); }
      cv_.notify_one();
      break;
    }
    case kParkedDriver:
      driver_->unpark();
      break;
    default:
      break;
  }
}

}  // namespace keel::detail
