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
#include <optional>
#include <source_location>

#include "runtime/sync/channel_detail/common.h"
#include "runtime/sync/channel_detail/permits.h"
#include "runtime/task/context.h"

namespace keel::sync::channel_detail {

template <class Chan, class T>
class [[nodiscard]] RecvAwaiter final : public keel::detail::Leaf {
 public:
  RecvAwaiter(Chan* chan, const char* what, std::source_location where) : chan_(chan) {
    await_point = {what, where};
  }
  RecvAwaiter(const RecvAwaiter&) = delete;
  RecvAwaiter& operator=(const RecvAwaiter&) = delete;
  ~RecvAwaiter() {
    if (registered_) chan_->rx_waker().clear();
  }

  bool await_ready() {
    if (!keel::detail::coop_has_budget()) return false;
    if (!chan_->recv_ready()) return false;
    keel::detail::coop_proceed();
    return true;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    waker_ = keel::detail::current_waker(await_point.what);
    if (!keel::detail::coop_has_budget()) {
      keel::detail::park_current(h, this);
      waker_.wake_by_ref();  // yield first; poll_ready registers if still empty
      return true;
    }
    if (!arm_and_recheck()) return false;
    keel::detail::park_current(h, this);
    return true;
  }
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
    chan_->rx_waker().register_and_arm(waker_);
    if (chan_->recv_ready()) {
      chan_->rx_waker().disarm();
      return false;
    }
    return true;
  }

  Chan* chan_;
  Waker waker_;
  bool registered_ = false;
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
