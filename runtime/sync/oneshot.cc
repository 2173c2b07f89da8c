#include "runtime/sync/oneshot.h"

namespace keel::sync::oneshot::detail {

absl::Status recv_error(std::uint32_t state, bool taken) {
  if (taken) {
    return absl::FailedPreconditionError("oneshot recv: the value was already received");
  }
  if (state & kTxDropped) {
    return absl::FailedPreconditionError("oneshot recv: the sender was dropped without sending");
  }
  return absl::FailedPreconditionError("oneshot recv: the receiver was closed before a send");
}

}  // namespace keel::sync::oneshot::detail
