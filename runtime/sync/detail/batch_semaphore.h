// BatchSemaphore: the FIFO, cancellation-safe counting semaphore under Mutex, RwLock and
// Semaphore (as in Tokio, one core serves all three).
//
// A waiter asks for n permits at once. Waiters are served strictly in FIFO order: a release
// gives its permits to the head of the queue, even partially, so a large request at the head
// is never overtaken by small ones behind it. Mutex is a semaphore of 1 permit, RwLock one of
// kMaxReaders permits (read takes 1, write takes all), which makes RwLock writer-preferring and
// FIFO with no starvation of either side.
//
//   BatchSemaphore sem(1);
//   class MyLock : public BatchSemaphore::Acquire { ... await_resume() { finish(); ... } };
//   co_await MyLock(sem, 1, "my lock", where);     // holds one permit
//   sem.release(1);
//
// State: one atomic word `permits << 2 | kQueued | kClosed` plus a FIFO of waiters under a
// small lock.
//   - Invariant: kQueued is set exactly when the waiter list is non-empty, and then the word
//     holds 0 permits: every free permit has been handed to the head waiter (partially).
//   - Fast paths (no lock): an acquire CASes permits down when kQueued and kClosed are clear
//     and enough permits are there; a release CASes permits up when kQueued is clear. Once
//     kQueued is set, both go through the lock.
//   - kQueued, and the permit count while kQueued is set, change only under the lock.
//   - A waiter node moves kQueued -> kGranted (it owns its permits) or kQueued -> kClosed,
//     always under the lock, and the releaser never touches the node after that store.
//   - Cooperative budget: an acquire that finds the task's budget spent yields once before
//     it tries (as every resource operation of the runtime does), so a task looping on an
//     uncontended lock cannot starve the others on its worker.
//   - Cancellation: a queued waiter destroyed mid-wait unlinks itself and gives back the
//     permits it was partially assigned; a granted waiter destroyed before it resumed releases
//     its permits, which go to the next waiter. Nothing is lost.
//
// Thread-safety: every member may be called from any thread. An Acquire awaiter belongs to
// one task. The semaphore must outlive its awaiters and every permit. A completed acquire
// (queued or not) leaves no release in progress on its behalf: a task may destroy the semaphore
// right after it got its permits, once no other permit or waiter is left.
#ifndef KEEL_RUNTIME_SYNC_DETAIL_BATCH_SEMAPHORE_H_
#define KEEL_RUNTIME_SYNC_DETAIL_BATCH_SEMAPHORE_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <source_location>

#include "runtime/detail/concurrency.h"
#include "runtime/sync/detail/wait_list.h"
#include "runtime/task/context.h"
#include "runtime/task/waker.h"

namespace keel::sync::detail {

class BatchSemaphore {
 public:
  // The largest permit count: two low bits of the state word are flags, and one more bit of
  // headroom keeps `permits + released` from overflowing before the check.
  static constexpr std::size_t kMaxPermits = std::numeric_limits<std::size_t>::max() >> 3;

  enum class TryResult { kAcquired, kNoPermits, kClosed };

  explicit BatchSemaphore(std::size_t permits);
  BatchSemaphore(const BatchSemaphore&) = delete;
  BatchSemaphore& operator=(const BatchSemaphore&) = delete;
  ~BatchSemaphore() = default;

  // Takes n permits if they are free and nobody is queued (FIFO: no overtaking).
  TryResult try_acquire(std::size_t n);
  // Gives n permits back: to the queued waiters first, in order, then to the free count.
  void release(std::size_t n);
  // release() for new permits: aborts if the total would exceed kMaxPermits.
  void add_permits(std::size_t n);
  // Removes up to n free permits; returns how many were removed.
  std::size_t forget_permits(std::size_t n);
  // Fails every queued and future acquire; held permits may still be released.
  void close();
  bool is_closed() const;
  std::size_t available_permits() const;

  // The awaiter base: acquires n permits. Derived awaiters add await_resume(), which calls
  // finish() to learn whether the permits are now theirs (true) or the semaphore closed.
  class Acquire : public keel::detail::Leaf {
   public:
    Acquire(BatchSemaphore& sem, std::size_t n, const char* what, std::source_location where);
    Acquire(const Acquire&) = delete;
    Acquire& operator=(const Acquire&) = delete;
    ~Acquire();

    bool await_ready();
    bool await_suspend(std::coroutine_handle<> h);
    bool poll_ready() override;

   protected:
    // After resumption: true when the caller now owns the n permits, false when closed.
    bool finish();
    std::size_t permits() const { return n_; }

   private:
    friend class BatchSemaphore;
    // kIdle -> kAcquired | kClosed (at once) | kWaiting (queued) | kYielded (out of coop
    // budget: parked without queueing; the next poll_ready() acquires or queues).
    enum class Phase : std::uint8_t { kIdle, kYielded, kWaiting, kAcquired, kClosed, kDone };

    BatchSemaphore* sem_;
    std::size_t n_;
    Phase phase_ = Phase::kIdle;  // owned by the awaiting task
    // The queue node; prev/next/needed/waker are guarded by sem_->mu_.
    Acquire* prev = nullptr;
    Acquire* next = nullptr;
    std::size_t needed_ = 0;  // permits still missing while queued
    Waker waker_;
    // kQueued -> kGranted | kClosed, stored under the lock (release), read lock-free (acquire).
    keel::detail::Atomic<std::uint8_t> node_state_{0};
    friend class WaitList<Acquire>;
  };

 private:
  static constexpr std::size_t kClosed = 1;
  static constexpr std::size_t kQueued = 2;
  static constexpr int kShift = 2;

  static constexpr std::uint8_t kNodeQueued = 1;
  static constexpr std::uint8_t kNodeGranted = 2;
  static constexpr std::uint8_t kNodeClosed = 3;

  void release_slow(std::size_t n);
  // Hands `n` permits to the queue in order; the rest go back to the word. Under mu_, with
  // kQueued set.
  void assign_locked(std::size_t n, WakeList& wakes);
  // Slow path of Acquire::await_suspend: acquires at once or queues `a`. Returns whether `a`
  // was queued.
  bool acquire_or_enqueue(Acquire* a, Waker waker);
  // A queued or granted waiter is being destroyed before it resumed.
  void cancel(Acquire* a);

  // Hot: acquires and releases CAS this word.
  alignas(keel::detail::kCacheLine) keel::detail::Atomic<std::size_t> state_;
  keel::detail::SpinMutex mu_;
  WaitList<Acquire> waiters_;  // guarded by mu_
};

}  // namespace keel::sync::detail

#endif  // KEEL_RUNTIME_SYNC_DETAIL_BATCH_SEMAPHORE_H_
