// Test helpers for stream tests: timed sources, an impatient consumer that cancels its own
// next() again and again, and a tiny unbounded channel whose receiver satisfies
// keel::stream::Receiver (independent of runtime/sync).
//
// Thread-safety: TestChannel may be sent to from any thread; one task receives.
#ifndef KEEL_RUNTIME_STREAM_TEST_SOURCES_H_
#define KEEL_RUNTIME_STREAM_TEST_SOURCES_H_

#include <coroutine>
#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/detail/concurrency.h"
#include "runtime/stream/stream.h"
#include "runtime/task/context.h"
#include "runtime/task/task.h"
#include "runtime/time/sleep.h"
#include "runtime/time/timeout.h"

namespace keel::stream::testing {

// Yields first, first+1, ... (n values), sleeping `period` before each.
inline Stream<int> ticking(int first, int n, Duration period) {
  for (int i = 0; i < n; ++i) {
    co_await sleep(period);
    co_yield first + i;
  }
}

// Drains `s`, giving up on each next() after `patience` (the awaiting task is destroyed mid-
// next) and asking again; counts the give-ups in *gave_up. `s` must outlive the task (await it
// at once).
template <class T>
Task<std::vector<T>> drain_impatiently(Stream<T>& s, Duration patience, int* gave_up) {
  std::vector<T> out;
  for (;;) {
    Task<std::optional<T>> next = next_task(s);
    auto r = co_await ::keel::timeout(patience, std::move(next));
    if (!r.ok()) {
      ++*gave_up;
      continue;
    }
    if (!r->has_value()) co_return out;
    out.push_back(std::move(**r));
  }
}

// A minimal unbounded multi-producer channel for tests.
template <class T>
class TestChannel {
 public:
  struct State {
    keel::detail::Mutex mu;
    std::deque<T> items;
    bool closed = false;
    Waker waiter;
  };

  class Receiver {
   public:
    explicit Receiver(std::shared_ptr<State> st) : st_(std::move(st)) {}

    class [[nodiscard]] Recv final : public keel::detail::Leaf {
     public:
      explicit Recv(State* st) : st_(st) { await_point = {"TestChannel::recv", {}}; }
      Recv(const Recv&) = delete;
      Recv& operator=(const Recv&) = delete;
      ~Recv() {
        if (!registered_) return;
        keel::detail::LockGuard lock(st_->mu);
        st_->waiter.reset();  // unregister: a later send wakes no one
      }
      bool await_ready() {
        keel::detail::LockGuard lock(st_->mu);
        return !st_->items.empty() || st_->closed;
      }
      bool await_suspend(std::coroutine_handle<> h) {
        keel::detail::LockGuard lock(st_->mu);
        if (!st_->items.empty() || st_->closed) return false;
        st_->waiter = keel::detail::suspend_leaf(h, this);
        registered_ = true;
        return true;
      }
      bool poll_ready() override {
        keel::detail::LockGuard lock(st_->mu);
        if (!st_->items.empty() || st_->closed) return true;
        st_->waiter = keel::detail::current_waker("TestChannel::recv");
        return false;
      }
      std::optional<T> await_resume() {
        keel::detail::LockGuard lock(st_->mu);
        if (st_->items.empty()) return std::nullopt;
        std::optional<T> v(std::move(st_->items.front()));
        st_->items.pop_front();
        return v;
      }

     private:
      State* st_;
      bool registered_ = false;
    };

    Recv recv() { return Recv(st_.get()); }

   private:
    std::shared_ptr<State> st_;
  };

  class Sender {
   public:
    explicit Sender(std::shared_ptr<State> st) : st_(std::move(st)) {}
    void send(T v) const {
      Waker w;
      {
        keel::detail::LockGuard lock(st_->mu);
        st_->items.push_back(std::move(v));
        w = std::move(st_->waiter);
        st_->waiter.reset();
      }
      std::move(w).wake();
    }
    void close() const {
      Waker w;
      {
        keel::detail::LockGuard lock(st_->mu);
        st_->closed = true;
        w = std::move(st_->waiter);
        st_->waiter.reset();
      }
      std::move(w).wake();
    }

   private:
    std::shared_ptr<State> st_;
  };

  static std::pair<Sender, Receiver> make() {
    auto st = std::make_shared<State>();
    return {Sender(st), Receiver(st)};
  }
};

}  // namespace keel::stream::testing

#endif  // KEEL_RUNTIME_STREAM_TEST_SOURCES_H_
