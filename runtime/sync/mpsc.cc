#include "runtime/sync/mpsc.h"

#include "absl/strings/str_cat.h"

namespace keel::sync::mpsc::detail {

absl::Status send_closed_error(const char* what) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": the receiver closed the channel or went away"));
}

}  // namespace keel::sync::mpsc::detail
