// Internal to //runtime/fs: errors that name the operation and the path.
//
// Thread-safety: the helpers hold no state.
#ifndef KEEL_RUNTIME_FS_ERRORS_H_
#define KEEL_RUNTIME_FS_ERRORS_H_

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

#endif  // KEEL_RUNTIME_FS_ERRORS_H_
