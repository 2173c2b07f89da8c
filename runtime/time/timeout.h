// timeout(d, task): runs `task`, giving up after `d`.
//
//   absl::StatusOr<Reply> r = co_await keel::timeout(std::chrono::seconds(2), call());
//   if (absl::IsDeadlineExceeded(r.status())) { ... }
//
// On expiry the task is destroyed at its suspension point (cancellation is destruction) and
// the result is DEADLINE_EXCEEDED. For Task<void> the result is absl::Status. An exception
// from the task propagates.
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

template <class T>
using TimeoutResult = std::conditional_t<std::is_void_v<T>, absl::Status, absl::StatusOr<T>>;

template <class T>
Task<TimeoutResult<T>> timeout_at(Instant deadline, Task<T> task) {
  auto r = co_await select(std::move(task), sleep_until_task(deadline));
  if (r.index() == 1) {
    co_return absl::DeadlineExceededError("timeout: the task did not finish before its deadline");
  }
  if constexpr (std::is_void_v<T>) {
    co_return absl::OkStatus();
  } else {
    co_return std::move(std::get<0>(r));
  }
}

template <class T>
Task<TimeoutResult<T>> timeout(Duration d, Task<T> task) {
  return timeout_at(Instant::now() + d, std::move(task));
}

}  // namespace keel

#endif  // KEEL_RUNTIME_TIME_TIMEOUT_H_
