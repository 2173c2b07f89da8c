// Internal to //runtime/fs: naming errors (runtime/blocking/run_blocking.h runs the calls).
//
// Thread-safety: the helpers hold no state.
#ifndef KEEL_RUNTIME_FS_BLOCKING_H_
#define KEEL_RUNTIME_FS_BLOCKING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace keel::fs::detail {

// "open /tmp/x: No such file or directory".
inline absl::Status errno_error(int err, const char* op, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(op, " ", path));
}
inline absl::Status errno_error2(int err, const char* op, const std::string& from,
                                 const std::string& to) {
  return absl::ErrnoToStatus(err, absl::StrCat(op, " ", from, " -> ", to));
}

}  // namespace keel::fs::detail

#endif  // KEEL_RUNTIME_FS_BLOCKING_H_
