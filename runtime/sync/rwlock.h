// sync::RwLock<T>: an asynchronous reader-writer lock, FIFO and writer-preferring.
//
//   keel::sync::RwLock<Config> config(initial);
//   {
//     auto r = co_await config.read();      // RwLockReadGuard<Config>: const access, shared
//     use(r->port);
//   }
//   {
//     auto w = co_await config.write();     // RwLockWriteGuard<Config>: exclusive
//     w->port = 8080;
//     auto r = std::move(w).downgrade();    // keep reading without letting a writer in between
//   }
//   if (auto r = config.try_read()) ...     // std::optional<RwLockReadGuard<Config>>
//
// Fairness: requests are served in FIFO order. A queued writer stops later readers from
// jumping ahead of it (no writer starvation); readers queued behind a writer all get in
// together once it unlocks (no reader starvation).
//
// State machine: a BatchSemaphore of kMaxReaders permits (detail/batch_semaphore.h). A read
// takes 1 permit, a write all of them. Uncontended read/write and their unlocks are one CAS
// each. Cancellation: a read()/write() destroyed mid-wait unlinks itself and returns any
// permits handed to it, so the next waiters get them. Guards and waiters must not outlive the
// lock.
//
// Thread-safety: any thread and task. Guards are movable and can be passed between tasks.
#ifndef KEEL_RUNTIME_SYNC_RWLOCK_H_
#define KEEL_RUNTIME_SYNC_RWLOCK_H_

#include <cstddef>
#include <optional>
#include <source_location>
#include <utility>

#include "runtime/sync/detail/batch_semaphore.h"

namespace keel::sync {

template <class T>
class RwLock;

// Shared access; releases its read permit on destruction.
template <class T>
class [[nodiscard]] RwLockReadGuard {
 public:
  RwLockReadGuard(RwLockReadGuard&& o) noexcept : lock_(std::exchange(o.lock_, nullptr)) {}
  RwLockReadGuard& operator=(RwLockReadGuard&& o) noexcept {
    if (this != &o) {
      unlock();
      lock_ = std::exchange(o.lock_, nullptr);
    }
    return *this;
  }
  RwLockReadGuard(const RwLockReadGuard&) = delete;
  RwLockReadGuard& operator=(const RwLockReadGuard&) = delete;
  ~RwLockReadGuard() { unlock(); }

  const T& operator*() const { return lock_->value_; }
  const T* operator->() const { return &lock_->value_; }
  void unlock() {
    if (lock_ != nullptr) std::exchange(lock_, nullptr)->sem_.release(1);
  }
  bool owns_lock() const { return lock_ != nullptr; }

 private:
  friend class RwLock<T>;
  template <class U>
  friend class RwLockWriteGuard;
  explicit RwLockReadGuard(RwLock<T>* l) : lock_(l) {}
  RwLock<T>* lock_;
};

// Exclusive access; releases the lock on destruction.
template <class T>
class [[nodiscard]] RwLockWriteGuard {
 public:
  RwLockWriteGuard(RwLockWriteGuard&& o) noexcept : lock_(std::exchange(o.lock_, nullptr)) {}
  RwLockWriteGuard& operator=(RwLockWriteGuard&& o) noexcept {
    if (this != &o) {
      unlock();
      lock_ = std::exchange(o.lock_, nullptr);
    }
    return *this;
  }
  RwLockWriteGuard(const RwLockWriteGuard&) = delete;
  RwLockWriteGuard& operator=(const RwLockWriteGuard&) = delete;
  ~RwLockWriteGuard() { unlock(); }

  T& operator*() const { return lock_->value_; }
  T* operator->() const { return &lock_->value_; }
  void unlock() {
    if (lock_ != nullptr) std::exchange(lock_, nullptr)->sem_.release(RwLock<T>::kMaxReaders);
  }
  bool owns_lock() const { return lock_ != nullptr; }

  // Turns exclusive access into shared access atomically: no writer gets in between, and the
  // readers queued first are let in at once.
  RwLockReadGuard<T> downgrade() && {
    RwLock<T>* l = std::exchange(lock_, nullptr);
    l->sem_.release(RwLock<T>::kMaxReaders - 1);
    return RwLockReadGuard<T>(l);
  }

 private:
  friend class RwLock<T>;
  explicit RwLockWriteGuard(RwLock<T>* l) : lock_(l) {}
  RwLock<T>* lock_;
};

template <class T>
class RwLock {
 public:
  // The most concurrent readers (as Tokio: far beyond any realistic count of tasks).
  static constexpr std::size_t kMaxReaders = std::size_t{1} << 29;

  template <class... Args>
  explicit RwLock(Args&&... args) : sem_(kMaxReaders), value_(std::forward<Args>(args)...) {}
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;

  class [[nodiscard]] Read final : public detail::BatchSemaphore::Acquire {
   public:
    Read(RwLock& l, std::source_location where)
        : Acquire(l.sem_, 1, "RwLock::read", where), lock_(&l) {}
    RwLockReadGuard<T> await_resume() {
      finish();  // never closed
      return RwLockReadGuard<T>(lock_);
    }

   private:
    RwLock* lock_;
  };

  class [[nodiscard]] Write final : public detail::BatchSemaphore::Acquire {
   public:
    Write(RwLock& l, std::source_location where)
        : Acquire(l.sem_, kMaxReaders, "RwLock::write", where), lock_(&l) {}
    RwLockWriteGuard<T> await_resume() {
      finish();  // never closed
      return RwLockWriteGuard<T>(lock_);
    }

   private:
    RwLock* lock_;
  };

  Read read(std::source_location where = std::source_location::current()) {
    return Read(*this, where);
  }
  Write write(std::source_location where = std::source_location::current()) {
    return Write(*this, where);
  }
  // Shared access if no writer holds or waits for the lock.
  std::optional<RwLockReadGuard<T>> try_read() {
    if (sem_.try_acquire(1) != detail::BatchSemaphore::TryResult::kAcquired) return std::nullopt;
    return RwLockReadGuard<T>(this);
  }
  // Exclusive access if nobody holds or waits for the lock.
  std::optional<RwLockWriteGuard<T>> try_write() {
    if (sem_.try_acquire(kMaxReaders) != detail::BatchSemaphore::TryResult::kAcquired) {
      return std::nullopt;
    }
    return RwLockWriteGuard<T>(this);
  }
  // Direct access when nothing else can use the lock.
  T& get_mut() { return value_; }

 private:
  friend class RwLockReadGuard<T>;
  friend class RwLockWriteGuard<T>;
  detail::BatchSemaphore sem_;
  T value_;
};

}  // namespace keel::sync

#endif  // KEEL_RUNTIME_SYNC_RWLOCK_H_
