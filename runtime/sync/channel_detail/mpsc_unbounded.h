// keel::sync::mpsc::unbounded_channel: included by runtime/sync/mpsc.h (see there for the API).
//
//   auto [tx, rx] = keel::sync::mpsc::unbounded_channel<Event>();
//   mpsc::SendResult<Event> r = tx.send(ev);   // never waits; is_closed() gives ev back
//   std::optional<Event> e = co_await rx.recv();
//
// Design: senders append to a shared vector under a mutex (a push_back: no allocation once the
// vector has grown); the receiver swaps the whole vector with its private one when the latter
// runs dry, so it takes the lock once per batch, not per value. The receiver parks on an
// AtomicWaker that senders only touch when it is armed (the mutex orders the receiver's
// arm-then-recheck against a sender's push-then-test).
//
// Invariants: once the receiver closed, no value is appended (senders check under the mutex);
// once the sender count is 0, no value is appended (a sender appends before it drops).
//
// Thread-safety: as for the bounded channel.
#ifndef KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_MPSC_UNBOUNDED_H_
#define KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_MPSC_UNBOUNDED_H_

#include <cstddef>
#include <optional>
#include <source_location>
#include <utility>
#include <vector>

#include "runtime/detail/concurrency.h"
#include "runtime/sync/channel_detail/common.h"
#include "runtime/sync/channel_detail/mpsc_awaiters.h"
#include "runtime/sync/channel_detail/permits.h"

namespace keel::sync::mpsc {

template <class T>
using SendResult = ChannelResult<T>;

namespace detail {

template <class T>
class UnboundedChan {
 public:
  // Names in the UnboundedReceiver's messages (see channel_detail::MpscReceiver).
  static constexpr const char* kRecvWhat = "mpsc::UnboundedReceiver::recv";
  static constexpr const char* kReceiverMisuse = "mpsc UnboundedReceiver used after move";

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
    // ORDERING: seq_cst: release orders our sends before the receiver's closed check; seq_cst
    // against its arm-then-recheck (see AtomicWaker).
    if (senders_.fetch_sub(1, std::memory_order_seq_cst) == 1) rx_waker_.wake_if_armed();
    drop_ref();
  }

  // False (value untouched) when the receiver closed.
  bool push(T& value) {
    {
      keel::detail::LockGuard lock(mu_);
      if (rx_closed_) return false;
      incoming_.push_back(std::move(value));
      // ORDERING: relaxed: a hint for len(); the mutex orders the data.
      count_.fetch_add(1, std::memory_order_relaxed);
    }
    // The mutex release/acquire pairs with the receiver's locked re-check (file comment).
    rx_waker_.wake_if_armed();
    return true;
  }

  // Receiver only.
  bool try_pop(std::optional<T>& out) {
    if (pos_ == local_.size() && !refill()) return false;
    out.emplace(std::move(local_[pos_]));
    ++pos_;
    // ORDERING: relaxed: a hint for len().
    count_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }
  bool recv_ready() {
    if (pos_ < local_.size() || refill()) return true;
    return drained();
  }
  // Receiver only, with nothing local: whether nothing can arrive any more.
  bool drained() {
    // ORDERING: seq_cst: pairs with drop_sender; the re-check below sees a value appended
    // before the last drop.
    bool no_senders = senders_.load(std::memory_order_seq_cst) == 0;
    keel::detail::LockGuard lock(mu_);
    return (no_senders || rx_closed_) && incoming_.empty();
  }
  void close_rx() {
    {
      keel::detail::LockGuard lock(mu_);
      rx_closed_ = true;
    }
    tx_closed_.close();
  }
  bool rx_closed() {
    keel::detail::LockGuard lock(mu_);
    return rx_closed_;
  }
  std::size_t len() const {
    // ORDERING: relaxed: a snapshot.
    return count_.load(std::memory_order_relaxed);
  }

  channel_detail::AtomicWaker& rx_waker() { return rx_waker_; }
  channel_detail::CloseNotifier& tx_closed() { return tx_closed_; }

 private:
  bool refill() {
    local_.clear();
    pos_ = 0;
    keel::detail::LockGuard lock(mu_);
    local_.swap(incoming_);
    return !local_.empty();
  }

  keel::detail::Atomic<std::size_t> refs_{2};
  keel::detail::Atomic<std::size_t> senders_{1};
  keel::detail::Atomic<std::size_t> count_{0};
  channel_detail::AtomicWaker rx_waker_;
  channel_detail::CloseNotifier tx_closed_;
  keel::detail::Mutex mu_;
  std::vector<T> incoming_;  // under mu_
  bool rx_closed_ = false;   // under mu_
  std::vector<T> local_;     // receiver only
  std::size_t pos_ = 0;      // receiver only
};

}  // namespace detail

template <class T>
class UnboundedSender {
 public:
  UnboundedSender() = default;
  explicit UnboundedSender(detail::UnboundedChan<T>* c) : chan_(c) {}
  UnboundedSender(const UnboundedSender& o) : chan_(o.chan_) {
    if (chan_) chan_->add_sender();
  }
  UnboundedSender(UnboundedSender&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  UnboundedSender& operator=(UnboundedSender o) noexcept {
    std::swap(chan_, o.chan_);
    return *this;
  }
  ~UnboundedSender() {
    if (chan_) chan_->drop_sender();
  }

  bool valid() const { return chan_ != nullptr; }
  // Never waits: ok, or is_closed() with the value given back when the receiver closed.
  SendResult<T> send(T value) {
    if (checked()->push(value)) return SendResult<T>::success_empty("mpsc unbounded send");
    return SendResult<T>::failure(ChannelError::kClosed, std::move(value), "mpsc unbounded send");
  }
  bool is_closed() const { return chan_ == nullptr || chan_->tx_closed().is_closed(); }
  channel_detail::ClosedAwaiter closed(std::source_location where = std::source_location::current()) {
    return channel_detail::ClosedAwaiter(&checked()->tx_closed(), "mpsc::UnboundedSender::closed",
                                         where);
  }
  bool same_channel(const UnboundedSender& o) const { return chan_ == o.chan_; }

 private:
  detail::UnboundedChan<T>* checked() const {
    if (!chan_) channel_detail::misuse("mpsc UnboundedSender used after move");
    return chan_;
  }
  detail::UnboundedChan<T>* chan_ = nullptr;
};

template <class T>
class UnboundedReceiver : public channel_detail::MpscReceiver<detail::UnboundedChan<T>, T> {
 public:
  using channel_detail::MpscReceiver<detail::UnboundedChan<T>, T>::MpscReceiver;
};

template <class T>
std::pair<UnboundedSender<T>, UnboundedReceiver<T>> unbounded_channel() {
  auto* c = new detail::UnboundedChan<T>();
  return {UnboundedSender<T>(c), UnboundedReceiver<T>(c)};
}

}  // namespace keel::sync::mpsc

#endif  // KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_MPSC_UNBOUNDED_H_
