// WaitList and WakeList: the two small helpers behind every waiter queue of keel::sync.
//
// WaitList<T> is a FIFO intrusive doubly linked list threaded through `T::prev` and `T::next`
// (the runtime's IntrusiveList only pushes at the front; sync queues need FIFO order).
// WakeList collects the Wakers of the waiters released under a primitive's lock so that they
// are woken after the lock is dropped (a woken task must not find the lock still held, and
// waking never runs under a sync primitive's lock).
//
//   WakeList wakes;
//   {
//     LockGuard lock(mu_);
//     while (Waiter* w = list_.pop_front()) {
//       wakes.push(std::move(w->waker));
//       // ORDERING: release; the waiter's acquire load sees our writes. Last touch of w.
//       w->state.store(kDone, std::memory_order_release);
//     }
//   }
//   wakes.wake_all();   // also done by the destructor
//
// Thread-safety: none; owners lock around a WaitList. A WakeList belongs to one thread.
#ifndef KEEL_RUNTIME_SYNC_DETAIL_WAIT_LIST_H_
#define KEEL_RUNTIME_SYNC_DETAIL_WAIT_LIST_H_

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#include "runtime/task/waker.h"

namespace keel::sync::detail {

template <class T>
class WaitList {
 public:
  T* front() const { return head_; }
  bool empty() const { return head_ == nullptr; }

  void push_back(T* node) {
    node->prev = tail_;
    node->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = node;
    } else {
      head_ = node;
    }
    tail_ = node;
  }
  // Unlinks `node`, which must be in this list.
  void remove(T* node) {
    if (node->prev != nullptr) {
      node->prev->next = node->next;
    } else {
      head_ = node->next;
    }
    if (node->next != nullptr) {
      node->next->prev = node->prev;
    } else {
      tail_ = node->prev;
    }
    node->prev = node->next = nullptr;
  }
  T* pop_front() {
    T* node = head_;
    if (node != nullptr) remove(node);
    return node;
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
};

// Wakers to wake once the lock is released. The first kInline need no allocation (a mutex
// hand-off or a notify_one wakes exactly one).
class WakeList {
 public:
  WakeList() = default;
  WakeList(const WakeList&) = delete;
  WakeList& operator=(const WakeList&) = delete;
  ~WakeList() { wake_all(); }

  void push(Waker w) {
    if (size_ < kInline) {
      ::new (static_cast<void*>(slot(size_++))) Waker(std::move(w));
    } else {
      overflow_.push_back(std::move(w));
    }
  }
  void wake_all() {
    for (std::size_t i = 0; i < size_; ++i) {
      std::move(*slot(i)).wake();
      slot(i)->~Waker();
    }
    size_ = 0;
    for (Waker& w : overflow_) std::move(w).wake();
    overflow_.clear();
  }

 private:
  // Enough for the common broadcast (a handful of waiters) without touching the heap.
  static constexpr std::size_t kInline = 8;
  Waker* slot(std::size_t i) { return std::launder(reinterpret_cast<Waker*>(inline_) + i); }
  // Raw storage: a WakeList lives on the stack of every release and notify, and zeroing eight
  // Wakers up front (a `rep stos`) cost more than the wake itself in the ping-pong benchmarks.
  alignas(Waker) unsigned char inline_[kInline * sizeof(Waker)];
  std::size_t size_ = 0;
  std::vector<Waker> overflow_;
};

}  // namespace keel::sync::detail

#endif  // KEEL_RUNTIME_SYNC_DETAIL_WAIT_LIST_H_
