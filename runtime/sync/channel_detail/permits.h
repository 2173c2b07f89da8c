// The capacity semaphore of bounded mpsc channels, and the close notifier of mpsc senders.
//
// Semaphore: counts free slots. One atomic word holds `permits << 2 | kWaitersBit |
// kClosedBit`. Invariants: kWaitersBit is set exactly when the FIFO waiter queue is non-empty
// (both change only under `mu_`), and then the count is 0: a released permit goes to the
// queue's front waiter first, so a newcomer never overtakes a queued sender (FIFO). The fast
// paths (try_acquire with permits, release without waiters) are one CAS and take no lock.
// A waiter is granted its permit under `mu_` (its `outcome` becomes kGranted) and woken after
// the lock is released. A waiter that goes away (cancellation) calls cancel(): a queued one is
// unlinked, a granted one whose owner never took the grant passes it to the next waiter.
// close() fails every queued waiter (kClosed) and all later acquisitions; permits already held
// stay valid and are released as usual.
//
// PermitAcquirer: the waiting side of one acquisition (owned by a send/reserve awaiter); its
// destructor implements the cancellation rule above.
//
// CloseNotifier: a one-shot "closed" flag with a list of waiters woken when it is set.
//
// Thread-safety: all methods may be called from any thread; a PermitAcquirer and a
// CloseWaiter belong to one awaiter.
#ifndef KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_PERMITS_H_
#define KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_PERMITS_H_

#include <cstddef>
#include <cstdint>

#include "runtime/detail/concurrency.h"
#include "runtime/sync/channel_detail/common.h"
#include "runtime/task/waker.h"

namespace keel::sync::channel_detail {

struct PermitWaiter {
  static constexpr std::uint32_t kPending = 0;
  static constexpr std::uint32_t kGranted = 1;
  static constexpr std::uint32_t kClosed = 2;

  PermitWaiter* prev = nullptr;
  PermitWaiter* next = nullptr;
  Waker waker;          // under the semaphore's mutex
  bool queued = false;  // under the semaphore's mutex
  // Written under the mutex when the waiter leaves the queue; read by the owner without it.
  keel::detail::Atomic<std::uint32_t> outcome{kPending};
};

class Semaphore {
 public:
  enum class Acquire : std::uint8_t { kAcquired, kNoPermits, kClosed, kQueued };

  // `closed_waker` is woken (if armed) when a permit comes back after close(): the receiver
  // waits for every permit to return before it reports the channel drained.
  Semaphore(std::size_t permits, AtomicWaker* closed_waker);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Takes a permit without waiting: kAcquired, kNoPermits or kClosed.
  Acquire try_acquire() {
    // ORDERING: relaxed: the CAS below re-reads the word.
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s & kClosedBit) return Acquire::kClosed;
      if (s < kOne) return Acquire::kNoPermits;
      // ORDERING: acquire: the slot this permit stands for was fully read (released by the
      // receiver's release()) before we write it.
      if (state_.compare_exchange_weak(s, s - kOne, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return Acquire::kAcquired;
      }
    }
  }
  // Takes a permit, or queues `w` (FIFO) to be granted one: kAcquired, kClosed or kQueued.
  Acquire acquire_or_enqueue(PermitWaiter* w, const Waker& waker);
  // Returns one permit: to the front waiter if any, else to the count.
  void release() {
    // ORDERING: relaxed: the CAS re-reads.
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while ((s & kWaitersBit) == 0) {
      // ORDERING: seq_cst: release publishes our read of the slot to the next acquirer; the
      // seq_cst order against the receiver's arm-then-recheck makes the wake below reliable.
      if (state_.compare_exchange_weak(s, s + kOne, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
        if (s & kClosedBit) closed_waker_->wake_if_armed();
        return;
      }
    }
    release_slow();
  }
  // Withdraws a waiter that is going away (see the file comment).
  void cancel(PermitWaiter* w);
  // Fails the queued waiters and every later acquisition.
  void close();

  bool is_closed() const {
    // ORDERING: acquire pairs with close().
    return (state_.load(std::memory_order_acquire) & kClosedBit) != 0;
  }
  std::size_t available() const {
    // ORDERING: relaxed: a snapshot for statistics.
    return static_cast<std::size_t>(state_.load(std::memory_order_relaxed) >> kShift);
  }
  // Senders queued for a permit (takes the lock; for statistics and tests).
  std::size_t waiting() {
    keel::detail::LockGuard lock(mu_);
    return waiting_;
  }
  // Closed and all `capacity` permits back: nothing can be sent any more.
  bool closed_and_idle(std::size_t capacity) const {
    // ORDERING: seq_cst: the receiver's re-check after arming (see AtomicWaker); acquire
    // also sees every slot read/write that came with the returned permits.
    std::uint64_t s = state_.load(std::memory_order_seq_cst);
    return (s & kClosedBit) && (s >> kShift) == capacity;
  }

 private:
  static constexpr std::uint64_t kClosedBit = 1;
  static constexpr std::uint64_t kWaitersBit = 2;
  static constexpr std::uint64_t kShift = 2;
  static constexpr std::uint64_t kOne = std::uint64_t{1} << kShift;

  void release_slow();
  // Under mu_: hands one permit to the front waiter (its waker goes to `to_wake`) or to the
  // count.
  void release_locked(Waker& to_wake);

  keel::detail::Atomic<std::uint64_t> state_;
  AtomicWaker* closed_waker_;
  keel::detail::Mutex mu_;
  WaiterList<PermitWaiter> waiters_;  // under mu_
  std::size_t waiting_ = 0;           // under mu_: the length of waiters_
};

// One acquisition by one awaiter.
class PermitAcquirer {
 public:
  enum class State : std::uint8_t { kIdle, kQueued, kAcquired, kClosed, kConsumed };

  explicit PermitAcquirer(Semaphore* sem) : sem_(sem) {}
  PermitAcquirer(const PermitAcquirer&) = delete;
  PermitAcquirer& operator=(const PermitAcquirer&) = delete;
  ~PermitAcquirer() {
    if (state_ == State::kQueued) {
      sem_->cancel(&waiter_);
    } else if (state_ == State::kAcquired) {
      sem_->release();  // taken but never used: back to the next sender
    }
  }

  // The lock-free attempt; true when finished (acquired or closed).
  bool try_fast() {
    switch (sem_->try_acquire()) {
      case Semaphore::Acquire::kAcquired:
        state_ = State::kAcquired;
        return true;
      case Semaphore::Acquire::kClosed:
        state_ = State::kClosed;
        return true;
      default:
        return false;
    }
  }
  // Acquires or queues (first call), or checks the outcome (later calls). True when finished.
  bool acquire(const Waker& waker) {
    if (state_ == State::kIdle) {
      switch (sem_->acquire_or_enqueue(&waiter_, waker)) {
        case Semaphore::Acquire::kAcquired:
          state_ = State::kAcquired;
          return true;
        case Semaphore::Acquire::kClosed:
          state_ = State::kClosed;
          return true;
        default:
          state_ = State::kQueued;
          return false;
      }
    }
    if (state_ == State::kQueued) {
      // ORDERING: acquire pairs with the release store of the granting thread (and, through
      // the semaphore, with the receiver's read of the slot this permit stands for).
      std::uint32_t o = waiter_.outcome.load(std::memory_order_acquire);
      if (o == PermitWaiter::kPending) return false;
      state_ = o == PermitWaiter::kGranted ? State::kAcquired : State::kClosed;
    }
    return true;
  }
  bool closed() const { return state_ == State::kClosed; }
  bool acquired() const { return state_ == State::kAcquired; }
  // The caller now owns the permit (it will use it or release it itself).
  void consume() { state_ = State::kConsumed; }

 private:
  Semaphore* sem_;
  PermitWaiter waiter_;
  State state_ = State::kIdle;
};

struct CloseWaiter {
  CloseWaiter* prev = nullptr;
  CloseWaiter* next = nullptr;
  Waker waker;
  bool queued = false;
};

class CloseNotifier {
 public:
  bool is_closed() const {
    // ORDERING: acquire pairs with close().
    return closed_.load(std::memory_order_acquire);
  }
  // Sets the flag and wakes every waiter. Idempotent.
  void close();
  // Queues `w`; false when already closed.
  bool add(CloseWaiter* w, const Waker& waker);
  void remove(CloseWaiter* w);

 private:
  keel::detail::Atomic<bool> closed_{false};
  keel::detail::Mutex mu_;
  WaiterList<CloseWaiter> waiters_;
};

}  // namespace keel::sync::channel_detail

#endif  // KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_PERMITS_H_
