// keel::sync::mpsc: multi-producer, single-consumer channels, bounded and unbounded.
//
//   auto [tx, rx] = keel::sync::mpsc::channel<Job>(1024);
//   keel::spawn(produce(tx));                          // Senders are copyable
//   absl::Status s = co_await tx.send(job);            // waits while the channel is full
//   while (std::optional<Job> j = co_await rx.recv()) { ... }   // nullopt: closed and drained
//
//   absl::StatusOr<mpsc::Permit<Job>> p = co_await tx.reserve();  // a slot, held
//   if (p.ok()) p->send(job);                          // cannot fail or wait
//
//   auto [utx, urx] = keel::sync::mpsc::unbounded_channel<Event>();
//   utx.send(ev);                                      // synchronous, never waits
//
// Sender (bounded): `co_await send(v)` → OK, or FAILED_PRECONDITION when the receiver is
// closed or gone (the value is dropped). `try_send(v)` → TrySendResult: ok, is_full() or
// is_closed(), with the value given back on failure. `co_await reserve()` → a Permit whose
// send() cannot fail or wait; dropping an unused Permit returns its slot. `is_closed()`,
// `co_await closed()` (completes when the receiver closes or goes away). The channel closes for
// the receiver when the last Sender (and Permit) is gone.
// Receiver: `co_await recv()` → the next value, or nullopt once the channel is closed and
// drained. `try_recv()` → ok, is_empty() or is_closed() ("disconnected"). `close()` refuses
// new sends and fails waiting senders; values already sent (and outstanding Permits) can still
// be received. `len()` is the number of values in flight (a snapshot).
// Order: values from one sender arrive in the order sent; senders waiting for capacity are
// served first come, first served.
//
// Bounded design: a preallocated ring (power-of-two size ≥ capacity) of slots, each with a
// sequence word; a Semaphore (channel_detail/permits.h) of `capacity` permits. A sender takes a
// permit (one CAS), claims a position with one fetch_add on the tail, writes the slot and
// publishes it by storing `position + 1` into the slot's sequence; the receiver owns the head,
// reads a slot once its sequence says it is written, and returns the permit. A permit
// guarantees that the slot it claims was read: at most `capacity` positions are claimed and
// not yet released. (Formally: when position p is claimed, at most p acquisitions precede the
// receiver's release of position p - size, so one of the claimers of 0..p acquired after that
// release; the acq_rel claims on the tail chain its happens-before edge to p's claimer.) The receiver parks on an AtomicWaker that senders only touch when it is
// armed. No allocation per message; no lock unless a sender must wait.
//
// Cancellation: a send() or reserve() destroyed while waiting leaves the queue; a permit that
// was granted to it but not taken goes to the next waiting sender, and its value is never
// enqueued. A recv() destroyed while waiting takes nothing (values stay for the next recv).
//
// Thread-safety: Senders (copies) on any threads concurrently; one Receiver used by one task
// at a time (it is movable, not copyable).
#ifndef KEEL_RUNTIME_SYNC_MPSC_H_
#define KEEL_RUNTIME_SYNC_MPSC_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <source_location>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/detail/concurrency.h"
#include "runtime/sync/channel_detail/common.h"
#include "runtime/sync/channel_detail/mpsc_awaiters.h"
#include "runtime/sync/channel_detail/permits.h"
#include "runtime/task/context.h"
#include "runtime/task/coop_leaf.h"

namespace keel::sync::mpsc {

template <class T>
using TrySendResult = ChannelResult<T>;
template <class T>
using TryRecvResult = ChannelResult<T>;

namespace detail {

absl::Status send_closed_error(const char* what);

template <class T>
struct Slot {
  keel::detail::Atomic<std::uint64_t> seq{0};  // position + 1 once written for `position`
  alignas(T) unsigned char storage[sizeof(T)];
  T* ptr() { return std::launder(reinterpret_cast<T*>(storage)); }
};

template <class T>
class BoundedChan {
 public:
  // Names in the Receiver's messages (see channel_detail::MpscReceiver).
  static constexpr const char* kRecvWhat = "mpsc::Receiver::recv";
  static constexpr const char* kReceiverMisuse = "mpsc Receiver used after move";

  explicit BoundedChan(std::size_t capacity)
      : capacity_(capacity), sem_(capacity, &rx_waker_) {
    std::size_t size = 1;
    while (size < capacity) size <<= 1;
    mask_ = size - 1;
    slots_ = new Slot<T>[size];
  }
  ~BoundedChan() {
    // Every handle is gone: whatever is published and unread is destroyed here.
    // ORDERING: relaxed: the last drop_ref (acq_rel) ordered every writer before us.
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    for (std::uint64_t p = head_; p < tail; ++p) {
      Slot<T>& s = slots_[p & mask_];
      // ORDERING: relaxed: as above.
      if (s.seq.load(std::memory_order_relaxed) == p + 1) s.ptr()->~T();
    }
    delete[] slots_;
  }

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
    // ORDERING: relaxed: the caller is itself a sender, so the count cannot reach 0 now.
    senders_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_sender() {
    // ORDERING: seq_cst: release orders our sends before the receiver's closed check, and
    // the seq_cst order against its arm-then-recheck makes the wake reliable.
    if (senders_.fetch_sub(1, std::memory_order_seq_cst) == 1) {
      rx_waker_.wake_if_armed();
      // The receiver might not be armed yet but about to check: it re-checks senders_.
    }
    drop_ref();
  }

  // With a permit held: writes and publishes the value.
  void push(T&& value) {
    // ORDERING: acq_rel: the permits guarantee that the slot's previous value was read, but
    // our own permit may predate the receiver's release of that slot; some sender that
    // claimed an earlier position took its permit after that release, and this RMW chain on
    // tail_ carries that happens-before edge to us (see the comment in the file header).
    std::uint64_t p = tail_.fetch_add(1, std::memory_order_acq_rel);
    Slot<T>& s = slots_[p & mask_];
    ::new (static_cast<void*>(s.storage)) T(std::move(value));
    // ORDERING: seq_cst: release publishes the value to the receiver's acquire; seq_cst
    // orders it before the armed test (see AtomicWaker).
    s.seq.store(p + 1, std::memory_order_seq_cst);
    rx_waker_.wake_if_armed();
  }

  // Receiver only.
  bool has_item() const {
    // ORDERING: seq_cst (acquire would do for the data): the receiver's re-check after arming.
    return slots_[head_ & mask_].seq.load(std::memory_order_seq_cst) == head_ + 1;
  }
  // Receiver only: takes the head value (has_item() must be true).
  T pop() {
    Slot<T>& s = slots_[head_ & mask_];
    T v = std::move(*s.ptr());
    s.ptr()->~T();
    ++head_;
    sem_.release();
    return v;
  }
  bool try_pop(std::optional<T>& out) {
    Slot<T>& s = slots_[head_ & mask_];
    // ORDERING: acquire pairs with push's publishing store.
    if (s.seq.load(std::memory_order_acquire) != head_ + 1) return false;
    out.emplace(pop());
    return true;
  }
  // Receiver only, with no item at the head: whether no item can ever arrive.
  bool drained() const {
    // ORDERING: seq_cst: pairs with drop_sender (release: sends before it are visible).
    if (senders_.load(std::memory_order_seq_cst) == 0) return !has_item();
    return sem_.closed_and_idle(capacity_);
  }
  // Receiver only: ready to return from recv (an item, or closed and drained).
  bool recv_ready() const { return has_item() || drained(); }

  void close_rx() {
    sem_.close();
    tx_closed_.close();
  }
  std::size_t len() const {
    // ORDERING: relaxed: a snapshot.
    return static_cast<std::size_t>(tail_.load(std::memory_order_relaxed) - head_);
  }

  channel_detail::Semaphore& sem() { return sem_; }
  channel_detail::AtomicWaker& rx_waker() { return rx_waker_; }
  channel_detail::CloseNotifier& tx_closed() { return tx_closed_; }
  std::size_t capacity() const { return capacity_; }

 private:
  // Handles: senders + permits + the receiver (+ awaiters that outlive nothing: none).
  keel::detail::Atomic<std::size_t> refs_{2};
  keel::detail::Atomic<std::size_t> senders_{1};
  std::size_t capacity_;
  std::size_t mask_ = 0;
  Slot<T>* slots_ = nullptr;
  channel_detail::AtomicWaker rx_waker_;
  channel_detail::Semaphore sem_;
  channel_detail::CloseNotifier tx_closed_;
  // Senders' hot word and the receiver's on separate lines.
  alignas(keel::detail::kCacheLine) keel::detail::Atomic<std::uint64_t> tail_{0};
  alignas(keel::detail::kCacheLine) std::uint64_t head_ = 0;  // receiver only
};

}  // namespace detail

template <class T>
class Sender;
template <class T>
class Permit;

namespace detail {

// Waits for a permit; the base of send() and reserve(). The PermitAcquirer's destructor gives
// back a permit granted to an awaiter that goes away before using it.
template <class T>
class PermitAwaiterBase : public keel::detail::CoopLeaf<PermitAwaiterBase<T>> {
 public:
  PermitAwaiterBase(BoundedChan<T>* chan, const char* what, std::source_location where)
      : chan_(chan), acquirer_(&chan->sem()) {
    this->await_point = {what, where};
  }
  PermitAwaiterBase(const PermitAwaiterBase&) = delete;
  PermitAwaiterBase& operator=(const PermitAwaiterBase&) = delete;

  // CoopLeaf's hooks: a free slot at once, or queue for one (false: granted meanwhile).
  bool ready_now() { return acquirer_.try_fast(); }
  bool register_wait() { return !acquirer_.acquire(this->waker_); }
  bool poll_ready() override { return acquirer_.acquire(this->waker_); }

 protected:
  ~PermitAwaiterBase() = default;

  BoundedChan<T>* chan_;
  channel_detail::PermitAcquirer acquirer_;
};

template <class T>
class [[nodiscard]] SendAwaiter final : public PermitAwaiterBase<T> {
 public:
  SendAwaiter(BoundedChan<T>* chan, T value, std::source_location where)
      : PermitAwaiterBase<T>(chan, "mpsc::Sender::send", where), value_(std::move(value)) {}

  absl::Status await_resume() {
    if (this->acquirer_.closed()) return send_closed_error("mpsc send");
    this->acquirer_.consume();
    this->chan_->push(std::move(value_));
    return absl::OkStatus();
  }

 private:
  T value_;
};

template <class T>
class [[nodiscard]] ReserveAwaiter final : public PermitAwaiterBase<T> {
 public:
  ReserveAwaiter(BoundedChan<T>* chan, std::source_location where)
      : PermitAwaiterBase<T>(chan, "mpsc::Sender::reserve", where) {}

  absl::StatusOr<Permit<T>> await_resume() {
    if (this->acquirer_.closed()) return send_closed_error("mpsc reserve");
    this->acquirer_.consume();
    return Permit<T>(this->chan_);
  }
};

}  // namespace detail

// A reserved slot: send() cannot fail or wait. Counts as a sender (the channel stays open for
// the receiver while it exists). Dropping it unused returns the slot.
template <class T>
class [[nodiscard]] Permit {
 public:
  Permit() = default;
  Permit(Permit&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  Permit& operator=(Permit&& o) noexcept {
    if (this != &o) {
      reset();
      chan_ = std::exchange(o.chan_, nullptr);
    }
    return *this;
  }
  ~Permit() { reset(); }

  bool valid() const { return chan_ != nullptr; }
  // Sends through the reserved slot and spends the permit. Aborts on a spent permit.
  void send(T value) {
    if (!chan_) channel_detail::misuse("mpsc Permit::send on a spent permit");
    detail::BoundedChan<T>* c = std::exchange(chan_, nullptr);
    c->push(std::move(value));
    c->drop_sender();
  }

 private:
  friend class Sender<T>;
  template <class>
  friend class detail::ReserveAwaiter;
  // Adopts one permit; takes a sender reference.
  explicit Permit(detail::BoundedChan<T>* c) : chan_(c) { chan_->add_sender(); }
  void reset() {
    if (detail::BoundedChan<T>* c = std::exchange(chan_, nullptr)) {
      c->sem().release();
      c->drop_sender();
    }
  }
  detail::BoundedChan<T>* chan_ = nullptr;
};

template <class T>
class Sender {
 public:
  Sender() = default;
  explicit Sender(detail::BoundedChan<T>* c) : chan_(c) {}
  Sender(const Sender& o) : chan_(o.chan_) {
    if (chan_) chan_->add_sender();
  }
  Sender(Sender&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  Sender& operator=(Sender o) noexcept {
    std::swap(chan_, o.chan_);
    return *this;
  }
  ~Sender() {
    if (chan_) chan_->drop_sender();
  }

  bool valid() const { return chan_ != nullptr; }

  // Waits for capacity, then enqueues. OK, or FAILED_PRECONDITION when the receiver closed.
  detail::SendAwaiter<T> send(T value,
                                      std::source_location where = std::source_location::current()) {
    return detail::SendAwaiter<T>(checked(), std::move(value), where);
  }
  // Never waits: ok, is_full() or is_closed() (the value is given back on failure).
  TrySendResult<T> try_send(T value) {
    detail::BoundedChan<T>* c = checked();
    switch (c->sem().try_acquire()) {
      case channel_detail::Semaphore::Acquire::kAcquired:
        c->push(std::move(value));
        return TrySendResult<T>::success_empty("mpsc try_send");
      case channel_detail::Semaphore::Acquire::kClosed:
        return TrySendResult<T>::failure(ChannelError::kClosed, std::move(value),
                                         "mpsc try_send");
      default:
        return TrySendResult<T>::failure(ChannelError::kFull, std::move(value), "mpsc try_send");
    }
  }
  // Waits for capacity and holds it as a Permit.
  detail::ReserveAwaiter<T> reserve(
      std::source_location where = std::source_location::current()) {
    return detail::ReserveAwaiter<T>(checked(), where);
  }
  // A Permit if capacity is free now; UNAVAILABLE when full, FAILED_PRECONDITION when closed.
  absl::StatusOr<Permit<T>> try_reserve() {
    detail::BoundedChan<T>* c = checked();
    switch (c->sem().try_acquire()) {
      case channel_detail::Semaphore::Acquire::kAcquired:
        return Permit<T>(c);
      case channel_detail::Semaphore::Acquire::kClosed:
        return detail::send_closed_error("mpsc try_reserve");
      default:
        return absl::UnavailableError("mpsc try_reserve: channel full");
    }
  }
  // Whether the receiver closed or went away.
  bool is_closed() const { return chan_ == nullptr || chan_->sem().is_closed(); }
  // Completes when the receiver closes or goes away.
  channel_detail::ClosedAwaiter closed(std::source_location where = std::source_location::current()) {
    return channel_detail::ClosedAwaiter(&checked()->tx_closed(), "mpsc::Sender::closed", where);
  }
  std::size_t capacity() const { return checked()->capacity(); }
  // Free slots right now (a snapshot).
  std::size_t available() const { return checked()->sem().available(); }
  // Senders queued for capacity right now (a snapshot; takes a lock).
  std::size_t waiting_senders() const { return checked()->sem().waiting(); }
  bool same_channel(const Sender& o) const { return chan_ == o.chan_; }

 private:
  detail::BoundedChan<T>* checked() const {
    if (!chan_) channel_detail::misuse("mpsc Sender used after move");
    return chan_;
  }
  detail::BoundedChan<T>* chan_ = nullptr;
};

template <class T>
class Receiver : public channel_detail::MpscReceiver<detail::BoundedChan<T>, T> {
 public:
  using channel_detail::MpscReceiver<detail::BoundedChan<T>, T>::MpscReceiver;
  std::size_t capacity() const { return this->checked()->capacity(); }
};

// A bounded channel holding at most `capacity` (> 0) values.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity) {
  if (capacity == 0) channel_detail::misuse("mpsc::channel: capacity must be positive");
  auto* c = new detail::BoundedChan<T>(capacity);
  return {Sender<T>(c), Receiver<T>(c)};
}

}  // namespace keel::sync::mpsc

#include "runtime/sync/channel_detail/mpsc_unbounded.h"  // IWYU pragma: export

#endif  // KEEL_RUNTIME_SYNC_MPSC_H_
