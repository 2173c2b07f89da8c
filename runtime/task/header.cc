#include "runtime/task/header.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/metrics/slow_poll.h"
#include "runtime/scheduler/scheduler.h"

namespace keel {

using namespace detail::task_state;

namespace detail {

std::uint64_t next_task_id() {
  // Ids come from a global counter in blocks, so that spawning threads do not contend on it.
  constexpr std::uint64_t kBlock = 1024;
  static Atomic<std::uint64_t> next_block{1};
  thread_local std::uint64_t next = 0;
  thread_local std::uint64_t limit = 0;
  if (next == limit) {
    // ORDERING: relaxed; ids only need to be unique, and fetch_add is atomic in any order.
    next = next_block.fetch_add(kBlock, std::memory_order_relaxed);
    limit = next + kBlock;
  }
  return next++;
}

[[noreturn]] void no_poll_context(const char* what) {
  std::fprintf(stderr, "keel: %s awaited outside a task of a Keel runtime\n", what);
  std::abort();
}

Waker current_waker(const char* what) {
  PollContext* cx = current_poll;
  if (cx == nullptr) no_poll_context(what);
  return Waker::clone_from(cx->waker);
}

void park_current(std::coroutine_handle<> h, Leaf* leaf) {
  PollContext* cx = current_poll;
  if (cx == nullptr) no_poll_context(leaf->await_point.what);
  *cx->resume = ResumePoint{h, leaf, cx->locals};
  if (cx->task != nullptr) cx->task->set_waiting_on(leaf->await_point);
}

Waker suspend_leaf(std::coroutine_handle<> h, Leaf* leaf) {
  Waker w = current_waker(leaf->await_point.what);
  park_current(h, leaf);
  return w;
}

}  // namespace detail

TaskHeader::TaskHeader(const TaskVTable* vtable, detail::Scheduler* scheduler,
                       SpawnOptions options, std::source_location spawned_at)
    : vtable_(vtable),
      scheduler_(scheduler),
      id_(detail::next_task_id()),
      spawned_at_(spawned_at) {
  if (!options.name.empty()) {
    name_ = new char[options.name.size() + 1];
    std::memcpy(name_, options.name.data(), options.name.size());
    name_[options.name.size()] = '\0';
  }
  scheduler_->add_ref();
}

TaskHeader::~TaskHeader() {
  delete[] name_;
  scheduler_->drop_ref();
}

void TaskHeader::set_waiting_on(const detail::AwaitPoint& point) {
  // ORDERING: relaxed; dumps read these as hints, and a torn pair (what of one await, where of
  // the next) is harmless.
  waiting_what_.store(point.what, std::memory_order_relaxed);
  waiting_where_.store(point.where, std::memory_order_relaxed);
}

detail::AwaitPoint TaskHeader::waiting_on() const {
  // ORDERING: relaxed; see set_waiting_on.
  return {waiting_what_.load(std::memory_order_relaxed),
          waiting_where_.load(std::memory_order_relaxed)};
}

void TaskHeader::run() {
  // Transition NOTIFIED -> RUNNING, keeping the run-queue reference as the running one.
  // ORDERING: acquire pairs with the release of whoever last ran or woke the task, so this
  // thread sees the frames as the previous poller left them.
  std::uint64_t cur = state_.load(std::memory_order_acquire);
  std::uint64_t next;
  do {
    if (cur & (kRunning | kComplete)) {
      // Shut down (or completed) while queued: the entry's reference is all that is left.
      drop_ref();
      return;
    }
    next = (cur & ~kNotified) | kRunning;
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire));

  if (next & kCancelled) {
    vtable_->cancel(this);
    complete();
    return;
  }
  bool done;
  if (detail::PollActivity* activity = detail::current_activity) {
    detail::AwaitPoint resumed_from = waiting_on();
    activity->begin();
    done = vtable_->poll(this);
    if (activity->flagged()) activity->report(*this, resumed_from);
    activity->end();
  } else {
    done = vtable_->poll(this);
  }
  if (done) {
    complete();
    return;
  }

  // Transition RUNNING -> idle (or back to the queue when woken during the poll).
  // ORDERING: acq_rel; release publishes the frames to the next poller, acquire sees a
  // concurrent abort's request.
  cur = state_.load(std::memory_order_relaxed);
  do {
    if (cur & kCancelled) {
      vtable_->cancel(this);
      complete();
      return;
    }
    next = cur & ~kRunning;
    if (!(cur & kNotified)) next -= kRefOne;
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  if (next & kNotified) {
    // Woken while running: the running reference becomes the run-queue reference.
    scheduler_->schedule(this, detail::ScheduleKind::kYield);
  } else if (ref_count(next) == 0) {
    vtable_->dealloc(this);
  }
}

void TaskHeader::complete() {
  // ORDERING: acq_rel; release publishes the output to the JoinHandle that sees COMPLETE,
  // acquire sees the waker the JoinHandle stored before it set JOIN_WAKER.
  std::uint64_t prev = state_.fetch_xor(kRunning | kComplete, std::memory_order_acq_rel);
  if (!(prev & kJoinInterest)) {
    vtable_->drop_output(this);
  } else if (prev & kJoinWaker) {
    join_waker_.wake_by_ref();
  }
  std::uint64_t refs = 1;  // the running reference
  if (scheduler_->release(this)) ++refs;
  drop_refs(refs);
}

void TaskHeader::shutdown() {
  // Claim the task unless a worker runs it (it then sees CANCELLED when its poll ends).
  std::uint64_t cur = state_.load(std::memory_order_acquire);
  std::uint64_t next;
  do {
    next = cur | kCancelled;
    if (!(cur & (kRunning | kComplete))) next |= kRunning;
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  bool claimed = !(cur & (kRunning | kComplete));
  if (claimed) {
    // Running now: hold a reference for it, then cancel and complete as a poll would.
    add_ref();
    vtable_->cancel(this);
    complete();
  }
  drop_ref();  // the owned-list reference the caller handed over
}

void TaskHeader::reject() {
  // Never bound to the owned list, never queued: the owned and queue references become the
  // running reference plus one to drop.
  // ORDERING: relaxed; nobody else has seen this task yet. (kInitial has NOTIFIED set and
  // RUNNING clear, so one xor swaps them.)
  state_.fetch_xor(kRunning | kNotified, std::memory_order_relaxed);
  drop_refs(1);
  vtable_->cancel(this);
  complete();
}

void TaskHeader::abort() {
  std::uint64_t cur = state_.load(std::memory_order_acquire);
  std::uint64_t next;
  bool submit;
  do {
    submit = false;
    if (cur & (kComplete | kCancelled)) return;
    if (cur & kRunning) {
      next = cur | kCancelled | kNotified;
    } else if (cur & kNotified) {
      next = cur | kCancelled;
    } else {
      next = (cur | kCancelled | kNotified) + kRefOne;
      submit = true;
    }
    // ORDERING: acq_rel; the CAS decides who queues the task.
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  if (submit) scheduler_->schedule(this, detail::ScheduleKind::kWake);
}

void TaskHeader::wake_by_ref() {
  std::uint64_t cur = state_.load(std::memory_order_acquire);
  std::uint64_t next;
  do {
    if (cur & (kComplete | kNotified)) return;
    next = cur | kNotified;
    if (!(cur & kRunning)) next += kRefOne;
    // ORDERING: acq_rel; release makes the waker's writes (the event it signals) visible to
    // the poll that the queue entry leads to.
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  if (!(cur & kRunning)) scheduler_->schedule(this, detail::ScheduleKind::kWake);
}

void TaskHeader::wake_by_val() {
  std::uint64_t cur = state_.load(std::memory_order_acquire);
  std::uint64_t next;
  bool submit;
  do {
    submit = false;
    if (cur & kRunning) {
      next = (cur | kNotified) - kRefOne;
    } else if (cur & (kComplete | kNotified)) {
      next = cur - kRefOne;
    } else {
      next = cur | kNotified;  // the waker's reference becomes the queue's
      submit = true;
    }
    // ORDERING: acq_rel, as in wake_by_ref; acquire also orders a final dealloc.
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  if (submit) {
    scheduler_->schedule(this, detail::ScheduleKind::kWake);
  } else if (ref_count(next) == 0) {
    vtable_->dealloc(this);
  }
}

void TaskHeader::add_ref() {
  // ORDERING: relaxed; a new reference is made from an existing one, as with shared_ptr.
  state_.fetch_add(kRefOne, std::memory_order_relaxed);
}

void TaskHeader::drop_ref() { drop_refs(1); }

void TaskHeader::drop_refs(std::uint64_t n) {
  // ORDERING: acq_rel; the last release must see every other owner's writes before dealloc.
  std::uint64_t prev = state_.fetch_sub(n * kRefOne, std::memory_order_acq_rel);
  if (ref_count(prev) == n) vtable_->dealloc(this);
}

bool TaskHeader::is_complete() const {
  // ORDERING: acquire pairs with complete()'s release: the output is visible.
  return state_.load(std::memory_order_acquire) & kComplete;
}

bool TaskHeader::register_join_waker(const Waker& waker) {
  std::uint64_t cur = state_.load(std::memory_order_acquire);
  if (cur & kComplete) return false;
  if (cur & kJoinWaker) {
    // Only the runtime may read the slot while JOIN_WAKER is set; reading it here too is a
    // read-read overlap, which is safe.
    if (join_waker_.will_wake(waker)) return true;
    // Take the slot back before replacing the waker.
    do {
      if (cur & kComplete) return false;
    } while (!state_.compare_exchange_weak(cur, cur & ~kJoinWaker, std::memory_order_acq_rel,
                                           std::memory_order_acquire));
  }
  join_waker_ = waker;
  // ORDERING: acquire; seeing COMPLETE here means the caller reads the output next.
  cur = state_.load(std::memory_order_acquire);
  do {
    if (cur & kComplete) return false;
    // ORDERING: release publishes the waker to complete(), which reads it after its acquire.
  } while (!state_.compare_exchange_weak(cur, cur | kJoinWaker, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  return true;
}

void TaskHeader::drop_join_handle() {
  std::uint64_t cur = state_.load(std::memory_order_acquire);
  for (;;) {
    if (cur & kComplete) {
      // The runtime left the output for us (JOIN_INTEREST was set when it completed).
      vtable_->drop_output(this);
      break;
    }
    // ORDERING: acq_rel; whoever of us and complete() is second sees the other's change.
    if (state_.compare_exchange_weak(cur, cur & ~kJoinInterest, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      break;
    }
  }
  drop_ref();
}

}  // namespace keel
