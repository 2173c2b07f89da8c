// keel::run_blocking: spawn_blocking for a function that reports failure as absl::Status or
// absl::StatusOr<T>. The Task it returns gives the function's own result, and a failure of
// the pool itself (the runtime shutting down before the function ran) as the same kind of
// status, so the caller checks one status instead of two layers.
//
//   absl::Status s = co_await keel::run_blocking([fd] { return sync_file(fd); });
//   absl::StatusOr<std::string> text = co_await keel::run_blocking([path] { return read(path); });
//
// `fn` is moved to the pool and owns what it needs (capture by value): it may outlive the
// awaiting task, which can be cancelled while the function runs.
//
// Thread-safety: as keel::spawn_blocking (any task of a runtime).
#ifndef KEEL_RUNTIME_BLOCKING_RUN_BLOCKING_H_
#define KEEL_RUNTIME_BLOCKING_RUN_BLOCKING_H_

#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/runtime.h"
#include "runtime/task/task.h"

namespace keel {

namespace detail {
template <class R>
inline constexpr bool kIsStatusOr = false;
template <class T>
inline constexpr bool kIsStatusOr<absl::StatusOr<T>> = true;

// absl::StatusOr<absl::Status> is not allowed: a Status travels back from the pool in a box.
struct StatusBox {
  absl::Status status;
};
}  // namespace detail

template <class F>
auto run_blocking(F fn) -> Task<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  static_assert(std::is_same_v<R, absl::Status> || detail::kIsStatusOr<R>,
                "keel::run_blocking: the function must return absl::Status or absl::StatusOr<T>");
  if constexpr (std::is_same_v<R, absl::Status>) {
    auto boxed = [f = std::move(fn)]() mutable { return detail::StatusBox{f()}; };
    JoinHandle<detail::StatusBox> h = keel::spawn_blocking(std::move(boxed));
    absl::StatusOr<detail::StatusBox> r = co_await std::move(h);
    if (!r.ok()) co_return r.status();
    co_return std::move(r->status);
  } else {
    JoinHandle<R> h = keel::spawn_blocking(std::move(fn));
    absl::StatusOr<R> r = co_await std::move(h);
    if (!r.ok()) co_return r.status();
    co_return std::move(*r);
  }
}

}  // namespace keel

#endif  // KEEL_RUNTIME_BLOCKING_RUN_BLOCKING_H_
