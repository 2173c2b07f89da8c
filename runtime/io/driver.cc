#include "runtime/io/driver.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace keel::detail {
namespace {

// Events fetched per epoll_wait: enough that a burst of ready sockets costs one syscall per
// 1024, small enough (12 KiB) to keep in cache.
constexpr int kMaxEvents = 1024;

std::uint32_t to_ready(std::uint32_t events) {
  std::uint32_t ready = 0;
  if (events & (EPOLLIN | EPOLLPRI)) ready |= Ready::kReadable;
  if (events & EPOLLOUT) ready |= Ready::kWritable;
  if (events & EPOLLRDHUP) ready |= Ready::kReadClosed;
  if (events & EPOLLHUP) ready |= Ready::kReadClosed | Ready::kWriteClosed;
  if (events & EPOLLERR) ready |= Ready::kError;
  return ready;
}

int timeout_ms(std::optional<Duration> timeout) {
  if (!timeout) return -1;
  if (*timeout <= Duration::zero()) return 0;
  // Round up: waking a little late is fine, waking early spins.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*timeout).count();
  return ms > 24 * 3600 * 1000 ? 24 * 3600 * 1000 : static_cast<int>(ms);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Driver>> Driver::create(DriverOptions options) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  int ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ev < 0) {
    int err = errno;
    close(ep);
    return absl::ErrnoToStatus(err, "eventfd");
  }
  epoll_event e{};
  e.events = EPOLLIN | EPOLLET;
  e.data.ptr = nullptr;  // the eventfd is the only registration with a null pointer
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) < 0) {
    int err = errno;
    close(ev);
    close(ep);
    return absl::ErrnoToStatus(err, "epoll_ctl(ADD eventfd)");
  }
  return std::unique_ptr<Driver>(new Driver(options, ep, ev));
}

Driver::Driver(DriverOptions options, int epoll_fd, int event_fd)
    : options_(options),
      epoll_fd_(epoll_fd),
      event_fd_(event_fd),
      time_(options.start_paused),
      events_(kMaxEvents) {}

Driver::~Driver() {
  shutdown();
  release_pending();
  // Registrations still listed belong to AsyncFds that outlived the runtime's tasks (they
  // hold the runtime alive, so this only happens to leaked ones): drop the list's references.
  while (ScheduledIo* io = registrations_.pop_front()) io->drop_ref();
  close(event_fd_);
  close(epoll_fd_);
}

std::size_t Driver::park(std::optional<Duration> timeout, bool idle) {
  release_pending();
  std::size_t woken = 0;
  if (options_.enable_time) {
    woken += time_.process();
    if (woken > 0) timeout = Duration::zero();
    std::optional<Instant> next = time_.next_deadline();
    if (next) {
      if (time_.clock().is_paused()) {
        // A paused clock never reaches the deadline by itself. When the runtime is idle and
        // no fd event is pending, jump to the deadline; otherwise wait for events only.
        if (idle && woken == 0) {
          std::size_t events = wait_and_dispatch(Duration::zero());
          if (events > 0) return events;
          time_.clock().advance_to(*next);
          return time_.process();
        }
      } else {
        Duration until = next->duration_since(time_.clock().now());
        if (!timeout || until < *timeout) timeout = until;
      }
    }
  }
  woken += wait_and_dispatch(timeout);
  if (options_.enable_time) woken += time_.process();
  return woken;
}

int Driver::wait(std::optional<Duration> timeout) {
  int ms = timeout_ms(timeout);
  if (ms == 0 || options_.busy_poll <= Duration::zero()) {
    return epoll_wait(epoll_fd_, events_.data(), kMaxEvents, ms);
  }
  // A park that may sleep. Spins are timed by the steady clock, not the runtime's (which may
  // be paused), and end at the caller's timeout, so a due timer is not delayed by them. An
  // unpark() ends one early: its eventfd write is an event like any other. A park cut short
  // by a timer says nothing about the traffic and is not recorded.
  const Duration budget = options_.busy_poll;
  const bool full_budget = !timeout || *timeout >= budget;
  const auto start = std::chrono::steady_clock::now();
  if (busy_poll_.should_spin()) {
    const Duration spin = full_budget ? budget : *timeout;
    const auto give_up = start + spin;
    do {
      int n = epoll_wait(epoll_fd_, events_.data(), kMaxEvents, 0);
      if (n > 0) {
        spins_caught_.add();
        if (full_budget) busy_poll_.record(true);
      }
      if (n != 0) return n;
    } while (std::chrono::steady_clock::now() < give_up);
    spins_missed_.add();
    if (full_budget) busy_poll_.record(false);
    if (timeout) {
      ms = timeout_ms(*timeout - spin);
      if (ms == 0) return 0;
    }
    return epoll_wait(epoll_fd_, events_.data(), kMaxEvents, ms);
  }
  // Not spinning: time the sleep. An event within the budget is one a spin would have caught.
  int n = epoll_wait(epoll_fd_, events_.data(), kMaxEvents, ms);
  if (n >= 0 && full_budget) {
    busy_poll_.record(n > 0 && std::chrono::steady_clock::now() - start <= budget);
  }
  return n;
}

std::size_t Driver::wait_and_dispatch(std::optional<Duration> timeout) {
  int n = wait(timeout);
  if (n < 0 && errno != EINTR) {
    // epoll_wait on our own valid fd only fails on EINTR; anything else is a bug.
    std::fprintf(stderr, "keel: epoll_wait: %s\n", std::strerror(errno));
    std::abort();
  }
  std::size_t woken = 0;
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events_[static_cast<std::size_t>(i)];
    auto* io = static_cast<ScheduledIo*>(ev.data.ptr);
    if (io == nullptr) {
      // One read empties an eventfd counter.
      std::uint64_t value;
      ssize_t r = read(event_fd_, &value, sizeof value);
      (void)r;
      // ORDERING: release; a later unpark() must write again (its exchange sees false).
      unpark_pending_.store(false, std::memory_order_release);
      continue;
    }
    io->on_event(to_ready(ev.events));
    ++woken;
  }
  if (n > 0) {
    // ORDERING: relaxed; a metrics counter.
    io_events_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
  }
  return woken;
}

void Driver::unpark() {
  // ORDERING: acq_rel; only the first of many concurrent unparks pays for the syscall. The
  // parked thread clears the flag after draining the eventfd, so no wake-up is lost: either
  // our write lands after its drain (it wakes again), or it had not drained yet (it is awake).
  if (unpark_pending_.exchange(true, std::memory_order_acq_rel)) return;
  std::uint64_t one = 1;
  ssize_t r = write(event_fd_, &one, sizeof one);
  (void)r;  // EAGAIN means the counter is already non-zero: the driver wakes anyway
}

absl::StatusOr<ScheduledIo*> Driver::register_fd(int fd) {
  if (!options_.enable_io) {
    return absl::FailedPreconditionError(
        "I/O is disabled on this runtime: call enable_io() or enable_all() on the Builder");
  }
  auto* io = new ScheduledIo(fd);
  {
    LockGuard lock(reg_mu_);
    if (shut_down_) {
      delete io;
      return absl::CancelledError("register fd: the runtime is shutting down");
    }
    registrations_.push_front(io);
    ++registered_;
  }
  epoll_event e{};
  e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
  e.data.ptr = io;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e) < 0) {
    int err = errno;
    {
      LockGuard lock(reg_mu_);
      registrations_.remove(io);
      --registered_;
    }
    delete io;
    return absl::ErrnoToStatus(err, absl::StrCat("epoll_ctl(ADD fd ", fd, ")"));
  }
  io->add_ref();  // one for the caller, one for the registration list
  return io;
}

void Driver::deregister(ScheduledIo* io) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, io->fd(), nullptr);
  io->shutdown();
  {
    LockGuard lock(reg_mu_);
    // Still listed unless shutdown() or a previous deregister took it off.
    if (io->reg_prev != nullptr || registrations_.front() == io) {
      registrations_.remove(io);
      --registered_;
      // An epoll_wait in progress may still return an event naming `io`: release the list's
      // reference only at the start of the next turn.
      pending_release_.push_back(io);
    }
  }
  io->drop_ref();  // the caller's
}

void Driver::release_pending() {
  std::vector<ScheduledIo*> release;
  {
    LockGuard lock(reg_mu_);
    release.swap(pending_release_);
  }
  for (ScheduledIo* io : release) io->drop_ref();
}

void Driver::shutdown() {
  std::vector<ScheduledIo*> all;
  {
    LockGuard lock(reg_mu_);
    shut_down_ = true;
    for (ScheduledIo* io = registrations_.front(); io != nullptr; io = registrations_.next(io)) {
      io->add_ref();
      all.push_back(io);
    }
  }
  for (ScheduledIo* io : all) {
    io->shutdown();
    io->drop_ref();
  }
}

std::size_t Driver::registered_fds() const {
  LockGuard lock(reg_mu_);
  return registered_;
}

bool Driver::register_timer(TimerHandle* handle, Instant deadline) {
  bool earlier = false;
  if (!time_.register_timer(handle, deadline, &earlier)) return false;
  if (earlier) unpark();
  return true;
}

}  // namespace keel::detail
