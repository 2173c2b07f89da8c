// Building blocks shared by Keel's channels (oneshot, mpsc, broadcast, watch).
//
// - ChannelResult<T>: the small result type of the non-awaiting channel operations
//   (`try_send`, `try_recv`, synchronous `send`, broadcast `recv`). It says what went wrong
//   with a ChannelError code (no heap allocation on the error path, unlike absl::Status) and
//   carries the value: the received value on success, or the rejected value given back on a
//   failed send.
// - WaiterList: an intrusive FIFO list of waiters (the runtime's IntrusiveList is LIFO).
// - WakeList: collects up to 32 Wakers under a lock so that they are woken after it is released.
// - AtomicWaker: one Waker slot that a single owner registers and any thread wakes (Tokio's
//   AtomicWaker protocol), with an `armed` flag so that wakers skip the slot when nobody waits.
// - RwSpinLock: a tiny reader-writer spin lock for very short critical sections (a value copy).
//
// Thread-safety: ChannelResult, WaiterList and WakeList are plain values (owners lock around
// WaiterList); AtomicWaker and RwSpinLock are safe to use from any thread as documented below.
#ifndef KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_COMMON_H_
#define KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "runtime/detail/concurrency.h"
#include "runtime/task/waker.h"

namespace keel::sync {

// Why a channel operation did not produce or accept a value.
enum class ChannelError : std::uint8_t {
  kOk = 0,  // no error
  kEmpty,   // try_recv: nothing to receive right now
  kFull,    // try_send: no capacity right now
  kClosed,  // the other side is gone or closed (mpsc: "disconnected")
  kLagged,  // broadcast: the receiver fell behind and values were skipped (see lagged())
};

const char* channel_error_name(ChannelError e);

// What a non-awaiting channel operation produced. `what` names the operation and channel
// ("mpsc try_send") for status().
template <class T>
class [[nodiscard]] ChannelResult {
 public:
  static ChannelResult success(T value, const char* what, std::uint64_t count = 0) {
    ChannelResult r(ChannelError::kOk, what, count);
    r.value_.emplace(std::move(value));
    return r;
  }
  // A success without a value (a send that went through).
  static ChannelResult success_empty(const char* what, std::uint64_t count = 0) {
    return ChannelResult(ChannelError::kOk, what, count);
  }
  static ChannelResult failure(ChannelError e, const char* what, std::uint64_t count = 0) {
    return ChannelResult(e, what, count);
  }
  // A failure that gives the rejected value back.
  static ChannelResult failure(ChannelError e, T value, const char* what) {
    ChannelResult r(e, what, 0);
    r.value_.emplace(std::move(value));
    return r;
  }

  bool ok() const { return error_ == ChannelError::kOk; }
  ChannelError error() const { return error_; }
  bool is_empty() const { return error_ == ChannelError::kEmpty; }
  bool is_full() const { return error_ == ChannelError::kFull; }
  bool is_closed() const { return error_ == ChannelError::kClosed; }
  bool is_lagged() const { return error_ == ChannelError::kLagged; }
  // broadcast recv: how many values were skipped (kLagged).
  std::uint64_t lagged() const { return is_lagged() ? count_ : 0; }
  // broadcast send: how many receivers were subscribed when the value was sent.
  std::uint64_t receivers() const { return count_; }

  // The value: received (ok) or given back (failed send). Aborts when there is none.
  bool has_value() const { return value_.has_value(); }
  T& value() & {
    if (!value_) std::abort();
    return *value_;
  }
  const T& value() const& {
    if (!value_) std::abort();
    return *value_;
  }
  T take_value() {
    if (!value_) std::abort();
    T v = std::move(*value_);
    value_.reset();
    return v;
  }

  // OK, or an error status naming the operation: kEmpty/kFull → UNAVAILABLE, kClosed →
  // FAILED_PRECONDITION, kLagged → DATA_LOSS.
  absl::Status status() const;

 private:
  ChannelResult(ChannelError e, const char* what, std::uint64_t count)
      : error_(e), what_(what), count_(count) {}

  ChannelError error_;
  const char* what_;
  std::uint64_t count_;
  std::optional<T> value_;
};

namespace channel_detail {
absl::Status error_status(ChannelError e, const char* what, std::uint64_t count);
}  // namespace channel_detail

template <class T>
absl::Status ChannelResult<T>::status() const {
  if (ok()) return absl::OkStatus();
  return channel_detail::error_status(error_, what_, count_);
}

}  // namespace keel::sync

namespace keel::sync::channel_detail {

// An intrusive FIFO list through `prev`/`next` members. Not synchronized.
template <class W>
class WaiterList {
 public:
  bool empty() const { return head_ == nullptr; }
  W* front() const { return head_; }
  void push_back(W* w) {
    w->prev = tail_;
    w->next = nullptr;
    if (tail_) {
      tail_->next = w;
    } else {
      head_ = w;
    }
    tail_ = w;
  }
  void remove(W* w) {
    if (w->prev) {
      w->prev->next = w->next;
    } else {
      head_ = w->next;
    }
    if (w->next) {
      w->next->prev = w->prev;
    } else {
      tail_ = w->prev;
    }
    w->prev = w->next = nullptr;
  }
  W* pop_front() {
    W* w = head_;
    if (w) remove(w);
    return w;
  }

 private:
  W* head_ = nullptr;
  W* tail_ = nullptr;
};

// Wakers gathered under a lock, woken after it is released. Holds at most kCapacity; a
// caller that fills it releases its lock, wakes, and takes the lock again.
class WakeList {
 public:
  // 32 is Tokio's value: enough for typical fan-outs, small enough to live on the stack.
  static constexpr std::size_t kCapacity = 32;

  WakeList() = default;
  WakeList(const WakeList&) = delete;
  WakeList& operator=(const WakeList&) = delete;
  ~WakeList() { wake_all(); }

  bool full() const { return n_ == kCapacity; }
  void push(Waker w) { wakers_[n_++] = std::move(w); }
  void wake_all() {
    for (std::size_t i = 0; i < n_; ++i) std::move(wakers_[i]).wake();
    n_ = 0;
  }

 private:
  Waker wakers_[kCapacity];
  std::size_t n_ = 0;
};

// One waker slot: registered by a single owner (the one receiver of an mpsc channel), woken
// from any thread.
//
// State machine of `state_` (Tokio's AtomicWaker): kWaiting (idle, the slot may hold a
// waker) → kRegistering (the owner writes the slot) → kWaiting; kWaiting → kWaking (a waker
// takes the slot) → kWaiting. A wake that arrives during registration leaves kWaking set; the
// owner sees it when it finishes and wakes its own task instead (a spurious wake-up at worst).
//
// `armed_` is a hint for the wakers: true from a registration until a waker claims it. The
// owner arms after registering and then re-checks its condition; a waker publishes its event
// and then tests `armed_`; both with seq_cst, so one of them sees the other (no lost wake-up).
class AtomicWaker {
 public:
  AtomicWaker() = default;
  AtomicWaker(const AtomicWaker&) = delete;
  AtomicWaker& operator=(const AtomicWaker&) = delete;

  // Stores `w` and arms. The caller re-checks its condition afterwards with a seq_cst load.
  void register_and_arm(const Waker& w) {
    std::uint32_t prev = kWaiting;
    // ORDERING: acquire sees the slot as the last registration or take() left it.
    if (state_.compare_exchange_strong(prev, kRegistering, std::memory_order_acquire,
                                       std::memory_order_acquire)) {
      if (!waker_.will_wake(w)) waker_ = w;
      std::uint32_t expected = kRegistering;
      // ORDERING: release publishes the slot to the next take(); acquire on failure sees a
      // concurrent waker's flag.
      if (!state_.compare_exchange_strong(expected, kWaiting, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
        // A wake arrived meanwhile (state is kRegistering|kWaking): wake ourselves.
        Waker mine = std::move(waker_);
        // ORDERING: release hands the (now empty) slot back to later registrations.
        state_.store(kWaiting, std::memory_order_release);
        std::move(mine).wake();
      }
    } else {
      // A wake is in progress: it may have taken an old waker; make sure we run again.
      w.wake_by_ref();
    }
    // ORDERING: seq_cst: ordered before the caller's seq_cst re-check of its condition and
    // against the wakers' seq_cst publish-then-test (see the class comment).
    armed_.store(true, std::memory_order_seq_cst);
  }

  // Disarms after the owner found its condition true on its own (saves a wake-up).
  void disarm() {
    // ORDERING: relaxed: a hint only; a waker that still sees true wakes spuriously.
    armed_.store(false, std::memory_order_relaxed);
  }

  // Called after publishing an event with a seq_cst operation: wakes the owner if armed.
  void wake_if_armed() {
    // ORDERING: seq_cst load pairs with register_and_arm's seq_cst store (class comment);
    // the exchange (acq_rel) elects one waker among concurrent ones.
    if (armed_.load(std::memory_order_seq_cst) &&
        armed_.exchange(false, std::memory_order_acq_rel)) {
      wake();
    }
  }

  // Wakes the registered waker, if any, unconditionally.
  void wake() {
    // ORDERING: acq_rel: acquire sees the waker stored by the registration that released it.
    std::uint32_t prev = state_.fetch_or(kWaking, std::memory_order_acq_rel);
    if (prev == kWaiting) {
      Waker w = std::move(waker_);
      // ORDERING: release: the emptied slot is visible to the next registration.
      state_.fetch_and(~kWaking, std::memory_order_release);
      std::move(w).wake();
    }
  }

  // Drops the stored waker (the owner is going away or stops waiting). Owner only.
  void clear() {
    disarm();
    std::uint32_t prev = kWaiting;
    // ORDERING: acquire/release as in register_and_arm.
    if (state_.compare_exchange_strong(prev, kRegistering, std::memory_order_acquire,
                                       std::memory_order_acquire)) {
      Waker old = std::move(waker_);
      // ORDERING: release publishes the empty slot; any flag set meanwhile is dropped (a
      // wake of nobody).
      state_.store(kWaiting, std::memory_order_release);
    }
  }

 private:
  static constexpr std::uint32_t kWaiting = 0;
  static constexpr std::uint32_t kRegistering = 1;
  static constexpr std::uint32_t kWaking = 2;

  keel::detail::Atomic<std::uint32_t> state_{kWaiting};
  keel::detail::Atomic<bool> armed_{false};
  Waker waker_;
};

// Reader-writer spin lock for critical sections of a few instructions (copying one value).
// Readers share; a writer excludes everyone and is preferred (it announces itself first, so
// arriving readers wait behind it). Spins with a pause, then yields the thread: meant for
// sections far shorter than a scheduler quantum.
class RwSpinLock {
 public:
  void lock_shared() {
    for (int spins = 0;; ++spins) {
      // ORDERING: acquire: the reader sees what the last writer wrote before unlock().
      std::uint32_t s = state_.fetch_add(kReader, std::memory_order_acquire);
      if ((s & kWriter) == 0) return;
      // ORDERING: relaxed: undoing our own increment publishes nothing.
      state_.fetch_sub(kReader, std::memory_order_relaxed);
      backoff(spins);
      // ORDERING: relaxed: only a hint before the next attempt.
      while (state_.load(std::memory_order_relaxed) & kWriter) backoff(++spins);
    }
  }
  void unlock_shared() {
    // ORDERING: release: our reads happen before a later writer's writes.
    state_.fetch_sub(kReader, std::memory_order_release);
  }
  void lock() {
    // Writer-preferring: claim the writer bit first (new readers back off), then wait for the
    // readers already inside to leave. A stream of readers cannot starve the writer.
    for (int spins = 0;; ++spins) {
      // ORDERING: acquire: pairs with the previous writer's unlock (release).
      std::uint32_t s = state_.fetch_or(kWriter, std::memory_order_acquire);
      if ((s & kWriter) == 0) break;
      backoff(spins);
    }
    // ORDERING: acquire: pairs with each departing reader's unlock_shared (release), so their
    // reads happen before our writes.
    for (int spins = 0; state_.load(std::memory_order_acquire) != kWriter; ++spins) backoff(spins);
  }
  void unlock() {
    // ORDERING: release publishes the writer's section.
    state_.fetch_and(~kWriter, std::memory_order_release);
  }

 private:
  static constexpr std::uint32_t kWriter = 1;
  static constexpr std::uint32_t kReader = 2;
  // Spins before yielding the thread: ~a microsecond of pauses.
  static constexpr int kSpinsBeforeYield = 64;

  static void backoff(int spins) {
    if (spins < kSpinsBeforeYield) {
      keel::detail::spin_loop_hint();
    } else {
      std::this_thread::yield();
    }
  }

  keel::detail::Atomic<std::uint32_t> state_{0};
};

// Reports a misuse (a moved-from handle, capacity 0) and aborts.
[[noreturn]] void misuse(const char* message);

}  // namespace keel::sync::channel_detail

#endif  // KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_COMMON_H_
