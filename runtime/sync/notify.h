// sync::Notify: wakes tasks waiting for an event, without carrying data.
//
//   keel::sync::Notify ready;
//   // waiter                              // notifier
//   co_await ready.notified();             ready.notify_one();
//
//   // Check-then-wait without a lost wake-up: create the awaiter first, then check.
//   auto n = ready.notified();             // registers interest in notify_waiters() now
//   if (!condition()) co_await n;
//
// Semantics (as Tokio's):
//   - notify_one() wakes the first waiter (FIFO). With nobody waiting it stores ONE permit
//     (several calls still store one), which the next notified() consumes at once.
//   - notify_waiters() wakes every waiter registered at that moment, including Notified
//     awaiters created but not yet awaited, and stores no permit.
//
// State machine: one atomic word `notify_waiters calls << 2 | {kEmpty, kWaiting, kNotified}`
// plus a FIFO of waiters under a small lock.
//   - kWaiting exactly when the waiter list is non-empty; it is entered and left only under
//     the lock. kEmpty <-> kNotified flip lock-free (store and consume a permit by CAS).
//   - A waiter node moves kQueued -> kNotifiedOne | kNotifiedAll under the lock; the notifier
//     never touches it afterwards.
//   - Cancellation: a Notified destroyed mid-wait unlinks itself. One destroyed after a
//     notify_one() picked it but before it resumed forwards that notification to the next
//     waiter, or stores it as the permit when nobody waits: it is never lost.
//
// Thread-safety: notify_one/notify_waiters from any thread; an awaiter belongs to one task.
// The Notify must outlive its awaiters.
#ifndef KEEL_RUNTIME_SYNC_NOTIFY_H_
#define KEEL_RUNTIME_SYNC_NOTIFY_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <source_location>

#include "runtime/detail/concurrency.h"
#include "runtime/sync/detail/wait_list.h"
#include "runtime/task/context.h"
#include "runtime/task/waker.h"

namespace keel::sync {

class Notify {
 public:
  Notify() = default;
  Notify(const Notify&) = delete;
  Notify& operator=(const Notify&) = delete;

  // The awaiter of notified(); await it by value (`co_await n.notified()` or
  // `co_await n` for one created earlier).
  class [[nodiscard]] Notified final : public keel::detail::Leaf {
   public:
    Notified(Notify& n, std::source_location where);
    Notified(const Notified&) = delete;
    Notified& operator=(const Notified&) = delete;
    ~Notified();

    bool await_ready();
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() { phase_ = Phase::kDone; }
    bool poll_ready() override;

   private:
    friend class Notify;
    friend class detail::WaitList<Notified>;
    enum class Phase : std::uint8_t { kIdle, kWaiting, kDone };

    Notify* notify_;
    std::size_t calls_;  // notify_waiters() calls seen at creation
    Phase phase_ = Phase::kIdle;
    // Queue node: guarded by notify_->mu_.
    Notified* prev = nullptr;
    Notified* next = nullptr;
    Waker waker_;
    keel::detail::Atomic<std::uint8_t> node_state_{0};
  };

  Notified notified(std::source_location where = std::source_location::current()) {
    return Notified(*this, where);
  }
  void notify_one();
  void notify_waiters();

 private:
  static constexpr std::size_t kEmpty = 0;
  static constexpr std::size_t kWaiting = 1;
  static constexpr std::size_t kNotified = 2;
  static constexpr std::size_t kStateMask = 3;
  static constexpr int kCallsShift = 2;
  static constexpr std::uint8_t kNodeQueued = 1;
  static constexpr std::uint8_t kNodeNotifiedOne = 2;
  static constexpr std::uint8_t kNodeNotifiedAll = 3;

  // Under mu_, state kWaiting: dequeues the first waiter and gives its waker (wake it after
  // releasing mu_).
  Waker notify_one_locked(std::size_t cur);
  // Under mu_, state not kWaiting: moves kEmpty to kNotified (kNotified stays: one permit).
  void store_permit(std::size_t cur);
  // Slow path of Notified::await_suspend; false when it completed without queueing.
  bool consume_or_enqueue(Notified* w, Waker waker);
  void cancel(Notified* w);

  alignas(keel::detail::kCacheLine) keel::detail::Atomic<std::size_t> state_{kEmpty};
  keel::detail::SpinMutex mu_;
  detail::WaitList<Notified> waiters_;  // guarded by mu_
};

}  // namespace keel::sync

#endif  // KEEL_RUNTIME_SYNC_NOTIFY_H_
