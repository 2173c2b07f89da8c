// sync::CancellationToken: a shared "please stop" flag that tasks can await, in a tree.
//
//   keel::sync::CancellationToken shutdown;
//   keel::spawn(serve(listener, shutdown));          // copies share one state
//   ...
//   co_await shutdown.cancelled();                   // in serve(): completes once cancelled
//   shutdown.cancel();                               // elsewhere: wakes every awaiter
//
//   keel::sync::CancellationToken child = shutdown.child_token();   // cancelled with parent
//   std::optional<int> r = co_await child.run_until_cancelled(work());  // nullopt if cancelled
//   { auto guard = child.drop_guard(); ... }         // cancels `child` when the scope ends
//
// Semantics (as tokio_util's):
//   - Copies are handles to one shared state; cancel() through any of them cancels it for
//     good, waking every cancelled() awaiter. is_cancelled() never goes back to false.
//   - A child token is cancelled when its parent is (recursively); cancelling a child does not
//     touch the parent. A child created from a cancelled token is born cancelled. A child
//     unlinks from its parent when its last handle goes away, so a long-lived parent with
//     many short-lived children does not grow. A child keeps its parent's state alive.
//   - drop_guard() gives a DropGuard that cancels the token on destruction unless disarm()ed.
//   - run_until_cancelled(task) runs `task` until it finishes (its value) or the token is
//     cancelled (std::nullopt; the task is destroyed at its suspension point). When both are
//     ready at once, cancellation wins. The returned Task owns `task` and a copy of the token.
//
// State: each token state has a lock guarding its waiter list and child list, and an atomic
// `cancelled` flag written only under that lock (false -> true, once). Locks are taken
// parent before child (cancel() walks down holding the parent's lock, which also keeps a child
// whose last handle is dropping alive: its destructor needs the parent's lock to unlink).
// A cancelled() awaiter destroyed mid-wait unlinks itself; there is no hand-off to lose.
//
// Thread-safety: every member of a token from any thread; a token object itself is like a
// std::shared_ptr (copy it per thread). An awaiter belongs to one task.
#ifndef KEEL_RUNTIME_SYNC_CANCELLATION_TOKEN_H_
#define KEEL_RUNTIME_SYNC_CANCELLATION_TOKEN_H_

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <utility>

#include "runtime/detail/concurrency.h"
#include "runtime/sync/detail/wait_list.h"
#include "runtime/task/combinators.h"
#include "runtime/task/context.h"
#include "runtime/task/task.h"
#include "runtime/task/waker.h"

namespace keel::sync {

class CancellationToken;
class DropGuard;

namespace detail {

class CancelledWaiter;

// The shared state of a token and its copies.
class TokenState {
 public:
  TokenState() = default;
  explicit TokenState(std::shared_ptr<TokenState> parent);
  TokenState(const TokenState&) = delete;
  TokenState& operator=(const TokenState&) = delete;
  ~TokenState();  // unlinks from the parent

  void cancel();
  bool is_cancelled() const;
  // Enqueues `w` unless already cancelled; false when cancelled.
  bool wait(CancelledWaiter* w, Waker waker);
  void cancel_wait(CancelledWaiter* w);

  // Number of linked (live, uncancelled-at-creation) children: for tests.
  std::size_t child_count() const;

 private:
  friend class WaitList<TokenState>;
  // Cancels this state and its descendants; `mu_` must not be held.
  void cancel_tree(WakeList& wakes);

  mutable keel::detail::Mutex mu_;
  keel::detail::Atomic<bool> cancelled_{false};  // written under mu_ only
  WaitList<CancelledWaiter> waiters_;              // guarded by mu_
  WaitList<TokenState> children_;                  // guarded by mu_
  std::size_t child_count_ = 0;                    // guarded by mu_
  const std::shared_ptr<TokenState> parent_;
  bool linked_ = false;  // in parent_->children_; guarded by parent_->mu_
  TokenState* prev = nullptr;  // links in parent_->children_, guarded by parent_->mu_
  TokenState* next = nullptr;
};

class CancelledWaiter {
 public:
  Waker waker;                                  // guarded by the state's lock
  keel::detail::Atomic<bool> fired{false};      // false -> true under the lock (release)
  bool queued = false;                          // owned by the awaiting task
  CancelledWaiter* prev = nullptr;              // guarded by the state's lock
  CancelledWaiter* next = nullptr;
};

}  // namespace detail

class CancellationToken {
 public:
  // A new, uncancelled root token.
  CancellationToken() : state_(std::make_shared<detail::TokenState>()) {}

  // Cancels this token and all its descendants; idempotent.
  void cancel() const { state_->cancel(); }
  bool is_cancelled() const { return state_->is_cancelled(); }
  // A token cancelled whenever this one is (and which can be cancelled on its own).
  CancellationToken child_token() const;
  // A guard that cancels this token when destroyed, unless disarmed.
  DropGuard drop_guard() const;

  // The awaiter of cancelled(): completes once the token is cancelled. It holds a reference
  // to the state, so the token it came from may be dropped meanwhile.
  class [[nodiscard]] Cancelled final : public keel::detail::Leaf {
   public:
    Cancelled(std::shared_ptr<detail::TokenState> state, std::source_location where)
        : state_(std::move(state)) {
      await_point = {"CancellationToken::cancelled", where};
    }
    Cancelled(const Cancelled&) = delete;
    Cancelled& operator=(const Cancelled&) = delete;
    ~Cancelled() {
      if (node_.queued) state_->cancel_wait(&node_);
    }
    bool await_ready() const { return state_->is_cancelled(); }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() { node_.queued = false; }
    bool poll_ready() override;

   private:
    std::shared_ptr<detail::TokenState> state_;
    detail::CancelledWaiter node_;
  };

  Cancelled cancelled(std::source_location where = std::source_location::current()) const {
    return Cancelled(state_, where);
  }

  // See the file comment; keeps a copy of the token and owns `task`.
  template <class T>
  Task<std::optional<keel::detail::ValueOrMonostate<T>>> run_until_cancelled(Task<T> task) const;

  // True when both handles share one state.
  friend bool operator==(const CancellationToken& a, const CancellationToken& b) {
    return a.state_ == b.state_;
  }

  // For tests and diagnostics: how many children are linked to this token.
  std::size_t child_count() const { return state_->child_count(); }

 private:
  explicit CancellationToken(std::shared_ptr<detail::TokenState> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::TokenState> state_;
};

// Cancels its token when destroyed, unless disarm() was called. Movable.
class [[nodiscard]] DropGuard {
 public:
  explicit DropGuard(CancellationToken token) : token_(std::move(token)) {}
  DropGuard(DropGuard&& o) noexcept : token_(o.token_), armed_(std::exchange(o.armed_, false)) {}
  DropGuard& operator=(DropGuard&&) = delete;
  DropGuard(const DropGuard&) = delete;
  DropGuard& operator=(const DropGuard&) = delete;
  ~DropGuard() {
    if (armed_) token_.cancel();
  }
  // Gives up cancelling and returns the token.
  CancellationToken disarm() {
    armed_ = false;
    return token_;
  }

 private:
  CancellationToken token_;
  bool armed_ = true;
};

namespace detail {
Task<void> wait_cancelled(CancellationToken token);
}  // namespace detail

// Free form of CancellationToken::run_until_cancelled (takes both by value).
template <class T>
Task<std::optional<keel::detail::ValueOrMonostate<T>>> run_until_cancelled(CancellationToken token,
                                                                           Task<T> task) {
  if (token.is_cancelled()) co_return std::nullopt;
  Task<void> waiter = detail::wait_cancelled(token);
  // Index 0 (cancellation) wins when both are ready in the same poll.
  auto either = select(std::move(waiter), std::move(task));
  auto r = co_await either;
  if (r.index() == 0) co_return std::nullopt;
  co_return std::move(std::get<1>(r));
}

template <class T>
Task<std::optional<keel::detail::ValueOrMonostate<T>>> CancellationToken::run_until_cancelled(
    Task<T> task) const {
  return sync::run_until_cancelled(*this, std::move(task));
}

}  // namespace keel::sync

#endif  // KEEL_RUNTIME_SYNC_CANCELLATION_TOKEN_H_
