#include "runtime/sync/channel_detail/common.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace keel::sync {

const char* channel_error_name(ChannelError e) {
  switch (e) {
    case ChannelError::kOk:
      return "ok";
    case ChannelError::kEmpty:
      return "channel empty";
    case ChannelError::kFull:
      return "channel full";
    case ChannelError::kClosed:
      return "channel closed";
    case ChannelError::kLagged:
      return "receiver lagged";
  }
  return "unknown channel error";
}

namespace channel_detail {

absl::Status error_status(ChannelError e, const char* what, std::uint64_t count) {
  switch (e) {
    case ChannelError::kOk:
      return absl::OkStatus();
    case ChannelError::kEmpty:
    case ChannelError::kFull:
      return absl::UnavailableError(absl::StrCat(what, ": ", channel_error_name(e)));
    case ChannelError::kClosed:
      return absl::FailedPreconditionError(absl::StrCat(what, ": ", channel_error_name(e)));
    case ChannelError::kLagged:
      return absl::DataLossError(
          absl::StrCat(what, ": receiver lagged, ", count, " values skipped"));
  }
  return absl::UnknownError(what);
}

void misuse(const char* message) {
  std::fprintf(stderr, "keel: %s\n", message);
  std::abort();
}

}  // namespace channel_detail
}  // namespace keel::sync
