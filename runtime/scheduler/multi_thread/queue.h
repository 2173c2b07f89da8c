// LocalQueue: a worker's fixed ring of 256 tasks that other workers steal half of.
//
// Single producer (the owning worker pushes and pops), many consumers (stealers). Indices are
// 32-bit and wrap; the ring holds at most kCapacity tasks.
//
//   head_ (64 bits) = [ steal : 32 | real : 32 ]   tail_ (32 bits, written by the owner only)
//
//   real   the next slot to pop; popping (owner) or claiming (a stealer) advances it.
//   steal  equal to real except while a stealer copies tasks out: it then marks the first
//          slot the stealer is still reading, so the owner does not overwrite those slots.
//
// Invariants: tail - steal <= kCapacity (the owner never overwrites unread slots); only one
// steal runs at a time (a stealer that finds steal != real backs off); slots in
// [real, tail) belong to the queue, slots in [steal, real) to the running stealer.
//
// When the ring is full the owner moves half of it plus the new task to the injection queue
// in one lock acquisition (overflow), as Tokio does.
//
// Thread-safety: push/pop only from the owner; steal_into from any other worker.
#ifndef KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_QUEUE_H_
#define KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_QUEUE_H_

#include <cstdint>

#include "runtime/detail/concurrency.h"
#include "runtime/scheduler/inject.h"
#include "runtime/task/header.h"

namespace keel::detail {

class LocalQueue {
 public:
  // 256, as DESIGN.md and Tokio: large enough that a burst of spawns rarely overflows to the
  // shared queue, small enough that stealing half is a short copy.
  static constexpr std::uint32_t kCapacity = 256;
  static constexpr std::uint32_t kMask = kCapacity - 1;

  LocalQueue() {
    for (auto& slot : buffer_) slot.store(nullptr, std::memory_order_relaxed);
  }
  LocalQueue(const LocalQueue&) = delete;
  LocalQueue& operator=(const LocalQueue&) = delete;

  // Tasks in the ring (a snapshot; exact for the owner when no steal runs).
  std::uint32_t len() const {
    // ORDERING: acquire; a metrics/heuristic read.
    auto [steal, real] = unpack(head_.load(std::memory_order_acquire));
    (void)steal;
    return tail_.load(std::memory_order_acquire) - real;
  }
  bool is_empty() const { return len() == 0; }

  // Owner: pushes a task at the back; on a full ring moves half plus `task` to `inject`.
  // Returns true when it overflowed.
  bool push_back(TaskHeader* task, Inject& inject) {
    for (;;) {
      // ORDERING: acquire; sees stealers' progress so we never overwrite a slot being read.
      std::uint64_t head = head_.load(std::memory_order_acquire);
      auto [steal, real] = unpack(head);
      // ORDERING: relaxed; only this thread writes tail_.
      std::uint32_t tail = tail_.load(std::memory_order_relaxed);
      if (tail - steal < kCapacity) {
        // ORDERING: relaxed store of the slot, then release of tail publishes it.
        buffer_[tail & kMask].store(task, std::memory_order_relaxed);
        tail_.store(tail + 1, std::memory_order_release);
        return false;
      }
      if (steal != real) {
        // A stealer is freeing slots right now: hand this one task to the shared queue.
        if (!inject.push(task)) task->drop_ref();
        return true;
      }
      if (push_overflow(task, real, tail, inject)) return true;
      // A stealer claimed tasks meanwhile: there is room now; retry.
    }
  }

  // Owner: pushes at the back if there is room; false (nothing done) when the ring is full.
  bool try_push_back(TaskHeader* task) {
    // ORDERING: acquire; as in push_back.
    auto [steal, real] = unpack(head_.load(std::memory_order_acquire));
    (void)real;
    std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - steal >= kCapacity) return false;
    buffer_[tail & kMask].store(task, std::memory_order_relaxed);
    // ORDERING: release publishes the slot to stealers.
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Owner: pops the oldest task.
  TaskHeader* pop() {
    // ORDERING: acquire; pairs with stealers' release of head_.
    std::uint64_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      auto [steal, real] = unpack(head);
      std::uint32_t tail = tail_.load(std::memory_order_relaxed);
      if (real == tail) return nullptr;
      std::uint32_t next_real = real + 1;
      std::uint64_t next = steal == real ? pack(next_real, next_real) : pack(steal, next_real);
      // ORDERING: acq_rel; the CAS decides between us and a stealer for slot `real`.
      if (head_.compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return buffer_[real & kMask].load(std::memory_order_relaxed);
      }
    }
  }

  // Stealer: moves about half of this queue's tasks into `dst` (the stealer's own queue, which
  // must be empty enough) and returns one of them to run now; null when nothing was taken.
  TaskHeader* steal_into(LocalQueue& dst, std::uint32_t* stolen) {
    *stolen = 0;
    std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
    auto [dst_steal, dst_real] = unpack(dst.head_.load(std::memory_order_acquire));
    (void)dst_real;
    if (dst_tail - dst_steal > kCapacity / 2) return nullptr;  // no room for half of ours

    std::uint32_t n = steal_into2(dst, dst_tail);
    if (n == 0) return nullptr;
    *stolen = n;
    // Keep the last stolen task to run; publish the rest in dst.
    --n;
    std::uint32_t ret_pos = dst_tail + n;
    TaskHeader* ret = dst.buffer_[ret_pos & kMask].load(std::memory_order_relaxed);
    if (n > 0) {
      // ORDERING: release publishes the copied slots to dst's stealers.
      dst.tail_.store(dst_tail + n, std::memory_order_release);
    }
    return ret;
  }

 private:
  static std::uint64_t pack(std::uint32_t steal, std::uint32_t real) {
    return (static_cast<std::uint64_t>(steal) << 32) | real;
  }
  struct Halves {
    std::uint32_t steal;
    std::uint32_t real;
  };
  static Halves unpack(std::uint64_t v) {
    return {static_cast<std::uint32_t>(v >> 32), static_cast<std::uint32_t>(v)};
  }

  bool push_overflow(TaskHeader* task, std::uint32_t head, std::uint32_t tail, Inject& inject) {
    constexpr std::uint32_t kHalf = kCapacity / 2;
    if (tail - head != kCapacity) return false;  // stealers took some: room again
    std::uint64_t expected = pack(head, head);
    // Claim the oldest half. ORDERING: acq_rel; competes with stealers for the same slots.
    if (!head_.compare_exchange_strong(expected, pack(head + kHalf, head + kHalf),
                                       std::memory_order_acq_rel, std::memory_order_relaxed)) {
      return false;
    }
    // Link the claimed half plus the new task and hand them over in one lock acquisition.
    TaskHeader* first = buffer_[head & kMask].load(std::memory_order_relaxed);
    TaskHeader* prev = first;
    for (std::uint32_t i = 1; i < kHalf; ++i) {
      TaskHeader* t = buffer_[(head + i) & kMask].load(std::memory_order_relaxed);
      prev->queue_next = t;
      prev = t;
    }
    prev->queue_next = task;
    if (!inject.push_chain(first, task, kHalf + 1)) {
      // Closed at shutdown: the tasks were all shut down already; drop the queue references.
      for (TaskHeader* t = first; t != nullptr;) {
        TaskHeader* next = t == task ? nullptr : t->queue_next;
        t->drop_ref();
        t = next;
      }
    }
    return true;
  }

  std::uint32_t steal_into2(LocalQueue& dst, std::uint32_t dst_tail) {
    // ORDERING: acquire; pairs with the owner's release of tail_ and other CASes on head_.
    std::uint64_t prev_packed = head_.load(std::memory_order_acquire);
    std::uint64_t next_packed;
    std::uint32_t n;
    for (;;) {
      auto [src_steal, src_real] = unpack(prev_packed);
      std::uint32_t src_tail = tail_.load(std::memory_order_acquire);
      if (src_steal != src_real) return 0;  // another stealer is at work
      n = src_tail - src_real;
      n -= n / 2;  // take the larger half (1 of 1, 1 of 2, 2 of 3, ...)
      if (n == 0) return 0;
      std::uint32_t steal_to = src_real + n;
      next_packed = pack(src_steal, steal_to);
      // ORDERING: acq_rel; claims [real, real+n) while `steal` keeps the owner off them.
      if (head_.compare_exchange_weak(prev_packed, next_packed, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        break;
      }
    }
    auto [first, unused] = unpack(next_packed);
    (void)unused;
    for (std::uint32_t i = 0; i < n; ++i) {
      TaskHeader* t = buffer_[(first + i) & kMask].load(std::memory_order_relaxed);
      dst.buffer_[(dst_tail + i) & kMask].store(t, std::memory_order_relaxed);
    }
    // Release the slots: steal catches up with real.
    prev_packed = next_packed;
    for (;;) {
      auto [steal, real] = unpack(prev_packed);
      (void)steal;
      // ORDERING: acq_rel; release tells the owner the slots are free for reuse.
      if (head_.compare_exchange_weak(prev_packed, pack(real, real), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return n;
      }
    }
  }

  alignas(kCacheLine) Atomic<std::uint64_t> head_{0};
  alignas(kCacheLine) Atomic<std::uint32_t> tail_{0};
  // Slots are atomics so that a stealer reading a slot the owner is rewriting (which the
  // invariants forbid) would show up under TSan rather than pass silently.
  Atomic<TaskHeader*> buffer_[kCapacity];
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_MULTI_THREAD_QUEUE_H_
