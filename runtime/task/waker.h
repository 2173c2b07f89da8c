// Waker: a counted handle that makes a suspended task (or a branch of `join`/`select`) runnable.
//
// A leaf awaiter stores a Waker where the event source (timer wheel, I/O driver, another
// task's completion) finds it; the source calls `wake()` when the awaited event happens.
// Waking is idempotent and may be spurious: the woken side re-checks its condition.
//
//   Waker w = detail::current_waker();   // inside a leaf's await_suspend
//   ...                                  // later, on any thread:
//   std::move(w).wake();
//
// Thread-safety: a Waker may be copied, woken and destroyed on any thread. One Waker object
// is not itself synchronized (like std::shared_ptr).
#ifndef KEEL_RUNTIME_TASK_WAKER_H_
#define KEEL_RUNTIME_TASK_WAKER_H_

#include <utility>

namespace keel {

// What a Waker points at: a spawned task's header, or a combinator branch.
class Wakeable {
 public:
  // Makes the target runnable; the caller keeps its reference.
  virtual void wake_by_ref() = 0;
  // Makes the target runnable and releases one reference.
  virtual void wake_by_val() { wake_by_ref(); drop_ref(); }
  virtual void add_ref() = 0;
  virtual void drop_ref() = 0;

 protected:
  ~Wakeable() = default;
};

class Waker {
 public:
  Waker() = default;
  // Adopts one reference that the caller already holds.
  static Waker adopt(Wakeable* target) { Waker w; w.target_ = target; return w; }
  // Takes a new reference.
  static Waker clone_from(Wakeable* target) {
    if (target) target->add_ref();
    return adopt(target);
  }

  Waker(const Waker& other) : target_(other.target_) {
    if (target_) target_->add_ref();
  }
  Waker(Waker&& other) noexcept : target_(std::exchange(other.target_, nullptr)) {}
  Waker& operator=(Waker other) noexcept {
    std::swap(target_, other.target_);
    return *this;
  }
  ~Waker() {
    if (target_) target_->drop_ref();
  }

  void wake() && {
    if (Wakeable* t = std::exchange(target_, nullptr)) t->wake_by_val();
  }
  void wake_by_ref() const {
    if (target_) target_->wake_by_ref();
  }
  bool will_wake(const Waker& other) const { return target_ == other.target_; }
  bool will_wake(const Wakeable* other) const { return target_ == other; }
  explicit operator bool() const { return target_ != nullptr; }
  void reset() { Waker().swap(*this); }
  void swap(Waker& other) noexcept { std::swap(target_, other.target_); }

 private:
  Wakeable* target_ = nullptr;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_WAKER_H_
