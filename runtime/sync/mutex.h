// sync::Mutex<T>: a FIFO-fair asynchronous mutex that owns the value it protects.
//
//   keel::sync::Mutex<std::uint64_t> counter(0);
//   {
//     keel::sync::MutexGuard<std::uint64_t> g = co_await counter.lock();
//     ++*g;                                  // the guard unlocks when it goes out of scope
//   }
//   if (auto g = counter.try_lock()) ++**g;  // std::optional<MutexGuard<T>>
//
// Waiting tasks queue in FIFO order and an unlock hands the lock directly to the first of
// them (no barging: try_lock() fails while anyone is queued). The guard is movable, so it can
// be passed to another task (moved into a spawned Task) and unlocks wherever it is destroyed.
//
// State machine: the mutex is a BatchSemaphore of 1 permit (see detail/batch_semaphore.h).
// Uncontended lock and unlock are one CAS each on one atomic word; only a contended unlock
// takes the internal lock to hand over. Cancellation: a lock() destroyed mid-wait unlinks
// itself; one destroyed after the lock was handed to it, before it resumed, passes the lock
// to the next waiter (or unlocks). Guards and waiters must not outlive the Mutex.
//
// Thread-safety: lock/try_lock/unlock from any thread and task. The protected value is only
// reachable through a guard (or get_mut() when nothing else can touch the mutex).
#ifndef KEEL_RUNTIME_SYNC_MUTEX_H_
#define KEEL_RUNTIME_SYNC_MUTEX_H_

#include <optional>
#include <source_location>
#include <utility>

#include "runtime/sync/detail/batch_semaphore.h"

namespace keel::sync {

template <class T>
class Mutex;

// Holds the lock of a Mutex<T>; unlocks on destruction. Movable, not copyable.
template <class T>
class [[nodiscard]] MutexGuard {
 public:
  MutexGuard(MutexGuard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
  MutexGuard& operator=(MutexGuard&& other) noexcept {
    if (this != &other) {
      unlock();
      mutex_ = std::exchange(other.mutex_, nullptr);
    }
    return *this;
  }
  MutexGuard(const MutexGuard&) = delete;
  MutexGuard& operator=(const MutexGuard&) = delete;
  ~MutexGuard() { unlock(); }

  T& operator*() const { return mutex_->value_; }
  T* operator->() const { return &mutex_->value_; }
  // Unlocks early; the guard is empty afterwards.
  void unlock() {
    if (mutex_ != nullptr) std::exchange(mutex_, nullptr)->sem_.release(1);
  }
  // False once unlocked or moved from.
  bool owns_lock() const { return mutex_ != nullptr; }

 private:
  friend class Mutex<T>;
  explicit MutexGuard(Mutex<T>* m) : mutex_(m) {}
  Mutex<T>* mutex_;
};

template <class T>
class Mutex {
 public:
  template <class... Args>
  explicit Mutex(Args&&... args) : sem_(1), value_(std::forward<Args>(args)...) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // The awaiter of lock(): gives a MutexGuard<T>.
  class [[nodiscard]] Lock final : public detail::BatchSemaphore::Acquire {
   public:
    Lock(Mutex& m, std::source_location where)
        : Acquire(m.sem_, 1, "Mutex::lock", where), mutex_(&m) {}
    MutexGuard<T> await_resume() {
      finish();  // a mutex is never closed
      return MutexGuard<T>(mutex_);
    }

   private:
    Mutex* mutex_;
  };

  // Waits for the lock (FIFO).
  Lock lock(std::source_location where = std::source_location::current()) {
    return Lock(*this, where);
  }
  // Takes the lock if it is free and nobody is queued.
  std::optional<MutexGuard<T>> try_lock() {
    if (sem_.try_acquire(1) != detail::BatchSemaphore::TryResult::kAcquired) return std::nullopt;
    return MutexGuard<T>(this);
  }
  // Direct access when the caller knows nobody else can use the mutex (no lock taken).
  T& get_mut() { return value_; }
  // Whether the lock is held right now (a snapshot, for tests and diagnostics).
  bool is_locked() const { return sem_.available_permits() == 0; }

 private:
  friend class MutexGuard<T>;
  detail::BatchSemaphore sem_;
  T value_;
};

}  // namespace keel::sync

#endif  // KEEL_RUNTIME_SYNC_MUTEX_H_
