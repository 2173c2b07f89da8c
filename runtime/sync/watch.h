// keel::sync::watch: one Sender publishes the latest value; many Receivers look at it and wait
// for changes (intermediate values may be skipped: changes coalesce).
//
//   auto [tx, rx] = keel::sync::watch::channel<Config>(initial);
//   tx.send(new_config);                       // error (value given back) if no receiver
//   tx.send_modify([](Config& c) { c.level = 3; });   // in place, always notifies
//   while ((co_await rx.changed()).ok()) {     // error once the sender is gone
//     Config c = *rx.borrow_and_update();      // copy out; keep guards short
//   }
//
// Sender (movable): `send(v)` stores and notifies, or, when every receiver is gone, returns
// is_closed() with the value given back and stores nothing (as Tokio). `send_replace(v)`
// always stores and returns the old value. `send_modify(fn)` runs fn(T&) under the write lock
// and always notifies; `send_if_modified(fn)` notifies only when fn returns true.
// `subscribe()` (a receiver that has seen the current value), `receiver_count()`,
// `is_closed()` (no receiver), `co_await closed()` (completes when no receiver is left),
// `borrow()`.
// Receiver (copyable; each copy tracks its own last-seen version): `borrow()` → a Ref guard
// holding the shared lock (do not await while holding it: senders spin on it);
// `borrow_and_update()` also marks the value seen; `co_await changed()` → OK when a value newer
// than the last seen one exists (and marks it seen), FAILED_PRECONDITION once the sender is
// gone and nothing new is left; `has_changed()` → StatusOr<bool> (error once the sender is
// gone).
//
// State: `version_` counts sends in steps of 2; its low bit says the Sender is gone. It changes
// under the write lock, so a reader holding the shared lock sees the version that matches the
// value. Parked receivers sit in a list under `mu_`; the Sender takes `mu_` only when the
// waiter count says someone is parked (seq_cst increment-then-check on the receiver side,
// seq_cst publish-then-check on the sender side).
//
// Cancellation: a changed() or closed() awaiter destroyed mid-wait unlinks itself; the
// receiver's seen version moves only in await_resume, so no change is lost.
//
// Thread-safety: the Sender and each Receiver are used by one task at a time; all of them may
// run concurrently on different threads.
#ifndef KEEL_RUNTIME_SYNC_WATCH_H_
#define KEEL_RUNTIME_SYNC_WATCH_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <source_location>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/detail/concurrency.h"
#include "runtime/sync/channel_detail/common.h"
#include "runtime/task/context.h"
#include "runtime/task/coop_leaf.h"

namespace keel::sync::watch {

template <class T>
using SendResult = ChannelResult<T>;

namespace detail {

absl::Status closed_error(const char* what);

struct Waiter {
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  Waker waker;          // under mu_
  bool queued = false;  // under mu_
};

// The non-template half: versions, counts and waiter lists.
class State {
 public:
  static constexpr std::uint64_t kClosedBit = 1;
  static constexpr std::uint64_t kStep = 2;

  std::uint64_t version() const {
    // ORDERING: seq_cst: a parked receiver's re-check (class comment); acquire for readers.
    return version_.load(std::memory_order_seq_cst);
  }
  // Under the write lock.
  void bump() {
    // ORDERING: seq_cst: publish-then-check against parked receivers.
    version_.fetch_add(kStep, std::memory_order_seq_cst);
  }
  void close_tx();
  // Wakes parked receivers (if any).
  void notify_rx();

  // Parks `w` unless version differs from `seen` or the sender is gone; false when ready.
  bool park_rx(Waiter* w, std::uint64_t seen, const Waker& waker);
  bool park_tx(Waiter* w, const Waker& waker);  // false when no receiver is left
  void unpark_rx(Waiter* w);
  void unpark_tx(Waiter* w);

  void add_receiver() {
    // ORDERING: relaxed: a counter; closed() waiters re-check it under mu_.
    rx_count_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_receiver();
  std::size_t receiver_count() const {
    // ORDERING: acquire pairs with drop_receiver.
    return rx_count_.load(std::memory_order_acquire);
  }

  void add_ref() {
    // ORDERING: relaxed: the caller already holds a reference.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  // True when the caller must delete the block.
  bool drop_ref() {
    // ORDERING: acq_rel: the last owner sees every other owner's writes.
    return refs_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

 private:
  keel::detail::Atomic<std::uint64_t> version_{0};
  keel::detail::Atomic<std::size_t> rx_count_{1};
  keel::detail::Atomic<std::size_t> rx_parked_{0};
  keel::detail::Atomic<std::size_t> refs_{2};
  keel::detail::Mutex mu_;
  channel_detail::WaiterList<Waiter> rx_waiters_;  // under mu_
  channel_detail::WaiterList<Waiter> tx_waiters_;  // under mu_
};

template <class T>
struct Shared {
  explicit Shared(T v) : value(std::move(v)) {}
  State state;
  channel_detail::RwSpinLock lock;
  T value;  // under lock

  void drop_ref() {
    if (state.drop_ref()) delete this;
  }
};

}  // namespace detail

template <class T>
class Sender;
template <class T>
class Receiver;

// A read guard on the current value: holds the shared lock until destroyed.
template <class T>
class [[nodiscard]] Ref {
 public:
  Ref(Ref&& o) noexcept : shared_(std::exchange(o.shared_, nullptr)), changed_(o.changed_) {}
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  ~Ref() {
    if (shared_) shared_->lock.unlock_shared();
  }
  const T& operator*() const { return shared_->value; }
  const T* operator->() const { return &shared_->value; }
  const T& get() const { return shared_->value; }
  // Whether this value was new to the receiver when borrowed.
  bool has_changed() const { return changed_; }

 private:
  template <class>
  friend class Receiver;
  template <class>
  friend class Sender;
  // Takes the shared lock.
  Ref(detail::Shared<T>* s, std::uint64_t seen, std::uint64_t* update) : shared_(s) {
    s->lock.lock_shared();
    std::uint64_t v = s->state.version() & ~detail::State::kClosedBit;
    changed_ = v != seen;
    if (update) *update = v;
  }
  detail::Shared<T>* shared_;
  bool changed_ = false;
};

template <class T>
class Receiver {
 public:
  Receiver() = default;
  Receiver(const Receiver& o) : shared_(o.shared_), seen_(o.seen_) {
    if (shared_) {
      shared_->state.add_ref();
      shared_->state.add_receiver();
    }
  }
  Receiver(Receiver&& o) noexcept : shared_(std::exchange(o.shared_, nullptr)), seen_(o.seen_) {}
  Receiver& operator=(Receiver o) noexcept {
    std::swap(shared_, o.shared_);
    std::swap(seen_, o.seen_);
    return *this;
  }
  ~Receiver() {
    if (detail::Shared<T>* s = std::exchange(shared_, nullptr)) {
      s->state.drop_receiver();
      s->drop_ref();
    }
  }

  bool valid() const { return shared_ != nullptr; }

  // The current value under the shared lock (keep the guard short; never await holding it).
  Ref<T> borrow() const { return Ref<T>(checked(), seen_, nullptr); }
  // As borrow(), and marks the value seen.
  Ref<T> borrow_and_update() { return Ref<T>(checked(), seen_, &seen_); }
  // Whether a value newer than the last seen exists; FAILED_PRECONDITION once the sender is
  // gone.
  absl::StatusOr<bool> has_changed() const {
    std::uint64_t v = checked()->state.version();
    if (v & detail::State::kClosedBit) return detail::closed_error("watch has_changed");
    return v != seen_;
  }
  // Marks the current value seen.
  void mark_unchanged() { seen_ = checked()->state.version() & ~detail::State::kClosedBit; }
  // Marks the current value unseen: the next changed() completes at once.
  void mark_changed() {
    checked();
    seen_ = detail::State::kClosedBit;  // odd: never equal to a value version
  }

  class [[nodiscard]] ChangedAwaiter final : public keel::detail::CoopLeaf<ChangedAwaiter> {
   public:
    ChangedAwaiter(Receiver& rx, std::source_location where) : rx_(rx) {
      this->await_point = {"watch::Receiver::changed", where};
    }
    ChangedAwaiter(const ChangedAwaiter&) = delete;
    ~ChangedAwaiter() {
      if (parked_) rx_.shared_->state.unpark_rx(&waiter_);
    }
    // CoopLeaf's hooks.
    bool ready_now() const { return ready(); }
    bool register_wait() {
      parked_ = rx_.shared_->state.park_rx(&waiter_, rx_.seen_, this->waker_);
      return parked_;
    }
    bool poll_ready() override {
      if (ready()) return true;
      // Being polled while parked does not mean we are still linked: a sender's notify_rx()
      // unlinks every waiter it finds, including one that parked after the very bump that
      // sender is announcing (so nothing is new for it). Unlink (a no-op when already out)
      // and park again: park_rx re-checks the version under the lock.
      if (parked_) rx_.shared_->state.unpark_rx(&waiter_);
      return !register_wait();
    }
    absl::Status await_resume() {
      std::uint64_t v = rx_.checked()->state.version();
      std::uint64_t value_version = v & ~detail::State::kClosedBit;
      if (value_version != rx_.seen_) {
        rx_.seen_ = value_version;
        return absl::OkStatus();
      }
      return detail::closed_error("watch changed");
    }

   private:
    bool ready() const {
      std::uint64_t v = rx_.checked()->state.version();
      return (v & detail::State::kClosedBit) || (v & ~detail::State::kClosedBit) != rx_.seen_;
    }
    Receiver& rx_;
    detail::Waiter waiter_;
    bool parked_ = false;
  };

  // Completes when a value newer than the last seen one exists (OK, marks it seen) or the
  // sender is gone with nothing new (FAILED_PRECONDITION).
  ChangedAwaiter changed(std::source_location where = std::source_location::current()) {
    return ChangedAwaiter(*this, where);
  }

  bool same_channel(const Receiver& o) const { return shared_ == o.shared_; }

 private:
  template <class>
  friend class Sender;
  template <class U>
  friend std::pair<Sender<U>, Receiver<U>> channel(U initial);
  Receiver(detail::Shared<T>* s, std::uint64_t seen) : shared_(s), seen_(seen) {}

  detail::Shared<T>* checked() const {
    if (!shared_) channel_detail::misuse("watch Receiver used after move");
    return shared_;
  }
  detail::Shared<T>* shared_ = nullptr;
  std::uint64_t seen_ = 0;
};

template <class T>
class Sender {
 public:
  Sender() = default;
  Sender(Sender&& o) noexcept : shared_(std::exchange(o.shared_, nullptr)) {}
  Sender& operator=(Sender&& o) noexcept {
    if (this != &o) {
      reset();
      shared_ = std::exchange(o.shared_, nullptr);
    }
    return *this;
  }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;
  ~Sender() { reset(); }

  bool valid() const { return shared_ != nullptr; }

  // Stores and notifies; when no receiver is left, stores nothing and gives the value back.
  SendResult<T> send(T value) {
    if (checked()->state.receiver_count() == 0) {
      return SendResult<T>::failure(ChannelError::kClosed, std::move(value), "watch send");
    }
    send_replace(std::move(value));
    return SendResult<T>::success_empty("watch send");
  }
  // Stores (even with no receiver), notifies, and returns the previous value.
  T send_replace(T value) {
    detail::Shared<T>* s = checked();
    s->lock.lock();
    std::swap(s->value, value);
    s->state.bump();
    s->lock.unlock();
    s->state.notify_rx();
    return value;
  }
  // Runs fn(T&) under the write lock, then notifies (always).
  template <class F>
  void send_modify(F&& fn) {
    send_if_modified([&fn](T& v) {
      fn(v);
      return true;
    });
  }
  // Runs fn(T&) → bool under the write lock; notifies when it returns true. Returns that.
  template <class F>
  bool send_if_modified(F&& fn) {
    detail::Shared<T>* s = checked();
    s->lock.lock();
    bool modified;
    try {
      modified = fn(s->value);
    } catch (...) {
      s->lock.unlock();
      throw;
    }
    if (modified) s->state.bump();
    s->lock.unlock();
    if (modified) s->state.notify_rx();
    return modified;
  }
  // The current value under the shared lock.
  Ref<T> borrow() const { return Ref<T>(checked(), 0, nullptr); }
  // A receiver that has seen the current value.
  Receiver<T> subscribe() {
    detail::Shared<T>* s = checked();
    s->state.add_ref();
    s->state.add_receiver();
    return Receiver<T>(s, s->state.version() & ~detail::State::kClosedBit);
  }
  std::size_t receiver_count() const { return checked()->state.receiver_count(); }
  // Whether no receiver is left.
  bool is_closed() const { return receiver_count() == 0; }

  class [[nodiscard]] ClosedAwaiter final : public keel::detail::Leaf {
   public:
    ClosedAwaiter(detail::Shared<T>* s, std::source_location where) : shared_(s) {
      await_point = {"watch::Sender::closed", where};
    }
    ClosedAwaiter(const ClosedAwaiter&) = delete;
    ~ClosedAwaiter() {
      if (parked_) shared_->state.unpark_tx(&waiter_);
    }
    bool await_ready() { return shared_->state.receiver_count() == 0; }
    bool await_suspend(std::coroutine_handle<> h) {
      Waker w = keel::detail::current_waker(await_point.what);
      parked_ = shared_->state.park_tx(&waiter_, w);
      if (!parked_) return false;
      keel::detail::park_current(h, this);
      return true;
    }
    bool poll_ready() override { return shared_->state.receiver_count() == 0; }
    void await_resume() {}

   private:
    detail::Shared<T>* shared_;
    detail::Waiter waiter_;
    bool parked_ = false;
  };

  // Completes when no receiver is left.
  ClosedAwaiter closed(std::source_location where = std::source_location::current()) {
    return ClosedAwaiter(checked(), where);
  }

 private:
  template <class U>
  friend std::pair<Sender<U>, Receiver<U>> channel(U initial);
  explicit Sender(detail::Shared<T>* s) : shared_(s) {}

  detail::Shared<T>* checked() const {
    if (!shared_) channel_detail::misuse("watch Sender used after move");
    return shared_;
  }
  void reset() {
    if (detail::Shared<T>* s = std::exchange(shared_, nullptr)) {
      s->state.close_tx();
      s->drop_ref();
    }
  }
  detail::Shared<T>* shared_ = nullptr;
};

template <class T>
std::pair<Sender<T>, Receiver<T>> channel(T initial) {
  auto* s = new detail::Shared<T>(std::move(initial));
  return {Sender<T>(s), Receiver<T>(s, 0)};
}

}  // namespace keel::sync::watch

#endif  // KEEL_RUNTIME_SYNC_WATCH_H_
