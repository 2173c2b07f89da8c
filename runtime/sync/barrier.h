// sync::Barrier: lets n tasks wait for each other, generation after generation.
//
//   auto barrier = std::make_shared<keel::sync::Barrier>(3);
//   // in each of 3 tasks:
//   keel::sync::BarrierWaitResult r = co_await barrier->wait();
//   if (r.is_leader()) { ... exactly one task per generation ... }
//
// The n-th arrival of a generation releases the n-1 waiting tasks and returns at once as the
// leader; the barrier then starts the next generation with nobody arrived. A Barrier(0)
// behaves as Barrier(1).
//
// State: under one small lock, the number arrived in the current generation and the FIFO of
// waiting arrivals. Invariant: arrived == the number of queued waiters (< n) between calls.
// A waiter node moves kQueued -> kReleased under the lock; the leader never touches it after.
// Cancellation: a wait() destroyed mid-wait withdraws its arrival (the generation then needs
// one more). One destroyed after its generation was released has nothing to give back.
//
// Thread-safety: any thread and task; the Barrier must outlive its awaiters.
#ifndef KEEL_RUNTIME_SYNC_BARRIER_H_
#define KEEL_RUNTIME_SYNC_BARRIER_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <source_location>

#include "runtime/detail/concurrency.h"
#include "runtime/sync/detail/wait_list.h"
#include "runtime/task/context.h"
#include "runtime/task/waker.h"

namespace keel::sync {

class BarrierWaitResult {
 public:
  explicit BarrierWaitResult(bool leader) : leader_(leader) {}
  // True for exactly one task of each generation (the last to arrive).
  bool is_leader() const { return leader_; }

 private:
  bool leader_;
};

class Barrier {
 public:
  explicit Barrier(std::size_t n) : n_(n == 0 ? 1 : n) {}
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  class [[nodiscard]] Wait final : public keel::detail::Leaf {
   public:
    Wait(Barrier& b, std::source_location where) : barrier_(&b) {
      await_point = {"Barrier::wait", where};
    }
    Wait(const Wait&) = delete;
    Wait& operator=(const Wait&) = delete;
    ~Wait();

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    BarrierWaitResult await_resume() {
      phase_ = Phase::kDone;
      return BarrierWaitResult(leader_);
    }
    bool poll_ready() override;

   private:
    friend class Barrier;
    friend class detail::WaitList<Wait>;
    enum class Phase : std::uint8_t { kIdle, kWaiting, kDone };

    Barrier* barrier_;
    Phase phase_ = Phase::kIdle;
    bool leader_ = false;
    Wait* prev = nullptr;  // queue node, guarded by barrier_->mu_
    Wait* next = nullptr;
    Waker waker_;
    keel::detail::Atomic<std::uint8_t> node_state_{0};
  };

  Wait wait(std::source_location where = std::source_location::current()) {
    return Wait(*this, where);
  }
  std::size_t parties() const { return n_; }

 private:
  static constexpr std::uint8_t kNodeQueued = 1;
  static constexpr std::uint8_t kNodeReleased = 2;

  // Arrives; true when `w` must wait (it was queued), false when it was the leader.
  bool arrive(Wait* w, Waker waker);
  void cancel(Wait* w);

  const std::size_t n_;
  keel::detail::Mutex mu_;
  std::size_t arrived_ = 0;         // guarded by mu_
  std::uint64_t generation_ = 0;    // guarded by mu_
  detail::WaitList<Wait> waiters_;  // guarded by mu_
};

}  // namespace keel::sync

#endif  // KEEL_RUNTIME_SYNC_BARRIER_H_
