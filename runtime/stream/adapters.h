// Stream adapters: build, transform and consume keel::Stream<T> (the tokio-stream toolbox).
//
// What it offers (namespace keel::stream):
//   sources      iter(std::vector<T>), from_range(R), once(T), empty<T>(),
//                from_receiver(Rx) (any channel receiver whose `co_await rx.recv()` gives
//                std::optional<T>)
//   transformers map(s, f), then(s, async_f), filter(s, pred), filter_map(s, f), take(s, n),
//                take_while(s, pred), skip(s, n), skip_while(s, pred), chain(a, b),
//                timeout(s, d), merge(a, b, ...) (merge.h, included here)
//   consumers    collect(s), for_each(s, f), fold(s, init, f), count(s) (each a Task)
//
//   keel::Task<int> sum_of_squares() {
//     auto s = keel::stream::map(keel::stream::iter(std::vector<int>{1, 2, 3}),
//                                [](int x) { return x * x; });
//     co_return co_await keel::stream::fold(std::move(s), 0,
//                                           [](int acc, int x) { return acc + x; });
//   }
//
//   // Lines from two connections, each within 5 s of asking, as they arrive:
//   auto lines = keel::stream::timeout(keel::stream::merge(framed_a.frames(), framed_b.frames()),
//                                      std::chrono::seconds(5));
//   while (auto item = co_await lines.next()) { ... }   // item: absl::StatusOr<...>
//
// Every transformer is itself a Stream generator that owns its source (taken by value) and its
// function object (taken by value and stored in the generator frame). Function objects must be
// ordinary callables: a lambda that is not a coroutine may capture what it likes (by value;
// the copy lives as long as the adapter). Never pass a capturing lambda *coroutine*; for async
// work use `then(s, f)` where `f` is a captureless lambda or a function returning a Task and
// taking its inputs by value.
//
// Laziness: nothing runs before the first next(); each next() of an adapter pulls from its
// source only as much as it needs (take(s, n) never asks s for an (n+1)th item).
//
// Cancellation: next() of every adapter is cancellation-safe, because adapters are generators
// (see stream.h): when the task awaiting next() is destroyed, the adapter stays suspended where
// it was (usually inside its source's next()), and the next call carries on from there; no
// item is lost or produced twice. The consumers (collect, for_each, fold, count) own the stream
// they consume: destroying such a Task destroys the stream and whatever it gathered so far.
//
// Exceptions thrown by a source or by a function object end the adapter and are rethrown from
// the consumer's next().
//
// Thread-safety: as Stream: one task at a time uses a stream; it may move between tasks and
// threads between calls to next(). Function objects run on the thread polling the stream.
#ifndef KEEL_RUNTIME_STREAM_ADAPTERS_H_
#define KEEL_RUNTIME_STREAM_ADAPTERS_H_

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/stream/merge.h"
#include "runtime/stream/stream.h"
#include "runtime/task/awaitable.h"
#include "runtime/task/task.h"
#include "runtime/time/instant.h"
#include "runtime/time/timeout.h"

namespace keel::stream {

// ---------------------------------------------------------------------------------------------
// Sources.

// Yields the elements of `values` in order (moved out), then ends.
template <class T>
Stream<T> iter(std::vector<T> values) {
  for (T& v : values) co_yield std::move(v);
}

// Yields the elements of `range` (copied into the generator frame; a view keeps referring to
// what it views, which must then outlive the stream).
template <std::ranges::input_range R>
Stream<std::remove_cvref_t<std::ranges::range_value_t<R>>> from_range(R range) {
  for (auto&& v : range) co_yield std::forward<decltype(v)>(v);
}

// Yields `value` once.
template <class T>
Stream<T> once(T value) {
  co_yield std::move(value);
}

// Ends at once.
template <class T>
Stream<T> empty() {
  co_return;
}

// A channel receiver: `co_await rx.recv()` gives std::optional<T>, nullopt once the channel is
// closed and drained (keel::sync::mpsc::Receiver<T>, UnboundedReceiver<T>, test channels).
template <class Rx>
concept Receiver = requires(Rx& rx) {
  { rx.recv() } -> Awaitable;
} && requires {
  typename await_result_t<decltype(std::declval<Rx&>().recv())>::value_type;
  requires std::same_as<await_result_t<decltype(std::declval<Rx&>().recv())>,
                        std::optional<typename await_result_t<
                            decltype(std::declval<Rx&>().recv())>::value_type>>;
};

template <Receiver Rx>
using receiver_item_t =
    typename await_result_t<decltype(std::declval<Rx&>().recv())>::value_type;

// Yields what `rx` receives until the channel ends. The stream owns the receiver: destroying
// the stream drops it (which, for mpsc, closes the channel). Cancellation-safe whatever recv()
// is, since a cancelled next() leaves the generator suspended inside recv().
template <Receiver Rx>
Stream<receiver_item_t<Rx>> from_receiver(Rx rx) {
  for (;;) {
    std::optional<receiver_item_t<Rx>> v = co_await rx.recv();
    if (!v.has_value()) co_return;
    co_yield std::move(*v);
  }
}

// ---------------------------------------------------------------------------------------------
// Transformers.

template <class F, class T>
using map_result_t = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>;

// Yields f(item) for every item of `s`.
template <class T, class F>
  requires std::invocable<F&, T&&> && (!std::is_void_v<std::invoke_result_t<F&, T&&>>)
Stream<map_result_t<F, T>> map(Stream<T> s, F f) {
  while (std::optional<T> v = co_await s.next()) co_yield std::invoke(f, std::move(*v));
}

// Yields co_await f(item) for every item: `f` returns a Task (or any awaitable) that takes
// what it needs by value. Items are processed one at a time, in order.
template <class T, class F>
  requires std::invocable<F&, T&&> && Awaitable<std::invoke_result_t<F&, T&&>>
Stream<std::remove_cvref_t<await_result_t<std::invoke_result_t<F&, T&&>>>> then(Stream<T> s, F f) {
  while (std::optional<T> v = co_await s.next()) {
    auto pending = std::invoke(f, std::move(*v));
    auto result = co_await std::move(pending);
    co_yield std::move(result);
  }
}

// Yields the items for which pred(const item&) is true.
template <class T, class Pred>
  requires std::predicate<Pred&, const T&>
Stream<T> filter(Stream<T> s, Pred pred) {
  while (std::optional<T> v = co_await s.next()) {
    if (std::invoke(pred, std::as_const(*v))) co_yield std::move(*v);
  }
}

// Yields *f(item) for every item where f(item) (a std::optional<U>) holds a value.
template <class T, class F>
  requires std::invocable<F&, T&&>
Stream<typename map_result_t<F, T>::value_type> filter_map(Stream<T> s, F f) {
  while (std::optional<T> v = co_await s.next()) {
    auto out = std::invoke(f, std::move(*v));
    if (out.has_value()) co_yield std::move(*out);
  }
}

// Yields the first `n` items of `s`, then ends (without asking `s` for more).
template <class T>
Stream<T> take(Stream<T> s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<T> v = co_await s.next();
    if (!v.has_value()) co_return;
    co_yield std::move(*v);
  }
}

// Yields items while pred(const item&) holds; ends at the first item for which it does not
// (that item is dropped, as in tokio-stream).
template <class T, class Pred>
  requires std::predicate<Pred&, const T&>
Stream<T> take_while(Stream<T> s, Pred pred) {
  while (std::optional<T> v = co_await s.next()) {
    if (!std::invoke(pred, std::as_const(*v))) co_return;
    co_yield std::move(*v);
  }
}

// Drops the first `n` items of `s`, then yields the rest.
template <class T>
Stream<T> skip(Stream<T> s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<T> v = co_await s.next();
    if (!v.has_value()) co_return;
  }
  while (std::optional<T> v = co_await s.next()) co_yield std::move(*v);
}

// Drops items while pred(const item&) holds, then yields the rest (the first failing one too).
template <class T, class Pred>
  requires std::predicate<Pred&, const T&>
Stream<T> skip_while(Stream<T> s, Pred pred) {
  bool skipping = true;
  while (std::optional<T> v = co_await s.next()) {
    if (skipping && std::invoke(pred, std::as_const(*v))) continue;
    skipping = false;
    co_yield std::move(*v);
  }
}

// Yields every item of `first`, then every item of `second` (which starts only then).
template <class T>
Stream<T> chain(Stream<T> first, Stream<T> second) {
  while (std::optional<T> v = co_await first.next()) co_yield std::move(*v);
  while (std::optional<T> v = co_await second.next()) co_yield std::move(*v);
}

// Each item must arrive within `d` of being asked for. On expiry the stream yields a
// DEADLINE_EXCEEDED status and continues: the next ask waits for the same pending item (the
// source is not cancelled; its next() is cancellation-safe) with a fresh `d`. Ends when `s`
// ends. As tokio-stream's `timeout`. The clock starts when the consumer asks (its next()
// first runs the adapter), not when the previous item was produced.
template <class T>
Stream<absl::StatusOr<T>> timeout(Stream<T> s, Duration d) {
  for (;;) {
    Task<std::optional<T>> next = next_task(s);  // `s` lives in this frame, past the task
    Task<TimeoutResult<std::optional<T>>> bounded = ::keel::timeout(d, std::move(next));
    TimeoutResult<std::optional<T>> r = co_await std::move(bounded);
    if (!r.ok()) {
      co_yield absl::StatusOr<T>(absl::DeadlineExceededError(
          "stream::timeout: no item arrived within the deadline"));
      continue;
    }
    if (!r->has_value()) co_return;
    co_yield absl::StatusOr<T>(std::move(**r));
  }
}

// ---------------------------------------------------------------------------------------------
// Consumers. Each owns the stream it consumes (see the header comment on cancellation).

// Every item, in order, once the stream ends.
template <class T>
Task<std::vector<T>> collect(Stream<T> s) {
  std::vector<T> out;
  while (std::optional<T> v = co_await s.next()) out.push_back(std::move(*v));
  co_return out;
}

// Calls f(item) for every item; when f returns an awaitable (a Task), awaits it before asking
// for the next item.
template <class T, class F>
  requires std::invocable<F&, T&&>
Task<void> for_each(Stream<T> s, F f) {
  while (std::optional<T> v = co_await s.next()) {
    if constexpr (Awaitable<std::invoke_result_t<F&, T&&>>) {
      auto pending = std::invoke(f, std::move(*v));
      co_await std::move(pending);
    } else {
      std::invoke(f, std::move(*v));
    }
  }
}

// acc = f(std::move(acc), item) over every item, starting from `init`.
template <class T, class Acc, class F>
  requires std::invocable<F&, Acc&&, T&&> &&
           std::convertible_to<std::invoke_result_t<F&, Acc&&, T&&>, Acc>
Task<Acc> fold(Stream<T> s, Acc init, F f) {
  Acc acc = std::move(init);
  while (std::optional<T> v = co_await s.next()) acc = std::invoke(f, std::move(acc), std::move(*v));
  co_return acc;
}

// The number of items.
template <class T>
Task<std::size_t> count(Stream<T> s) {
  std::size_t n = 0;
  while (std::optional<T> v = co_await s.next()) ++n;
  co_return n;
}

}  // namespace keel::stream

#endif  // KEEL_RUNTIME_STREAM_ADAPTERS_H_
