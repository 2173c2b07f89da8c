// IoOp: one non-blocking syscall as a leaf awaiter, the fast path of every socket operation.
//
//   // inside TcpStream::read:
//   return keel::detail::IoOp(io_, Interest::kReadable, "TcpStream::read",
//                             [fd, buf] { return ::recv(fd, buf.data(), buf.size(), 0); });
//   ...
//   ssize_t n = co_await op;   // -1 with errno_ set on failure (never EAGAIN)
//
// Unlike AsyncFd::async_io (a coroutine that loops over readiness awaits), an IoOp allocates
// nothing and runs the syscall inside await_ready when the fd is known ready, so a read that
// finds data completes without suspending and without a frame. When the syscall says EAGAIN,
// the readiness it consumed is cleared (with the tick it was observed at, so newer readiness
// is never lost), and the awaiter links itself as the fd's waiter. When the task is polled
// again, poll_ready() retries the syscall itself: a spurious or stale wake-up (readiness that
// another reader consumed first) re-registers and leaves the task parked, and await_resume
// only ever sees a finished syscall.
//
// `drained(result)` tells the awaiter that a successful syscall emptied the kernel buffer (a
// short stream read, a short write): the readiness is cleared at once, which saves the EAGAIN
// syscall the next operation would otherwise make (Tokio's PollEvented does the same). This is
// safe with edge-triggered epoll: data arriving after the syscall bumps the tick, and a clear
// made with the old tick is then ignored.
//
// Cancellation: destroying a suspended IoOp unlinks its waiter; its syscall either completed
// (then await_resume was called and the result delivered) or never ran, so nothing is lost.
// The op must therefore perform the whole transfer in one syscall, as recv/send/accept do.
//
// Hang-ups are sticky: closed and error bits are never cleared (see scheduled_io.h), so an op
// on an fd that polled as hung up retries its syscall instead of waiting. Register a stream
// socket only once connect(2) has started: an unconnected one polls as hung up (see
// net/detail/socket.h, connect_and_register).
//
// Budget: a ready IoOp spends one unit of the cooperative budget; with the budget spent it
// yields before trying (see task/context.h).
//
// Thread-safety: an IoOp belongs to one task. Its ScheduledIo must stay registered until the
// op completes or is destroyed; a deregistration meanwhile (the socket was dropped by another
// task, or the runtime shut down) completes the op with ECANCELED.
#ifndef KEEL_RUNTIME_IO_IO_OP_H_
#define KEEL_RUNTIME_IO_IO_OP_H_

#include <cerrno>
#include <coroutine>
#include <sys/types.h>
#include <utility>

#include "runtime/io/interest.h"
#include "runtime/io/scheduled_io.h"
#include "runtime/task/context.h"

namespace keel::detail {

// The result of one syscall: value >= 0, or -1 with the errno it failed with.
struct IoResult {
  ssize_t value = -1;
  int error = 0;

  bool ok() const { return value >= 0; }
};

// The default: no result says the buffer was drained.
struct NeverDrained {
  bool operator()(ssize_t) const { return false; }
};

template <class Op, class Drained = NeverDrained>
class [[nodiscard]] IoOp final : public Leaf {
 public:
  IoOp(ScheduledIo* io, Interest interest, const char* what, Op op, Drained drained = {})
      : io_(io), op_(std::move(op)), drained_(std::move(drained)) {
    waiter_.interest = interest;
    await_point.what = what;
  }
  IoOp(const IoOp&) = delete;
  IoOp& operator=(const IoOp&) = delete;
  ~IoOp() {
    if (linked_) io_->remove_waiter(&waiter_);
    if (holds_ref_) io_->drop_ref();
  }

  bool await_ready() {
    if (!coop_has_budget()) return false;
    if (!attempt()) return false;
    coop_proceed();
    return true;
  }

  bool await_suspend(std::coroutine_handle<> h) {
    // Once suspended we may be resumed or destroyed after the socket was dropped and the
    // driver released its record: hold a reference until this awaiter is gone.
    io_->add_ref();
    holds_ref_ = true;
    if (!coop_has_budget()) {
      park_current(h, this);
      current_waker(await_point.what).wake();  // yield; poll_ready() tries on the next poll
      return true;
    }
    if (wait_or_finish()) return false;  // finished while registering: resume at once
    park_current(h, this);
    return true;
  }

  bool poll_ready() override {
    if (done_) return true;
    // ORDERING: acquire pairs with ScheduledIo::wake()'s release of `notified`; after it the
    // waiter is unlinked and ours to reuse.
    if (linked_ && !waiter_.notified.load(std::memory_order_acquire)) {
      // Still linked and not notified: woken by something else (a yield) or not ready yet.
      ReadyEvent ev = io_->readiness(waiter_.interest);
      if (ev.ready == 0 && !ev.shutdown) return false;
      io_->remove_waiter(&waiter_);
    }
    linked_ = false;
    return wait_or_finish();
  }

  IoResult await_resume() {
    if (linked_) {
      io_->remove_waiter(&waiter_);
      linked_ = false;
    }
    return result_;
  }

 private:
  // Tries the syscall if the fd is ready. True when finished (result_ set).
  bool attempt() {
    for (;;) {
      ReadyEvent ev = io_->readiness(waiter_.interest);
      if (ev.shutdown) {
        result_ = IoResult{-1, ECANCELED};
        return done_ = true;
      }
      if (ev.ready == 0) return false;
      errno = 0;
      ssize_t r = static_cast<ssize_t>(op_());
      if (r >= 0) {
        if (drained_(r)) io_->clear_readiness(ev);
        result_ = IoResult{r, 0};
        return done_ = true;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) {
        result_ = IoResult{-1, err};
        return done_ = true;
      }
      io_->clear_readiness(ev);
      // The clear may have been ignored (newer readiness arrived): the loop re-reads.
    }
  }

  // Finishes now, or links the waiter with a fresh waker. True when finished.
  bool wait_or_finish() {
    for (;;) {
      if (attempt()) return true;
      waiter_.waker = current_waker(await_point.what);
      // ORDERING: relaxed; the waiter is unlinked, so no other thread reads it until
      // add_waiter publishes it under the ScheduledIo's lock.
      waiter_.notified.store(false, std::memory_order_relaxed);
      if (io_->add_waiter(&waiter_)) {
        linked_ = true;
        return false;
      }
      waiter_.waker.reset();  // readiness arrived between the attempt and the link: retry
    }
  }

  ScheduledIo* io_;
  Op op_;
  [[no_unique_address]] Drained drained_;
  IoWaiter waiter_;
  IoResult result_;
  bool done_ = false;
  bool linked_ = false;     // waiter_ may be linked (only the driver unlinks it otherwise)
  bool holds_ref_ = false;  // we hold a reference on io_ (taken when suspending)
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_IO_IO_OP_H_
