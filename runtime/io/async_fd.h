// AsyncFd: makes any non-blocking file descriptor awaitable through the I/O driver.
//
//   absl::StatusOr<keel::AsyncFd> fd = keel::AsyncFd::create(sock);   // takes ownership
//   for (;;) {
//     keel::ReadyGuard ready = co_await fd->readable();
//     ssize_t n = ::read(fd->fd(), buf, sizeof buf);
//     if (n < 0 && errno == EAGAIN) { ready.clear_ready(); continue; }   // consumed: wait again
//     ...
//   }
//
// or, the same loop in one call: `ssize_t n = co_await fd->async_io(Interest::kReadable,
// [&] { return ::read(fd->fd(), buf, sizeof buf); });`
//
// Readiness is edge-triggered: after EAGAIN, call clear_ready() so the next await waits for a
// new edge. clear_ready() never drops readiness that arrived after the guard was taken.
// Dropping the AsyncFd deregisters the fd (waking its waiters with a shutdown guard) and
// closes it; release() deregisters and hands the fd back instead. A waiter in another task
// may finish its await after the drop (a suspended awaiter keeps the driver's record alive),
// but must not touch the AsyncFd once its guard says is_shutdown().
//
// Thread-safety: one reader task and one writer task may await the same AsyncFd at once
// (any number, in fact); the object itself is not copied.
#ifndef KEEL_RUNTIME_IO_ASYNC_FD_H_
#define KEEL_RUNTIME_IO_ASYNC_FD_H_

#include <cerrno>
#include <coroutine>
#include <source_location>
#include <sys/types.h>
#include <utility>

#include "absl/status/statusor.h"
#include "runtime/io/interest.h"
#include "runtime/io/io_op.h"
#include "runtime/io/scheduled_io.h"
#include "runtime/task/context.h"
#include "runtime/task/task.h"

namespace keel {

namespace detail {
class Driver;
class RuntimeCore;
}  // namespace detail

class ReadyGuard {
 public:
  ReadyGuard(detail::ScheduledIo* io, detail::ReadyEvent event) : io_(io), event_(event) {}

  bool is_readable() const { return event_.ready & (Ready::kReadable | Ready::kReadClosed); }
  bool is_writable() const { return event_.ready & (Ready::kWritable | Ready::kWriteClosed); }
  bool is_read_closed() const { return event_.ready & Ready::kReadClosed; }
  bool is_write_closed() const { return event_.ready & Ready::kWriteClosed; }
  bool is_error() const { return event_.ready & Ready::kError; }
  // The fd was deregistered (its AsyncFd dropped, or the runtime shut down).
  bool is_shutdown() const { return event_.shutdown; }
  std::uint32_t ready() const { return event_.ready; }

  // The syscall said EAGAIN: forget this readiness so the next await waits for a new edge.
  // A no-op on a shutdown guard: there is nothing left to wait for, and the AsyncFd (with its
  // driver record) may already be gone.
  void clear_ready() {
    if (!event_.shutdown) io_->clear_readiness(event_);
  }

 private:
  detail::ScheduledIo* io_;
  detail::ReadyEvent event_;
};

class [[nodiscard]] ReadinessAwaiter final : public detail::Leaf {
 public:
  ReadinessAwaiter(detail::ScheduledIo* io, Interest interest, std::source_location where);
  ReadinessAwaiter(const ReadinessAwaiter&) = delete;
  ReadinessAwaiter& operator=(const ReadinessAwaiter&) = delete;
  ~ReadinessAwaiter();

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  ReadyGuard await_resume();
  bool poll_ready() override;

 private:
  detail::ScheduledIo* io_;
  detail::IoWaiter waiter_;
  bool added_ = false;  // whether waiter_ may be linked (only the driver unlinks it otherwise)
  // Whether we hold a reference on io_: taken when suspending, because another task may drop
  // the AsyncFd meanwhile (waking us with a shutdown guard), and the driver then frees its
  // record at its next turn, possibly before we run again.
  bool holds_ref_ = false;
};

class AsyncFd {
 public:
  // Registers `fd` (which must be non-blocking) with the current runtime's driver and takes
  // ownership of it (closing it when registration fails). Fails when I/O is disabled or
  // epoll refuses the fd.
  static absl::StatusOr<AsyncFd> create(int fd);

  AsyncFd(AsyncFd&& other) noexcept;
  AsyncFd& operator=(AsyncFd&& other) noexcept;
  AsyncFd(const AsyncFd&) = delete;
  AsyncFd& operator=(const AsyncFd&) = delete;
  ~AsyncFd();

  int fd() const { return fd_; }
  // Deregisters and returns the fd without closing it.
  int release();

  ReadinessAwaiter readable(std::source_location where = std::source_location::current()) {
    return ReadinessAwaiter(io_, Interest::kReadable, where);
  }
  ReadinessAwaiter writable(std::source_location where = std::source_location::current()) {
    return ReadinessAwaiter(io_, Interest::kWritable, where);
  }
  ReadinessAwaiter ready(Interest interest,
                         std::source_location where = std::source_location::current()) {
    return ReadinessAwaiter(io_, interest, where);
  }

  // One syscall as an allocation-free leaf awaiter (see io/io_op.h): `op` runs when the fd is
  // ready, and again after each EAGAIN and new readiness; `drained(result)` says a successful
  // result emptied the kernel buffer. Await at once; the AsyncFd must outlive the await.
  template <class Op, class Drained = detail::NeverDrained>
  detail::IoOp<Op, Drained> io_op(Interest interest, const char* what, Op op,
                                  Drained drained = {}) {
    return detail::IoOp<Op, Drained>(io_, interest, what, std::move(op), std::move(drained));
  }

  // Runs `op` (a syscall wrapper returning a negative value and setting errno on failure)
  // until it does not fail with EAGAIN/EWOULDBLOCK, waiting for readiness in between. Returns
  // what `op` returned; on shutdown returns -1 with errno = ECANCELED. `op` must stay valid
  // until the returned task finishes (await it at once).
  template <class Op>
  Task<ssize_t> async_io(Interest interest, Op op) {
    for (;;) {
      ReadyGuard guard = co_await ready(interest);
      if (guard.is_shutdown()) {
        errno = ECANCELED;
        co_return -1;
      }
      ssize_t r = static_cast<ssize_t>(op());
      if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) co_return r;
      guard.clear_ready();
    }
  }

 private:
  AsyncFd(int fd, detail::ScheduledIo* io, detail::RuntimeCore* core);
  void deregister();

  int fd_ = -1;
  detail::ScheduledIo* io_ = nullptr;
  // A counted reference: the runtime (and its driver) outlives every AsyncFd.
  detail::RuntimeCore* core_ = nullptr;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_IO_ASYNC_FD_H_
