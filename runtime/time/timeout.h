// timeout(d, task): runs `task`, giving up after `d`.
//
//   absl::StatusOr<Reply> r = co_await keel::timeout(std::chrono::seconds(2), call());
//   if (absl::IsDeadlineExceeded(r.status())) { ... }
//
// On expiry the task is destroyed at its suspension point (cancellation is destruction) and
// the result is DEADLINE_EXCEEDED. The result type is TimeoutResult<T>:
//   Task<void>, Task<absl::Status>     -> absl::Status (the task's own status, or the deadline)
//   Task<absl::StatusOr<U>>            -> absl::StatusOr<U> (flattened likewise)
//   Task<T> for any other T            -> absl::StatusOr<T>
// Flattening keeps `if (!r.ok())` meaning "failed or timed out" (a nested StatusOr<Status>
// would report a timeout as an OK outer value); tell a timeout apart with
// absl::IsDeadlineExceeded. An exception from the task propagates.
//
// Thread-safety: the returned Task belongs to one awaiting task.
#ifndef KEEL_RUNTIME_TIME_TIMEOUT_H_
#define KEEL_RUNTIME_TIME_TIMEOUT_H_

#include <type_traits>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/task/combinators.h"
#include "runtime/task/task.h"
#include "runtime/time/sleep.h"

namespace keel {

// A Task that completes after `d` (for select).
inline Task<void> sleep_task(Duration d) { co_await sleep(d); }
inline Task<void> sleep_until_task(Instant deadline) { co_await sleep_until(deadline); }

namespace detail {
template <class T>
struct TimeoutResultOf {
  using type = absl::StatusOr<T>;
};
template <>
struct TimeoutResultOf<void> {
  using type = absl::Status;
};
template <>
struct TimeoutResultOf<absl::Status> {
  using type = absl::Status;
};
template <class U>
struct TimeoutResultOf<absl::StatusOr<U>> {
  using type = absl::StatusOr<U>;
};
}  // namespace detail

template <class T>
using TimeoutResult = typename detail::TimeoutResultOf<T>::type;

template <class T>
Task<TimeoutResult<T>> timeout_at(Instant deadline, Task<T> task) {
  auto r = co_await select(std::move(task), sleep_until_task(deadline));
  if (r.index() == 1) {
    co_return absl::DeadlineExceededError("timeout: the task did not finish before its deadline");
  }
  if constexpr (std::is_void_v<T>) {
    co_return absl::OkStatus();
  } else {
    co_return TimeoutResult<T>(std::move(std::get<0>(r)));
  }
}

template <class T>
Task<TimeoutResult<T>> timeout(Duration d, Task<T> task) {
  return timeout_at(Instant::now() + d, std::move(task));
}

}  // namespace keel

#endif  // KEEL_RUNTIME_TIME_TIMEOUT_H_
