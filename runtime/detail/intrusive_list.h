// IntrusiveList: a doubly linked list threaded through two pointer members of its nodes.
//
// The runtime keeps many lists whose nodes already exist (owned tasks, fd waiters, driver
// registrations, timer wheel slots): linking costs no allocation and unlinking is O(1) given
// the node. The node type names its link members as template arguments, so one node can sit
// in several lists at once.
//
//   struct Waiter { Waiter* prev = nullptr; Waiter* next = nullptr; };
//   IntrusiveList<Waiter, &Waiter::prev, &Waiter::next> list;
//   list.push_front(&w);  ...  list.remove(&w);
//
// Thread-safety: none; owners lock around it.
#ifndef KEEL_RUNTIME_DETAIL_INTRUSIVE_LIST_H_
#define KEEL_RUNTIME_DETAIL_INTRUSIVE_LIST_H_

namespace keel::detail {

template <class T, T* T::*Prev, T* T::*Next>
class IntrusiveList {
 public:
  T* front() const { return head_; }
  bool empty() const { return head_ == nullptr; }
  static T* next(const T* node) { return node->*Next; }

  void push_front(T* node) {
    node->*Prev = nullptr;
    node->*Next = head_;
    if (head_) head_->*Prev = node;
    head_ = node;
  }
  // Unlinks `node`, which must be in this list.
  void remove(T* node) {
    if (node->*Prev) {
      (node->*Prev)->*Next = node->*Next;
    } else {
      head_ = node->*Next;
    }
    if (node->*Next) (node->*Next)->*Prev = node->*Prev;
    node->*Prev = node->*Next = nullptr;
  }
  T* pop_front() {
    T* node = head_;
    if (node) remove(node);
    return node;
  }
  // Detaches the whole list; the nodes stay chained through Next (Prev is left as is).
  T* take_all() {
    T* node = head_;
    head_ = nullptr;
    return node;
  }

 private:
  T* head_ = nullptr;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_DETAIL_INTRUSIVE_LIST_H_
