// merge: one stream of the items of several streams, in the order they become ready.
//
//   keel::Stream<Event> events = keel::stream::merge(clicks(), keys(), ticks());
//   while (std::optional<Event> e = co_await events.next()) handle(*e);
//
//   std::vector<keel::Stream<Msg>> inboxes = ...;
//   auto all = keel::stream::merge(std::move(inboxes));
//
// What it does: every source is polled concurrently (inside the merge's own next(), with no
// spawned task); the first source that has an item gives it. Sources that are ready together
// are served round robin (the search for the next item starts after the source that gave the
// last one), so one busy source cannot starve the others. The merge ends when every source
// has ended. An exception from a source ends the merge and is rethrown from next().
//
// How: the merge is a generator whose one leaf awaiter (MergeNext) polls the sources' own
// next() awaiters directly, each under a waker of its own (a SourceWaker in a counted
// MergeGroup, as BranchPoller does for join/select). A source's waker marks it ready and wakes
// the merge; a poll visits only ready sources. A source that has just yielded is ready again
// at once (its generator continues only when polled).
//
// Invariants (why nothing is lost or duplicated):
//   - As soon as one source gives an item, polling stops and the item is handed to the merge
//     generator in the same poll (await_resume follows poll_ready at once), which yields it; no
//     other source is polled before the consumer has it.
//   - A source polled without producing keeps its own progress in its generator (stream.h):
//     nothing the merge abandons is ever half-taken. When the consumer's next() is destroyed,
//     the merge stays suspended in MergeNext, and the next next() carries on.
//   - Each source's ready flag is set by its waker (any thread, under the group's lock) and
//     cleared only by the merge's own poll just before it polls that source, so a wake-up that
//     races with a poll leads at worst to one spurious extra poll.
//
// Lifetimes: the merge owns its sources (destroyed with it). The group outlives both if a
// source's event source still holds one of its wakers; a late wake only wakes the merge's
// current consumer spuriously (or no one).
//
// Thread-safety: as Stream (one consumer task at a time); source wakers fire from any thread.
#ifndef KEEL_RUNTIME_STREAM_MERGE_H_
#define KEEL_RUNTIME_STREAM_MERGE_H_

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/detail/concurrency.h"
#include "runtime/stream/stream.h"
#include "runtime/task/context.h"
#include "runtime/task/waker.h"

namespace keel::stream {

namespace detail {

using keel::detail::Atomic;
using keel::detail::LockGuard;
using keel::detail::Mutex;

// The sources' wakers and their ready flags, shared with whatever event sources hold them.
class MergeGroup {
 public:
  explicit MergeGroup(std::size_t n) : flags_(n, 1), wakers_(n) {
    for (std::size_t i = 0; i < n; ++i) {
      wakers_[i].group = this;
      wakers_[i].index = i;
      ready_.push_back(i);  // every source needs a first poll
    }
  }
  MergeGroup(const MergeGroup&) = delete;
  MergeGroup& operator=(const MergeGroup&) = delete;

  struct SourceWaker final : Wakeable {
    MergeGroup* group = nullptr;
    std::size_t index = 0;
    void wake_by_ref() override { group->notify(index); }
    void add_ref() override { group->add_ref(); }
    void drop_ref() override { group->drop_ref(); }
  };

  Wakeable* waker(std::size_t i) { return &wakers_[i]; }

  // Wakes `parent` when a source becomes ready (the merge generator's waker: the merge
  // stream's forwarder to its current consumer).
  void set_parent(Wakeable* parent) {
    Waker old;
    LockGuard lock(mu_);
    if (parent_.will_wake(parent)) return;
    old = std::exchange(parent_, Waker::clone_from(parent));
  }

  void notify(std::size_t i) {
    Waker parent;
    {
      LockGuard lock(mu_);
      if (flags_[i]) return;  // already marked; the merge has been woken for it
      flags_[i] = 1;
      ready_.push_back(i);
      parent = parent_;
    }
    parent.wake_by_ref();
  }

  // Marks in `out` every source woken since the last call, and clears their flags.
  void take_ready(std::vector<char>& out) {
    LockGuard lock(mu_);
    for (std::size_t i : ready_) {
      out[i] = 1;
      flags_[i] = 0;
    }
    ready_.clear();
  }

  void add_ref() {
    // ORDERING: relaxed; a new reference is made from one the caller holds.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_ref() {
    // ORDERING: acq_rel; every holder's last use happens before the delete by the last one.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  ~MergeGroup() = default;

  Atomic<std::size_t> refs_{1};
  Mutex mu_;
  Waker parent_;                    // guarded by mu_
  std::vector<char> flags_;         // guarded by mu_: woken and not yet taken
  std::vector<std::size_t> ready_;  // guarded by mu_: the woken sources, in wake order
  std::vector<SourceWaker> wakers_;
};

// The merge's sources and its polling state; lives in the merge generator's frame.
template <class T>
class MergeState {
 public:
  explicit MergeState(std::vector<Stream<T>> sources)
      : sources_(std::move(sources)),
        ended_(sources_.size(), 0),
        ready_(sources_.size(), 0),
        live_(sources_.size()),
        group_(new MergeGroup(sources_.size())) {
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      if (!sources_[i].valid()) {
        ended_[i] = 1;
        --live_;
      }
    }
  }
  MergeState(const MergeState&) = delete;
  MergeState& operator=(const MergeState&) = delete;
  ~MergeState() {
    sources_.clear();  // destroy the sources (and their wakers' users) before the group ref
    group_->drop_ref();
  }

  enum class Poll { kPending, kItem, kEnded };

  // Polls the ready sources round robin until one gives an item (stored in `out`, or the
  // exception it threw in `error`) or all have ended. Runs under the merge generator's poll
  // context (current_poll), which it restores.
  Poll poll(std::optional<T>& out, std::exception_ptr& error) {
    keel::detail::PollContext* cx = keel::detail::current_poll;
    if (cx == nullptr) keel::detail::no_poll_context("stream::merge");
    group_->set_parent(cx->waker);
    group_->take_ready(ready_);
    const std::size_t n = sources_.size();
    for (std::size_t k = 0; k < n && live_ > 0; ++k) {
      std::size_t i = (cursor_ + k) % n;
      if (ended_[i] || !ready_[i]) continue;
      ready_[i] = 0;
      keel::detail::ResumePoint unused{};
      keel::detail::PollContext source_cx{group_->waker(i), &unused, cx->task, cx->locals};
      keel::detail::current_poll = &source_cx;
      typename Stream<T>::NextAwaiter next = sources_[i].next();
      bool done;
      std::optional<T> item;
      try {
        done = next.await_ready() || next.poll_ready();
        if (done) item = next.await_resume();
      } catch (...) {
        keel::detail::current_poll = cx;
        error = std::current_exception();
        end(i);
        return Poll::kItem;
      }
      keel::detail::current_poll = cx;
      if (!done) continue;  // the source registered its waker with group_->waker(i)
      if (!item.has_value()) {
        end(i);
        continue;
      }
      ready_[i] = 1;  // it continues only when polled again
      cursor_ = (i + 1) % n;
      out = std::move(item);
      return Poll::kItem;
    }
    return live_ == 0 ? Poll::kEnded : Poll::kPending;
  }

 private:
  void end(std::size_t i) {
    ended_[i] = 1;
    --live_;
    sources_[i] = Stream<T>();  // release the finished generator's frame early
  }

  std::vector<Stream<T>> sources_;
  std::vector<char> ended_;
  std::vector<char> ready_;  // to poll: woken, or just yielded
  std::size_t live_;
  std::size_t cursor_ = 0;
  MergeGroup* group_;
};

// The merge generator's leaf: ready when a source gave an item or all ended.
template <class T>
class [[nodiscard]] MergeNext final : public keel::detail::Leaf {
 public:
  explicit MergeNext(MergeState<T>* state) : state_(state) {
    await_point = {"stream::merge", std::source_location::current()};
  }
  MergeNext(const MergeNext&) = delete;
  MergeNext& operator=(const MergeNext&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (poll_ready()) return false;
    keel::detail::park_current(h, this);
    return true;
  }
  bool poll_ready() override {
    return state_->poll(item_, error_) != MergeState<T>::Poll::kPending;
  }
  // The item, or nullopt when every source has ended.
  std::optional<T> await_resume() {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return std::move(item_);
  }

 private:
  MergeState<T>* state_;
  std::optional<T> item_;
  std::exception_ptr error_;
};

}  // namespace detail

// The items of every stream in `sources`, as they become ready (see the header comment).
template <class T>
Stream<T> merge(std::vector<Stream<T>> sources) {
  detail::MergeState<T> state(std::move(sources));
  for (;;) {
    detail::MergeNext<T> next(&state);
    std::optional<T> item = co_await next;
    if (!item.has_value()) co_return;
    co_yield std::move(*item);
  }
}

// merge(a, b, c, ...) for streams of one item type.
template <class T, class... More>
  requires(std::same_as<std::remove_cvref_t<More>, Stream<T>> && ...)
Stream<T> merge(Stream<T> first, Stream<T> second, More... more) {
  std::vector<Stream<T>> sources;
  sources.reserve(2 + sizeof...(More));
  sources.push_back(std::move(first));
  sources.push_back(std::move(second));
  (sources.push_back(std::move(more)), ...);
  return merge(std::move(sources));
}

}  // namespace keel::stream

#endif  // KEEL_RUNTIME_STREAM_MERGE_H_
