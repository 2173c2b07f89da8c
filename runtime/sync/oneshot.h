// keel::sync::oneshot: a channel that carries exactly one value from one Sender to one Receiver.
//
//   auto [tx, rx] = keel::sync::oneshot::channel<int>();
//   keel::spawn(compute(std::move(tx)));           // ... tx.send(42);
//   absl::StatusOr<int> v = co_await rx.recv();    // 42, or an error if tx was dropped unsent
//
// Sender: `send(v)` is synchronous and never waits. It returns a SendResult: ok, or
// is_closed() with the value given back (`take_value()`) when the receiver was closed or
// dropped. A Sender sends at most once; after send() it is spent (valid() is false).
// `is_closed()` and `co_await tx.closed()` tell the sender that nobody will receive.
// Receiver: `co_await rx.recv()` gives the value, or FAILED_PRECONDITION when the sender was
// dropped without sending (or the receiver was closed first, or the value was already taken).
// `try_recv()` never waits (kEmpty / kClosed). `close()` refuses a later send; a value sent
// before close() can still be received.
//
// State machine: one allocation holds the value, two waker slots and one atomic state word
// with the bits kRxTaskSet (the receiver's waker slot is published), kValueSent, kTxDropped
// (the sender went away without a value), kClosed (the receiver closed or went away) and
// kTxTaskSet (the sender's closed() waker is published). kValueSent and kTxDropped are final
// and exclusive ("complete"). A side writes its waker slot only while its kXxTaskSet bit is
// clear and the other side cannot have seen it; the other side reads the slot only after its
// own RMW saw the bit set. A second atomic counts the two handles; the last one frees the
// block.
//
// Cancellation: a recv() or closed() awaiter destroyed mid-wait clears its waker slot and
// leaves the value in the channel (a later recv()/try_recv() gets it).
//
// Thread-safety: the Sender and the Receiver may be used (and destroyed) concurrently on
// different threads; each one handle by one task at a time.
#ifndef KEEL_RUNTIME_SYNC_ONESHOT_H_
#define KEEL_RUNTIME_SYNC_ONESHOT_H_

#include <coroutine>
#include <cstdint>
#include <new>
#include <optional>
#include <source_location>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/detail/concurrency.h"
#include "runtime/sync/channel_detail/common.h"
#include "runtime/task/context.h"
#include "runtime/task/coop_leaf.h"
#include "runtime/task/frame_allocator.h"

namespace keel::sync::oneshot {

template <class T>
using SendResult = ChannelResult<T>;
template <class T>
using TryRecvResult = ChannelResult<T>;

namespace detail {

absl::Status recv_error(std::uint32_t state, bool taken);

inline constexpr std::uint32_t kRxTaskSet = 1;
inline constexpr std::uint32_t kValueSent = 2;
inline constexpr std::uint32_t kTxDropped = 4;
inline constexpr std::uint32_t kClosed = 8;
inline constexpr std::uint32_t kTxTaskSet = 16;
inline constexpr std::uint32_t kComplete = kValueSent | kTxDropped;

template <class T>
struct Shared {
  // From the runtime's recycling small-block allocator: ping-pong creates one per message.
  static void* operator new(std::size_t size) { return keel::detail::frame_allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    keel::detail::frame_deallocate(p, size);
  }

  keel::detail::Atomic<std::uint32_t> state{0};
  keel::detail::Atomic<std::uint32_t> refs{2};
  Waker rx_waker;
  Waker tx_waker;
  std::optional<T> value;

  void drop_ref() {
    // ORDERING: acq_rel: the last owner sees every write of the other before freeing.
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Publishes `waker` in `slot` guarded by `bit`, unless `done_mask` is already set.
  // Returns false when done (the caller is ready). Only the slot's owner calls this.
  bool register_waker(Waker& slot, std::uint32_t bit, std::uint32_t done_mask, const Waker& w) {
    // ORDERING: acquire sees the other side's writes when it completed.
    std::uint32_t s = state.load(std::memory_order_acquire);
    if (s & done_mask) return false;
    if (s & bit) {
      if (slot.will_wake(w)) return true;
      // ORDERING: acq_rel: after clearing, the other side no longer reads the slot; if it
      // completed first (it may be reading the slot now), leave the slot alone.
      std::uint32_t prev = state.fetch_and(~bit, std::memory_order_acq_rel);
      if (prev & done_mask) return false;
    }
    slot = w;
    // ORDERING: acq_rel: release publishes the slot to the other side's RMW that sees `bit`;
    // acquire sees its writes if it completed meanwhile (it then did not see `bit`).
    std::uint32_t prev = state.fetch_or(bit, std::memory_order_acq_rel);
    return (prev & done_mask) == 0;
  }

  // Withdraws a registration (the awaiter is going away).
  void unregister_waker(Waker& slot, std::uint32_t bit, std::uint32_t done_mask) {
    // ORDERING: acq_rel as in register_waker.
    std::uint32_t prev = state.fetch_and(~bit, std::memory_order_acq_rel);
    if ((prev & bit) && !(prev & done_mask)) slot.reset();  // the other side will not read it
  }
};

}  // namespace detail

template <class T>
class Receiver;

template <class T>
class Sender {
 public:
  Sender() = default;
  explicit Sender(detail::Shared<T>* s) : shared_(s) {}
  Sender(Sender&& o) noexcept : shared_(std::exchange(o.shared_, nullptr)) {}
  Sender& operator=(Sender&& o) noexcept {
    if (this != &o) {
      drop();
      shared_ = std::exchange(o.shared_, nullptr);
    }
    return *this;
  }
  ~Sender() { drop(); }

  bool valid() const { return shared_ != nullptr; }

  // Sends the value and spends the Sender. ok(), or is_closed() with the value given back
  // when the receiver is closed or gone. Aborts on a spent Sender.
  SendResult<T> send(T value) {
    if (!shared_) channel_detail::misuse("oneshot send on a spent or moved-from Sender");
    detail::Shared<T>* s = shared_;
    // ORDERING: acquire pairs with the receiver's close.
    std::uint32_t st = s->state.load(std::memory_order_acquire);
    if (st & detail::kClosed) {
      return SendResult<T>::failure(ChannelError::kClosed, std::move(value), "oneshot send");
    }
    s->value.emplace(std::move(value));
    for (;;) {
      if (st & detail::kClosed) {
        T back = std::move(*s->value);
        s->value.reset();
        drop();
        return SendResult<T>::failure(ChannelError::kClosed, std::move(back), "oneshot send");
      }
      // ORDERING: acq_rel: release publishes the value to the receiver's acquire; acquire
      // sees the receiver's waker slot when kRxTaskSet is set.
      if (s->state.compare_exchange_weak(st, st | detail::kValueSent, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
        break;
      }
    }
    if (st & detail::kRxTaskSet) s->rx_waker.wake_by_ref();
    shared_ = nullptr;
    s->drop_ref();
    return SendResult<T>::success_empty("oneshot send");
  }

  // Whether the receiver was closed or dropped (a send would fail).
  bool is_closed() const {
    // ORDERING: acquire pairs with the receiver's close.
    return shared_ == nullptr ||
           (shared_->state.load(std::memory_order_acquire) & detail::kClosed) != 0;
  }

  class [[nodiscard]] ClosedAwaiter final : public keel::detail::Leaf {
   public:
    ClosedAwaiter(detail::Shared<T>* s, std::source_location where) : shared_(s) {
      await_point = {"oneshot::Sender::closed", where};
      // Holds its own reference: a select branch may send (and spend the Sender) meanwhile.
      // ORDERING: relaxed: the caller already holds a reference.
      if (shared_) shared_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    ClosedAwaiter(const ClosedAwaiter&) = delete;
    ~ClosedAwaiter() {
      if (!shared_) return;
      if (registered_) {
        shared_->unregister_waker(shared_->tx_waker, detail::kTxTaskSet, detail::kClosed);
      }
      shared_->drop_ref();
    }
    bool await_ready() { return closed(); }
    bool await_suspend(std::coroutine_handle<> h) {
      waker_ = keel::detail::current_waker(await_point.what);
      registered_ = true;  // the destructor withdraws whatever the attempt published
      if (!shared_->register_waker(shared_->tx_waker, detail::kTxTaskSet, detail::kClosed,
                                   waker_)) {
        return false;
      }
      keel::detail::park_current(h, this);
      return true;
    }
    bool poll_ready() override { return closed(); }
    void await_resume() {}

   private:
    bool closed() const {
      // ORDERING: acquire pairs with the receiver's close.
      return shared_ == nullptr ||
             (shared_->state.load(std::memory_order_acquire) & detail::kClosed) != 0;
    }
    detail::Shared<T>* shared_;
    Waker waker_;
    bool registered_ = false;
  };

  // Completes once the receiver is closed or dropped (at once on a spent Sender).
  ClosedAwaiter closed(std::source_location where = std::source_location::current()) {
    return ClosedAwaiter(shared_, where);
  }

 private:
  void drop() {
    detail::Shared<T>* s = std::exchange(shared_, nullptr);
    if (!s) return;
    // ORDERING: acq_rel: acquire sees the receiver's waker slot when kRxTaskSet is set.
    std::uint32_t prev = s->state.fetch_or(detail::kTxDropped, std::memory_order_acq_rel);
    if ((prev & detail::kRxTaskSet) && !(prev & detail::kComplete)) s->rx_waker.wake_by_ref();
    s->drop_ref();
  }

  detail::Shared<T>* shared_ = nullptr;
};

template <class T>
class Receiver {
 public:
  Receiver() = default;
  explicit Receiver(detail::Shared<T>* s) : shared_(s) {}
  Receiver(Receiver&& o) noexcept
      : shared_(std::exchange(o.shared_, nullptr)), taken_(o.taken_) {}
  Receiver& operator=(Receiver&& o) noexcept {
    if (this != &o) {
      drop();
      shared_ = std::exchange(o.shared_, nullptr);
      taken_ = o.taken_;
    }
    return *this;
  }
  ~Receiver() { drop(); }

  bool valid() const { return shared_ != nullptr; }

  // Refuses a later send. A value sent before stays receivable.
  void close() {
    if (!shared_) return;
    // ORDERING: acq_rel: acquire sees the sender's waker slot when kTxTaskSet is set.
    std::uint32_t prev = shared_->state.fetch_or(detail::kClosed, std::memory_order_acq_rel);
    if ((prev & detail::kTxTaskSet) && !(prev & detail::kClosed)) {
      shared_->tx_waker.wake_by_ref();
    }
  }

  // The value if it was sent (ok), kEmpty if not yet, kClosed if it never will be (or was
  // already taken).
  TryRecvResult<T> try_recv() {
    if (!shared_ || taken_) {
      return TryRecvResult<T>::failure(ChannelError::kClosed, "oneshot try_recv");
    }
    // ORDERING: acquire pairs with the sender's release of the value.
    std::uint32_t s = shared_->state.load(std::memory_order_acquire);
    if (s & detail::kValueSent) return TryRecvResult<T>::success(take(), "oneshot try_recv");
    if (s & (detail::kTxDropped | detail::kClosed)) {
      return TryRecvResult<T>::failure(ChannelError::kClosed, "oneshot try_recv");
    }
    return TryRecvResult<T>::failure(ChannelError::kEmpty, "oneshot try_recv");
  }

  class [[nodiscard]] RecvAwaiter final : public keel::detail::CoopLeaf<RecvAwaiter> {
   public:
    RecvAwaiter(Receiver& rx, std::source_location where) : rx_(rx) {
      this->await_point = {"oneshot::Receiver::recv", where};
    }
    RecvAwaiter(const RecvAwaiter&) = delete;
    ~RecvAwaiter() {
      if (registered_) {
        rx_.shared_->unregister_waker(rx_.shared_->rx_waker, detail::kRxTaskSet,
                                      detail::kComplete | detail::kClosed);
      }
    }
    // CoopLeaf's hooks.
    bool ready_now() const { return ready(); }
    bool register_wait() { return register_now(); }
    bool poll_ready() override {
      if (ready()) return true;
      return !register_now();
    }
    absl::StatusOr<T> await_resume() {
      if (!rx_.shared_ || rx_.taken_) return detail::recv_error(0, true);
      // ORDERING: acquire pairs with the sender's release of the value.
      std::uint32_t s = rx_.shared_->state.load(std::memory_order_acquire);
      if (s & detail::kValueSent) return rx_.take();
      return detail::recv_error(s, false);
    }

   private:
    bool ready() const {
      if (!rx_.shared_ || rx_.taken_) return true;
      // ORDERING: acquire pairs with the sender's release of the value.
      return (rx_.shared_->state.load(std::memory_order_acquire) &
              (detail::kComplete | detail::kClosed)) != 0;
    }
    // False when the channel completed meanwhile (ready).
    bool register_now() {
      if (!rx_.shared_ || rx_.taken_) return false;
      registered_ = true;  // the destructor withdraws whatever the attempt published
      return rx_.shared_->register_waker(rx_.shared_->rx_waker, detail::kRxTaskSet,
                                         detail::kComplete | detail::kClosed, this->waker_);
    }

    Receiver& rx_;
    bool registered_ = false;
  };

  // Waits for the value. The awaiter refers to this Receiver: keep it alive meanwhile.
  RecvAwaiter recv(std::source_location where = std::source_location::current()) {
    return RecvAwaiter(*this, where);
  }

 private:
  T take() {
    taken_ = true;
    T v = std::move(*shared_->value);
    shared_->value.reset();
    return v;
  }
  void drop() {
    if (!shared_) return;
    close();
    std::exchange(shared_, nullptr)->drop_ref();
  }

  detail::Shared<T>* shared_ = nullptr;
  bool taken_ = false;
};

// A fresh channel: one allocation (the shared block).
template <class T>
std::pair<Sender<T>, Receiver<T>> channel() {
  auto* s = new detail::Shared<T>();
  return {Sender<T>(s), Receiver<T>(s)};
}

}  // namespace keel::sync::oneshot

#endif  // KEEL_RUNTIME_SYNC_ONESHOT_H_
