// TaskList: an intrusive FIFO of tasks linked through TaskHeader::queue_next.
//
// Used for the current_thread run queue, the injection queue and the blocking pool's queue:
// pushing and popping allocate nothing.
//
// Thread-safety: none; owners lock around it.
#ifndef KEEL_RUNTIME_SCHEDULER_TASK_LIST_H_
#define KEEL_RUNTIME_SCHEDULER_TASK_LIST_H_

#include <cstddef>

#include "runtime/task/header.h"

namespace keel::detail {

class TaskList {
 public:
  bool empty() const { return head_ == nullptr; }
  std::size_t size() const { return size_; }

  void push_back(TaskHeader* t) {
    t->queue_next = nullptr;
    if (tail_) {
      tail_->queue_next = t;
    } else {
      head_ = t;
    }
    tail_ = t;
    ++size_;
  }
  // Appends a chain first..last of n tasks already linked through queue_next.
  void push_chain(TaskHeader* first, TaskHeader* last, std::size_t n) {
    last->queue_next = nullptr;
    if (tail_) {
      tail_->queue_next = first;
    } else {
      head_ = first;
    }
    tail_ = last;
    size_ += n;
  }
  void push_front(TaskHeader* t) {
    t->queue_next = head_;
    head_ = t;
    if (tail_ == nullptr) tail_ = t;
    ++size_;
  }
  TaskHeader* pop_front() {
    TaskHeader* t = head_;
    if (t == nullptr) return nullptr;
    head_ = t->queue_next;
    if (head_ == nullptr) tail_ = nullptr;
    t->queue_next = nullptr;
    --size_;
    return t;
  }

 private:
  TaskHeader* head_ = nullptr;
  TaskHeader* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_SCHEDULER_TASK_LIST_H_
