// Awaiters shared by the bounded and unbounded mpsc channels: the receiver's recv() and the
// senders' closed().
//
// RecvAwaiter<Chan, T> needs from Chan (receiver-only calls): `recv_ready()` (an item, or closed
// and drained; seq_cst re-check after arming), `try_pop(std::optional<T>&)` and `rx_waker()`.
// It only peeks while waiting and pops in await_resume, so a recv destroyed mid-wait takes
// nothing. It spends one unit of the cooperative budget per completed recv.
//
// Thread-safety: an awaiter belongs to one task.
#ifndef KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_MPSC_AWAITERS_H_
#define KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_MPSC_AWAITERS_H_

#include <coroutine>
#include <cstddef>
#include <optional>
#include <source_location>
#include <utility>

#include "runtime/sync/channel_detail/common.h"
#include "runtime/sync/channel_detail/permits.h"
#include "runtime/task/context.h"
#include "runtime/task/coop_leaf.h"

namespace keel::sync::channel_detail {

template <class Chan, class T>
class [[nodiscard]] RecvAwaiter final : public keel::detail::CoopLeaf<RecvAwaiter<Chan, T>> {
 public:
  RecvAwaiter(Chan* chan, const char* what, std::source_location where) : chan_(chan) {
    this->await_point = {what, where};
  }
  RecvAwaiter(const RecvAwaiter&) = delete;
  RecvAwaiter& operator=(const RecvAwaiter&) = delete;
  ~RecvAwaiter() {
    if (registered_) chan_->rx_waker().clear();
  }

  // CoopLeaf's hooks.
  bool ready_now() { return chan_->recv_ready(); }
  bool register_wait() { return arm_and_recheck(); }
  bool poll_ready() override {
    if (chan_->recv_ready()) {
      if (registered_) chan_->rx_waker().disarm();
      return true;
    }
    return !arm_and_recheck();
  }
  std::optional<T> await_resume() {
    std::optional<T> v;
    chan_->try_pop(v);  // empty only when closed and drained
    return v;
  }

 private:
  // Registers and re-checks; true when still not ready (the task may park).
  bool arm_and_recheck() {
    registered_ = true;
    chan_->rx_waker().register_and_arm(this->waker_);
    if (chan_->recv_ready()) {
      chan_->rx_waker().disarm();
      return false;
    }
    return true;
  }

  Chan* chan_;
  bool registered_ = false;
};

// The receiving handle of both mpsc channels (bounded and unbounded differ only in their Chan):
// mpsc::Receiver<T> and mpsc::UnboundedReceiver<T> derive from it. Chan names its handles'
// messages with kRecvWhat and kReceiverMisuse.
template <class Chan, class T>
class MpscReceiver {
 public:
  MpscReceiver() = default;
  explicit MpscReceiver(Chan* c) : chan_(c) {}
  MpscReceiver(MpscReceiver&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  MpscReceiver& operator=(MpscReceiver&& o) noexcept {
    if (this != &o) {
      reset();
      chan_ = std::exchange(o.chan_, nullptr);
    }
    return *this;
  }
  ~MpscReceiver() { reset(); }

  bool valid() const { return chan_ != nullptr; }

  // The next value, or nullopt once closed and drained. Keep the receiver alive meanwhile.
  RecvAwaiter<Chan, T> recv(std::source_location where = std::source_location::current()) {
    return RecvAwaiter<Chan, T>(checked(), Chan::kRecvWhat, where);
  }
  // Never waits: ok (the value), is_empty(), or is_closed() (closed and drained).
  ChannelResult<T> try_recv() {
    Chan* c = checked();
    std::optional<T> v;
    if (c->try_pop(v)) return ChannelResult<T>::success(std::move(*v), "mpsc try_recv");
    if (c->drained()) {
      // A value published just before the last sender left is still ours.
      if (c->try_pop(v)) return ChannelResult<T>::success(std::move(*v), "mpsc try_recv");
      return ChannelResult<T>::failure(ChannelError::kClosed, "mpsc try_recv");
    }
    return ChannelResult<T>::failure(ChannelError::kEmpty, "mpsc try_recv");
  }
  // Refuses new sends (waiting senders fail); values already sent stay receivable.
  void close() { checked()->close_rx(); }
  // Values in flight (a snapshot, includes sends in progress).
  std::size_t len() const { return checked()->len(); }
  bool is_empty() const { return len() == 0; }

 protected:
  Chan* checked() const {
    if (!chan_) misuse(Chan::kReceiverMisuse);
    return chan_;
  }

 private:
  void reset() {
    Chan* c = std::exchange(chan_, nullptr);
    if (!c) return;
    c->close_rx();
    c->rx_waker().clear();
    // Destroy what is buffered now (its permits go back); later arrivals die with the chan.
    std::optional<T> v;
    while (c->try_pop(v)) v.reset();
    c->drop_ref();
  }

  Chan* chan_ = nullptr;
};

// Completes when `notifier` is closed.
class [[nodiscard]] ClosedAwaiter final : public keel::detail::Leaf {
 public:
  ClosedAwaiter(CloseNotifier* notifier, const char* what, std::source_location where)
      : notifier_(notifier) {
    await_point = {what, where};
  }
  ClosedAwaiter(const ClosedAwaiter&) = delete;
  ClosedAwaiter& operator=(const ClosedAwaiter&) = delete;
  ~ClosedAwaiter() {
    if (added_) notifier_->remove(&waiter_);
  }

  bool await_ready() { return notifier_->is_closed(); }
  bool await_suspend(std::coroutine_handle<> h) {
    Waker w = keel::detail::current_waker(await_point.what);
    if (!notifier_->add(&waiter_, w)) return false;
    added_ = true;
    keel::detail::park_current(h, this);
    return true;
  }
  bool poll_ready() override { return notifier_->is_closed(); }
  void await_resume() {}

 private:
  CloseNotifier* notifier_;
  CloseWaiter waiter_;
  bool added_ = false;
};

}  // namespace keel::sync::channel_detail

#endif  // KEEL_RUNTIME_SYNC_CHANNEL_DETAIL_MPSC_AWAITERS_H_
