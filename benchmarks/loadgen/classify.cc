#include "benchmarks/loadgen/classify.h"

#include <cerrno>

#include "absl/strings/match.h"
#include "net/error.h"

namespace keel::loadgen {

ErrorKind classify(const absl::Status& status) {
  switch (net::errno_of(status)) {
    case ECONNREFUSED:
      return ErrorKind::kRefused;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      return ErrorKind::kReset;
    case ETIMEDOUT:
      return ErrorKind::kTimeout;
    default:
      break;
  }
  if (absl::IsDeadlineExceeded(status)) return ErrorKind::kTimeout;
  absl::string_view m = status.message();
  if (absl::StrContains(m, "Connection refused")) return ErrorKind::kRefused;
  if (absl::StrContains(m, "Connection reset") || absl::StrContains(m, "Broken pipe") ||
      absl::StrContains(m, "closed by the peer") || absl::StrContains(m, "was dropped")) {
    return ErrorKind::kReset;
  }
  if (absl::StrContains(m, "timed out")) return ErrorKind::kTimeout;
  return ErrorKind::kOther;
}

}  // namespace keel::loadgen
