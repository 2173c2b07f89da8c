#include "runtime/io/async_fd.h"

#include <unistd.h>

#include <utility>

#include "runtime/io/driver.h"
#include "runtime/scheduler/runtime_core.h"

namespace keel {

ReadinessAwaiter::ReadinessAwaiter(detail::ScheduledIo* io, Interest interest,
                                   std::source_location where)
    : io_(io) {
  waiter_.interest = interest;
  await_point = {interest == Interest::kWritable ? "AsyncFd::writable" : "AsyncFd::readable",
                 where};
}

ReadinessAwaiter::~ReadinessAwaiter() {
  if (added_) io_->remove_waiter(&waiter_);
  if (holds_ref_) io_->drop_ref();
}

bool ReadinessAwaiter::await_ready() {
  if (!detail::coop_has_budget()) return false;
  detail::ReadyEvent ev = io_->readiness(waiter_.interest);
  if (ev.ready == 0 && !ev.shutdown) return false;
  detail::coop_proceed();
  return true;
}

bool ReadinessAwaiter::await_suspend(std::coroutine_handle<> h) {
  // Keep the ScheduledIo alive until this awaiter is destroyed: once suspended, we may be
  // resumed (or destroyed) after the AsyncFd was dropped and the driver released its record.
  if (!holds_ref_) {
    io_->add_ref();
    holds_ref_ = true;
  }
  waiter_.waker = detail::current_waker(await_point.what);
  if (!detail::coop_has_budget()) {
    // Out of budget: yield even if ready; poll_ready() sees the readiness on the next poll.
    added_ = io_->add_waiter(&waiter_);
    Waker self = added_ ? detail::current_waker(await_point.what) : std::move(waiter_.waker);
    detail::park_current(h, this);
    self.wake_by_ref();
    return true;
  }
  if (!io_->add_waiter(&waiter_)) {
    waiter_.waker.reset();
    return false;  // became ready meanwhile
  }
  added_ = true;
  detail::park_current(h, this);
  return true;
}

bool ReadinessAwaiter::poll_ready() {
  // ORDERING: acquire pairs with the driver's release when it unlinked and woke us.
  if (waiter_.notified.load(std::memory_order_acquire)) return true;
  detail::ReadyEvent ev = io_->readiness(waiter_.interest);
  return ev.ready != 0 || ev.shutdown;
}

ReadyGuard ReadinessAwaiter::await_resume() {
  if (added_) {
    io_->remove_waiter(&waiter_);
    added_ = false;
  }
  return ReadyGuard(io_, io_->readiness(waiter_.interest));
}

absl::StatusOr<AsyncFd> AsyncFd::create(int fd) {
  detail::RuntimeCore& core = detail::require_core("keel::AsyncFd::create");
  absl::StatusOr<detail::ScheduledIo*> io = core.driver().register_fd(fd);
  if (!io.ok()) {
    close(fd);  // ownership was ours: do not leak the fd on failure
    return io.status();
  }
  return AsyncFd(fd, *io, &core);
}

AsyncFd::AsyncFd(int fd, detail::ScheduledIo* io, detail::RuntimeCore* core)
    : fd_(fd), io_(io), core_(core) {
  core_->add_ref();
}

AsyncFd::AsyncFd(AsyncFd&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      io_(std::exchange(other.io_, nullptr)),
      core_(std::exchange(other.core_, nullptr)) {}

AsyncFd& AsyncFd::operator=(AsyncFd&& other) noexcept {
  if (this != &other) {
    deregister();
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    io_ = std::exchange(other.io_, nullptr);
    core_ = std::exchange(other.core_, nullptr);
  }
  return *this;
}

AsyncFd::~AsyncFd() {
  deregister();
  if (fd_ >= 0) close(fd_);
}

int AsyncFd::release() {
  deregister();
  return std::exchange(fd_, -1);
}

void AsyncFd::deregister() {
  if (io_ == nullptr) return;
  core_->driver().deregister(std::exchange(io_, nullptr));
  std::exchange(core_, nullptr)->drop_ref();
}

}  // namespace keel
