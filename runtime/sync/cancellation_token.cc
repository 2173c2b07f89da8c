#include "runtime/sync/cancellation_token.h"

namespace keel::sync {

using keel::detail::LockGuard;

namespace detail {

TokenState::TokenState(std::shared_ptr<TokenState> parent) : parent_(std::move(parent)) {
  LockGuard lock(parent_->mu_);
  // ORDERING: relaxed; cancelled_ is written only under parent_->mu_, which we hold.
  if (parent_->cancelled_.load(std::memory_order_relaxed)) {
    // ORDERING: relaxed; nobody else can see this state yet (publishing it to another
    // thread goes through a synchronizing hand-off of the token).
    cancelled_.store(true, std::memory_order_relaxed);
    return;
  }
  parent_->children_.push_back(this);
  ++parent_->child_count_;
  linked_ = true;
}

TokenState::~TokenState() {
  if (parent_ == nullptr) return;
  // Our children hold references to us, so none is left; unlink from the parent (which a
  // concurrent cancel() of the parent may be walking: it holds the parent's lock, so our
  // memory stays valid until it is done with us).
  LockGuard lock(parent_->mu_);
  if (linked_) {
    parent_->children_.remove(this);
    --parent_->child_count_;
  }
}

void TokenState::cancel() {
  WakeList wakes;
  cancel_tree(wakes);
  wakes.wake_all();
}

void TokenState::cancel_tree(WakeList& wakes) {
  LockGuard lock(mu_);
  // ORDERING: relaxed; written only under mu_, which we hold.
  if (cancelled_.load(std::memory_order_relaxed)) return;
  // ORDERING: release; pairs with is_cancelled()'s acquire, so whoever sees the flag sees
  // what preceded cancel().
  cancelled_.store(true, std::memory_order_release);
  while (CancelledWaiter* w = waiters_.pop_front()) {
    wakes.push(std::move(w->waker));
    // ORDERING: release; pairs with the awaiter's acquire in poll_ready. Last access to *w.
    w->fired.store(true, std::memory_order_release);
  }
  // Parent before child: we hold our lock while the children take theirs.
  for (TokenState* c = children_.front(); c != nullptr; c = c->next) c->cancel_tree(wakes);
}

bool TokenState::is_cancelled() const {
  // ORDERING: acquire; pairs with the release store in cancel_tree.
  return cancelled_.load(std::memory_order_acquire);
}

bool TokenState::wait(CancelledWaiter* w, Waker waker) {
  LockGuard lock(mu_);
  // ORDERING: relaxed; written only under mu_ (and the acquire edge comes from the lock).
  if (cancelled_.load(std::memory_order_relaxed)) return false;
  w->waker = std::move(waker);
  // ORDERING: relaxed; read lock-free only after cancel's release store, or under mu_.
  w->fired.store(false, std::memory_order_relaxed);
  waiters_.push_back(w);
  w->queued = true;
  return true;
}

void TokenState::cancel_wait(CancelledWaiter* w) {
  LockGuard lock(mu_);
  // ORDERING: relaxed; fired changes only under mu_.
  if (!w->fired.load(std::memory_order_relaxed)) {
    waiters_.remove(w);
    w->waker.reset();
  }
  w->queued = false;
}

std::size_t TokenState::child_count() const {
  LockGuard lock(mu_);
  return child_count_;
}

Task<void> wait_cancelled(CancellationToken token) { co_await token.cancelled(); }

}  // namespace detail

CancellationToken CancellationToken::child_token() const {
  return CancellationToken(std::make_shared<detail::TokenState>(state_));
}

DropGuard CancellationToken::drop_guard() const { return DropGuard(*this); }

bool CancellationToken::Cancelled::await_suspend(std::coroutine_handle<> h) {
  Waker w = keel::detail::current_waker(await_point.what);
  if (!state_->wait(&node_, std::move(w))) return false;
  keel::detail::park_current(h, this);
  return true;
}

bool CancellationToken::Cancelled::poll_ready() {
  if (!node_.queued) return true;
  // ORDERING: acquire pairs with cancel_tree's release store.
  return node_.fired.load(std::memory_order_acquire);
}

}  // namespace keel::sync
