// ScheduledIo: the driver's record of one registered file descriptor.
//
// It holds the fd's readiness and the tasks waiting on it:
//
//   readiness_ (one atomic word):  bits 0..4   Ready bits (readable, writable, closed, error)
//                                  bits 16..31 tick: bumped by every driver event, so that
//                                              clear_readiness() never clears readiness that
//                                              arrived after the caller observed it
//                                  bit 32      shutdown (deregistered or driver gone)
//
// Protocol (edge-triggered epoll): an operation tries its syscall first; on EAGAIN it clears
// the readiness it consumed (with the tick it saw) and waits. The driver ORs new readiness
// into the word and then wakes matching waiters under `mu_`; a waiter re-checks readiness
// under `mu_` before linking itself, so no event is lost between its check and its wait.
//
// Lifetime: counted; the driver's registration set holds one reference, each AsyncFd one.
// A deregistered ScheduledIo is released by the driver at the start of its next turn, never
// while an epoll event that names it may still be dispatched.
//
// Thread-safety: all methods are safe from any thread.
#ifndef KEEL_RUNTIME_IO_SCHEDULED_IO_H_
#define KEEL_RUNTIME_IO_SCHEDULED_IO_H_

#include <cstdint>

#include "runtime/detail/concurrency.h"
#include "runtime/detail/intrusive_list.h"
#include "runtime/io/interest.h"
#include "runtime/task/waker.h"

namespace keel::detail {

// A readiness observation: the bits seen and the tick they were seen at.
struct ReadyEvent {
  std::uint32_t ready = 0;
  std::uint32_t tick = 0;
  bool shutdown = false;
};

// One task waiting for readiness; owned by the waiting awaiter, linked while it waits.
struct IoWaiter {
  Interest interest = Interest::kReadable;
  Waker waker;
  IoWaiter* prev = nullptr;
  IoWaiter* next = nullptr;
  bool linked = false;
  Atomic<bool> notified{false};
};

class ScheduledIo {
 public:
  explicit ScheduledIo(int fd) : fd_(fd) {}

  int fd() const { return fd_; }

  ReadyEvent readiness(Interest interest) const;
  // Called by the driver for an epoll event: ORs `ready` in, bumps the tick, wakes waiters.
  void on_event(std::uint32_t ready);
  // Clears the observed readiness, unless newer readiness arrived since (tick mismatch).
  // Closed and error bits are never cleared.
  void clear_readiness(ReadyEvent event);
  // Marks shutdown and wakes every waiter (deregistration or driver shutdown).
  void shutdown();

  // Links the waiter unless readiness for it is already there (then returns false).
  bool add_waiter(IoWaiter* waiter);
  void remove_waiter(IoWaiter* waiter);

  void add_ref() {
    // ORDERING: relaxed; a reference is made from an existing one.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_ref() {
    // ORDERING: acq_rel; the last owner sees all writes before deleting.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // The driver's intrusive registration list (guarded by the driver's lock).
  ScheduledIo* reg_prev = nullptr;
  ScheduledIo* reg_next = nullptr;

 private:
  static constexpr std::uint64_t kReadyMask = 0x1f;
  static constexpr int kTickShift = 16;
  static constexpr std::uint64_t kTickMask = std::uint64_t{0xffff} << kTickShift;
  static constexpr std::uint64_t kShutdown = std::uint64_t{1} << 32;

  void wake(std::uint32_t ready);

  const int fd_;
  Atomic<std::uint64_t> readiness_{0};
  Atomic<std::uint32_t> refs_{1};
  Mutex mu_;
  IntrusiveList<IoWaiter, &IoWaiter::prev, &IoWaiter::next> waiters_;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_IO_SCHEDULED_IO_H_
