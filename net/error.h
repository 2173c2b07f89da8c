// Socket errors as absl::Status, with the errno kept for callers that must tell them apart.
//
//   absl::Status s = keel::net::io_error(ECONNREFUSED, "connect", "127.0.0.1:6379");
//   s.message();                      // "connect 127.0.0.1:6379: Connection refused"
//   keel::net::errno_of(s);           // ECONNREFUSED (0 for a status without one)
//
// The code comes from absl::ErrnoToStatus (ECONNREFUSED and ECONNRESET are both UNAVAILABLE),
// so the errno rides along as a payload: a load client counts refused and reset connections
// apart, a server treats ECONNABORTED as a retry.
//
// Thread-safety: pure functions.
#ifndef KEEL_NET_ERROR_H_
#define KEEL_NET_ERROR_H_

#include <string_view>

#include "absl/status/status.h"

namespace keel::net {

// "<op> <target>: <strerror(err)>" with err attached.
absl::Status io_error(int err, std::string_view op, std::string_view target);

// The errno an io_error carries; 0 when it carries none (OK, or built elsewhere).
int errno_of(const absl::Status& status);

}  // namespace keel::net

#endif  // KEEL_NET_ERROR_H_
