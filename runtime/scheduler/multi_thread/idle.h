// Idle: which workers sleep and how many search for work, so that wake-ups neither stampede
// nor get lost.
//
//   state_ = [ unparked : 32 | searching : 32 ]
//
// A worker that runs out of local work becomes a *searcher* (tries to steal) only while fewer
// than half of the workers search, so idle workers do not all hammer the same victims. When
// work is queued and nobody searches, notify_parked() wakes one sleeper, which starts out
// searching. The last searcher to find work wakes another (so queued work always has a
// searcher); the last searcher to park re-checks every queue first.
//
// Invariants: searching <= unparked <= workers; a worker is in `sleepers_` iff it counted
// itself out of `unparked`.
//
// Thread-safety: all methods are safe from any thread.
#ifndef KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_IDLE_H_
#define KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_IDLE_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/detail/concurrency.h"

namespace keel::detail {

class Idle {
 public:
  explicit Idle(std::size_t workers)
      : workers_(static_cast<std::uint32_t>(workers)), state_(pack(0, workers_)) {
    sleepers_.reserve(workers);
  }

  // The worker to wake for newly queued work, if one should be woken.
  std::optional<std::size_t> worker_to_notify() {
    if (!should_notify()) return std::nullopt;
    LockGuard lock(mu_);
    if (!should_notify()) return std::nullopt;
    // One more unparked, and it starts out searching.
    // ORDERING: acq_rel; under mu_, which orders it with other sleepers-list changes.
    state_.fetch_add(pack(1, 1), std::memory_order_acq_rel);
    std::size_t w = sleepers_.back();
    sleepers_.pop_back();
    return w;
  }

  // A worker with no work wants to steal; false when enough workers already search.
  bool transition_to_searching() {
    // ORDERING: seqcst-free heuristic; acquire keeps the counts current enough.
    std::uint64_t s = state_.load(std::memory_order_acquire);
    if (2 * searching(s) >= workers_) return false;
    // ORDERING: acq_rel; pairs with the decrement in transition_from_searching.
    state_.fetch_add(pack(1, 0), std::memory_order_acq_rel);
    return true;
  }

  // A searcher found work (or gave up); true when it was the last searcher.
  bool transition_from_searching() {
    // ORDERING: acq_rel; whoever sees the count reach zero acts on it.
    std::uint64_t prev = state_.fetch_sub(pack(1, 0), std::memory_order_acq_rel);
    return searching(prev) == 1;
  }

  // The worker goes to sleep; true when it was the last searcher (it must then re-check the
  // queues so that no work is stranded).
  bool transition_to_parked(std::size_t worker, bool is_searching) {
    LockGuard lock(mu_);
    std::uint64_t dec = pack(is_searching ? 1 : 0, 1);
    // ORDERING: acq_rel; under mu_.
    std::uint64_t prev = state_.fetch_sub(dec, std::memory_order_acq_rel);
    sleepers_.push_back(worker);
    return is_searching && searching(prev) == 1;
  }

  // The worker woke up on its own (I/O, timer, its queue got work): take it off the list.
  // False when someone already did (it was notified).
  bool unpark_worker_by_id(std::size_t worker) {
    LockGuard lock(mu_);
    auto it = std::find(sleepers_.begin(), sleepers_.end(), worker);
    if (it == sleepers_.end()) return false;
    sleepers_.erase(it);
    // ORDERING: acq_rel; under mu_.
    state_.fetch_add(pack(0, 1), std::memory_order_acq_rel);
    return true;
  }

  bool is_parked(std::size_t worker) {
    LockGuard lock(mu_);
    return std::find(sleepers_.begin(), sleepers_.end(), worker) != sleepers_.end();
  }

  std::uint32_t num_unparked() const { return unparked(state_.load(std::memory_order_acquire)); }
  std::uint32_t num_searching() const {
    return searching(state_.load(std::memory_order_acquire));
  }

 private:
  static std::uint64_t pack(std::uint32_t searching, std::uint32_t unparked) {
    return (static_cast<std::uint64_t>(unparked) << 32) | searching;
  }
  static std::uint32_t searching(std::uint64_t s) { return static_cast<std::uint32_t>(s); }
  static std::uint32_t unparked(std::uint64_t s) { return static_cast<std::uint32_t>(s >> 32); }

  bool should_notify() const {
    // ORDERING: acquire; pairs with the acq_rel updates.
    std::uint64_t s = state_.load(std::memory_order_acquire);
    return searching(s) == 0 && unparked(s) < workers_;
  }

  const std::uint32_t workers_;
  Atomic<std::uint64_t> state_;
  Mutex mu_;
  std::vector<std::size_t> sleepers_;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_IDLE_H_
