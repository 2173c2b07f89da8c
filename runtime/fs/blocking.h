// Internal to //runtime/fs: running a blocking call on the pool and naming errors.
//
// Thread-safety: the helpers hold no state.
#ifndef KEEL_RUNTIME_FS_BLOCKING_H_
#define KEEL_RUNTIME_FS_BLOCKING_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/runtime.h"
#include "runtime/task/task.h"

namespace keel::fs::detail {

// "open /tmp/x: No such file or directory".
inline absl::Status errno_error(int err, const char* op, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(op, " ", path));
}
inline absl::Status errno_error2(int err, const char* op, const std::string& from,
                                 const std::string& to) {
  return absl::ErrnoToStatus(err, absl::StrCat(op, " ", from, " -> ", to));
}

// absl::StatusOr<absl::Status> is not allowed: a Status travels back from the pool in a box.
struct StatusBox {
  absl::Status status;
};

// Runs `f` (returning absl::StatusOr<T>) on the blocking pool. `f` is moved there.
template <class T, class F>
Task<absl::StatusOr<T>> run_blocking(F f) {
  JoinHandle<absl::StatusOr<T>> h = keel::spawn_blocking(std::move(f));
  absl::StatusOr<absl::StatusOr<T>> r = co_await h;
  if (!r.ok()) co_return r.status();  // the runtime shut down
  co_return std::move(*r);
}

// Runs `f` (returning absl::Status) on the blocking pool.
template <class F>
Task<absl::Status> run_blocking_status(F f) {
  auto boxed = [f = std::move(f)]() mutable { return StatusBox{f()}; };
  JoinHandle<StatusBox> h = keel::spawn_blocking(std::move(boxed));
  absl::StatusOr<StatusBox> r = co_await h;
  if (!r.ok()) co_return r.status();
  co_return std::move(r->status);
}

}  // namespace keel::fs::detail

#endif  // KEEL_RUNTIME_FS_BLOCKING_H_
