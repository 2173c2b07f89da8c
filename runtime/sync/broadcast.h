// keel::sync::broadcast: multi-producer, multi-consumer channel where every receiver sees every
// value (a copy), kept in a bounded ring.
//
//   auto [tx, rx1] = keel::sync::broadcast::channel<Msg>(16);
//   broadcast::Receiver<Msg> rx2 = tx.subscribe();    // sees values sent from now on
//   broadcast::SendResult<Msg> s = tx.send(msg);       // s.receivers(): how many will see it
//   for (;;) {
//     broadcast::RecvResult<Msg> r = co_await rx1.recv();
//     if (r.ok()) use(r.value());
//     else if (r.is_lagged()) log(r.lagged(), "messages skipped");   // keeps going
//     else break;                                                     // kClosed
//   }
//
// Sender (copyable): `send(v)` never waits: ok with receivers() = the number of receivers, or
// is_closed() with the value given back when there is no receiver (the value is not stored).
// `subscribe()`, `receiver_count()`.
// Receiver (movable; `resubscribe()` makes another one at the tail): `co_await recv()` →
// RecvResult: ok (a copy of the value), is_lagged() with lagged() = n when the receiver fell
// more than `capacity` values behind (n values were skipped; the next recv gives the oldest
// value still kept), or is_closed() once every Sender is gone and the receiver has seen every
// value. `try_recv()` never waits and may also give is_empty().
//
// Design: a ring of exactly `capacity` slots; slot i holds the value of position p (p % capacity
// == i) with `p + 1` as its tag, under a per-slot RwSpinLock (readers copy in parallel; the
// sender holds it only to move one value in). The tail position, the receiver count, the
// closed flag and the list of parked receivers sit under one mutex that senders take; a
// receiver takes it only to park, to find its place after lagging, or to learn that the
// channel closed. A receiver's cursor is its own (no shared counter per value). Values stay in
// their slot until overwritten (or the channel is freed), so up to `capacity` old values stay
// alive.
//
// Cancellation: a recv() destroyed mid-wait unlinks itself; it consumed nothing (the receiver's
// cursor only moves in await_resume).
//
// Thread-safety: Senders on any threads; each Receiver used by one task at a time.
// T must be copyable.
#ifndef KEEL_RUNTIME_SYNC_BROADCAST_H_
#define KEEL_RUNTIME_SYNC_BROADCAST_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <utility>

#include "runtime/detail/concurrency.h"
#include "runtime/sync/channel_detail/common.h"
#include "runtime/task/context.h"
#include "runtime/task/coop_leaf.h"

namespace keel::sync::broadcast {

template <class T>
using SendResult = ChannelResult<T>;
template <class T>
using RecvResult = ChannelResult<T>;
using RecvError = ChannelError;

namespace detail {

template <class T>
struct Slot {
  channel_detail::RwSpinLock lock;
  std::uint64_t tag = 0;  // position + 1 of the value held; 0: never written
  std::optional<T> value;
};

struct RecvWaiter {
  RecvWaiter* prev = nullptr;
  RecvWaiter* next = nullptr;
  Waker waker;          // under the tail mutex
  bool queued = false;  // under the tail mutex
  // Set (under the tail mutex) when a send or the close unparks it.
  keel::detail::Atomic<bool> notified{false};
};

template <class T>
class Shared {
 public:
  explicit Shared(std::size_t capacity)
      : capacity_(capacity), slots_(new Slot<T>[capacity]) {}

  void add_ref() {
    // ORDERING: relaxed: the caller already holds a reference.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_ref() {
    // ORDERING: acq_rel: the last owner sees every other owner's writes before deleting.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void add_sender() {
    add_ref();
    // ORDERING: relaxed: the caller is a sender, the count cannot reach 0 meanwhile.
    senders_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_sender() {
    // ORDERING: acq_rel: the last sender sees the others' sends finished (they happen under
    // the mutex anyway).
    if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      channel_detail::WakeList wake;
      keel::detail::UniqueLock lock(mu_);
      closed_ = true;
      unpark_all(wake, lock);
      lock.unlock();
      wake.wake_all();
    }
    drop_ref();
  }

  SendResult<T> send(T&& value) {
    channel_detail::WakeList wake;
    keel::detail::UniqueLock lock(mu_);
    if (rx_count_ == 0) {
      return SendResult<T>::failure(ChannelError::kClosed, std::move(value), "broadcast send");
    }
    Slot<T>& slot = slots_[tail_idx_];
    slot.lock.lock();
    slot.value = std::move(value);
    slot.tag = tail_pos_ + 1;
    slot.lock.unlock();
    ++tail_pos_;
    if (++tail_idx_ == capacity_) tail_idx_ = 0;
    std::size_t receivers = rx_count_;
    unpark_all(wake, lock);
    lock.unlock();
    wake.wake_all();
    return SendResult<T>::success_empty("broadcast send", receivers);
  }

  // A receiver's cursor.
  struct Cursor {
    std::uint64_t next;
    std::size_t idx;
  };

  Cursor subscribe() {
    keel::detail::LockGuard lock(mu_);
    ++rx_count_;
    return Cursor{tail_pos_, tail_idx_};
  }
  void unsubscribe() {
    keel::detail::LockGuard lock(mu_);
    --rx_count_;
  }
  std::size_t receiver_count() {
    keel::detail::LockGuard lock(mu_);
    return rx_count_;
  }

  // Receives at `c`: a value, kLagged, kEmpty or kClosed (only when empty).
  RecvResult<T> try_recv(Cursor& c) {
    for (;;) {
      Slot<T>& slot = slots_[c.idx];
      slot.lock.lock_shared();
      std::uint64_t tag = slot.tag;
      if (tag == c.next + 1) {
        RecvResult<T> r = RecvResult<T>::success(*slot.value, "broadcast recv");
        slot.lock.unlock_shared();
        ++c.next;
        if (++c.idx == capacity_) c.idx = 0;
        return r;
      }
      slot.lock.unlock_shared();
      keel::detail::LockGuard lock(mu_);
      if (tag > c.next + 1) {
        // Overwritten: skip to the oldest value still kept.
        std::uint64_t oldest = tail_pos_ > capacity_ ? tail_pos_ - capacity_ : 0;
        std::uint64_t missed = oldest - c.next;
        c.next = oldest;
        c.idx = static_cast<std::size_t>(oldest % capacity_);
        return RecvResult<T>::failure(ChannelError::kLagged, "broadcast recv", missed);
      }
      if (tail_pos_ > c.next) continue;  // written since we looked
      if (closed_) return RecvResult<T>::failure(ChannelError::kClosed, "broadcast recv");
      return RecvResult<T>::failure(ChannelError::kEmpty, "broadcast recv");
    }
  }

  // Without consuming: whether recv at `c` would not be kEmpty.
  bool ready(const Cursor& c) {
    Slot<T>& slot = slots_[c.idx];
    slot.lock.lock_shared();
    std::uint64_t tag = slot.tag;
    slot.lock.unlock_shared();
    if (tag != 0 && tag >= c.next + 1) return true;
    keel::detail::LockGuard lock(mu_);
    return tail_pos_ > c.next || closed_;
  }

  // Parks `w` unless recv at `c` is ready; false when ready.
  bool park(RecvWaiter* w, const Cursor& c, const Waker& waker) {
    keel::detail::LockGuard lock(mu_);
    if (tail_pos_ > c.next || closed_) return false;
    // ORDERING: relaxed: the waiter is not shared until linked under the mutex.
    w->notified.store(false, std::memory_order_relaxed);
    w->waker = waker;
    w->queued = true;
    waiters_.push_back(w);
    return true;
  }
  void unpark(RecvWaiter* w) {
    keel::detail::LockGuard lock(mu_);
    if (!w->queued) return;
    waiters_.remove(w);
    w->queued = false;
    w->waker.reset();
  }

  std::size_t capacity() const { return capacity_; }

 private:
  // Under mu_ (held by `lock`): unlinks every parked receiver; wakers go to `wake`, woken in
  // batches with the lock released when the list is full.
  void unpark_all(channel_detail::WakeList& wake, keel::detail::UniqueLock& lock) {
    while (RecvWaiter* w = waiters_.pop_front()) {
      w->queued = false;
      wake.push(std::move(w->waker));
      // ORDERING: release: the receiver's acquire load sees that it was unparked.
      w->notified.store(true, std::memory_order_release);
      if (wake.full()) {
        lock.unlock();
        wake.wake_all();
        lock.lock();
      }
    }
  }

  keel::detail::Atomic<std::size_t> refs_{2};
  keel::detail::Atomic<std::size_t> senders_{1};
  std::size_t capacity_;
  std::unique_ptr<Slot<T>[]> slots_;
  keel::detail::Mutex mu_;
  std::uint64_t tail_pos_ = 0;  // under mu_: the position of the next send
  std::size_t tail_idx_ = 0;    // under mu_: tail_pos_ % capacity_
  std::size_t rx_count_ = 1;    // under mu_
  bool closed_ = false;         // under mu_
  channel_detail::WaiterList<RecvWaiter> waiters_;  // under mu_
};

}  // namespace detail

template <class T>
class Sender;

template <class T>
class Receiver {
 public:
  Receiver() = default;
  Receiver(Receiver&& o) noexcept
      : shared_(std::exchange(o.shared_, nullptr)), cursor_(o.cursor_) {}
  Receiver& operator=(Receiver&& o) noexcept {
    if (this != &o) {
      reset();
      shared_ = std::exchange(o.shared_, nullptr);
      cursor_ = o.cursor_;
    }
    return *this;
  }
  ~Receiver() { reset(); }

  bool valid() const { return shared_ != nullptr; }

  // A new receiver that sees values sent from now on.
  Receiver resubscribe() const { return Receiver(checked()); }

  // Never waits: a value, is_lagged(), is_empty(), or is_closed().
  RecvResult<T> try_recv() { return checked()->try_recv(cursor_); }

  class [[nodiscard]] RecvAwaiter final : public keel::detail::CoopLeaf<RecvAwaiter> {
   public:
    RecvAwaiter(Receiver& rx, std::source_location where) : rx_(rx) {
      this->await_point = {"broadcast::Receiver::recv", where};
    }
    RecvAwaiter(const RecvAwaiter&) = delete;
    ~RecvAwaiter() {
      if (parked_) rx_.shared_->unpark(&waiter_);
    }
    // CoopLeaf's hooks.
    bool ready_now() {
      RecvResult<T> r = rx_.checked()->try_recv(rx_.cursor_);
      if (r.is_empty()) return false;
      result_.emplace(std::move(r));  // consumed by await_resume right away
      return true;
    }
    bool register_wait() { return park(); }
    bool poll_ready() override {
      if (parked_) {
        // ORDERING: acquire pairs with the unparking sender's release.
        if (!waiter_.notified.load(std::memory_order_acquire)) return false;
        parked_ = false;  // unlinked by the sender
        // Not necessarily for a value we lack: unpark_all() drops the lock between batches
        // of wake-ups, so we may have received that value and parked again meanwhile, then
        // been unlinked by the same send. Check, and park again if nothing is ready.
      }
      if (rx_.shared_->ready(rx_.cursor_)) return true;
      return !park();
    }
    RecvResult<T> await_resume() {
      if (result_) return std::move(*result_);
      for (;;) {
        RecvResult<T> r = rx_.shared_->try_recv(rx_.cursor_);
        if (!r.is_empty()) return r;
        // Unreachable: we were ready and only this receiver moves its cursor.
      }
    }

   private:
    bool park() {
      parked_ = rx_.shared_->park(&waiter_, rx_.cursor_, this->waker_);
      return parked_;
    }

    Receiver& rx_;
    detail::RecvWaiter waiter_;
    std::optional<RecvResult<T>> result_;
    bool parked_ = false;
  };

  // The next value (a copy), kLagged or kClosed. Keep the Receiver alive meanwhile.
  RecvAwaiter recv(std::source_location where = std::source_location::current()) {
    return RecvAwaiter(*this, where);
  }

 private:
  friend class Sender<T>;
  template <class U>
  friend std::pair<Sender<U>, Receiver<U>> channel(std::size_t capacity);

  // Subscribes a new receiver.
  explicit Receiver(detail::Shared<T>* s) : shared_(s), cursor_(s->subscribe()) { s->add_ref(); }
  // Adopts the first receiver (already counted).
  Receiver(detail::Shared<T>* s, typename detail::Shared<T>::Cursor c) : shared_(s), cursor_(c) {}

  detail::Shared<T>* checked() const {
    if (!shared_) channel_detail::misuse("broadcast Receiver used after move");
    return shared_;
  }
  void reset() {
    if (detail::Shared<T>* s = std::exchange(shared_, nullptr)) {
      s->unsubscribe();
      s->drop_ref();
    }
  }

  detail::Shared<T>* shared_ = nullptr;
  typename detail::Shared<T>::Cursor cursor_{0, 0};
};

template <class T>
class Sender {
 public:
  Sender() = default;
  Sender(const Sender& o) : shared_(o.shared_) {
    if (shared_) shared_->add_sender();
  }
  Sender(Sender&& o) noexcept : shared_(std::exchange(o.shared_, nullptr)) {}
  Sender& operator=(Sender o) noexcept {
    std::swap(shared_, o.shared_);
    return *this;
  }
  ~Sender() {
    if (shared_) shared_->drop_sender();
  }

  bool valid() const { return shared_ != nullptr; }
  // Never waits: ok with receivers(), or is_closed() with the value given back when no
  // receiver exists (nothing is stored then).
  SendResult<T> send(T value) { return checked()->send(std::move(value)); }
  // A receiver that sees values sent from now on.
  Receiver<T> subscribe() { return Receiver<T>(checked()); }
  std::size_t receiver_count() const { return checked()->receiver_count(); }
  std::size_t capacity() const { return checked()->capacity(); }
  bool same_channel(const Sender& o) const { return shared_ == o.shared_; }

 private:
  template <class U>
  friend std::pair<Sender<U>, Receiver<U>> channel(std::size_t capacity);
  explicit Sender(detail::Shared<T>* s) : shared_(s) {}

  detail::Shared<T>* checked() const {
    if (!shared_) channel_detail::misuse("broadcast Sender used after move");
    return shared_;
  }
  detail::Shared<T>* shared_ = nullptr;
};

// A channel keeping the last `capacity` (> 0) values.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity) {
  if (capacity == 0) channel_detail::misuse("broadcast::channel: capacity must be positive");
  auto* s = new detail::Shared<T>(capacity);
  return {Sender<T>(s), Receiver<T>(s, typename detail::Shared<T>::Cursor{0, 0})};
}

}  // namespace keel::sync::broadcast

#endif  // KEEL_RUNTIME_SYNC_BROADCAST_H_
