// Helpers shared by the Unix-domain sockets (unix_stream.h, unix_datagram.h): creating and
// binding them with errors that name the path, and their address queries.
//
// Thread-safety: functions of their arguments; the fds are the caller's.
#ifndef KEEL_NET_DETAIL_UNIX_SOCKET_H_
#define KEEL_NET_DETAIL_UNIX_SOCKET_H_

#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "net/unix_addr.h"
#include "runtime/io/async_fd.h"

namespace keel::net::detail {

// A non-blocking AF_UNIX socket of `type` bound to `addr`. When the path exists (EADDRINUSE),
// the error names it and says what to do: "bind /tmp/s: Address already in use (the path
// exists: remove a stale socket file before binding)". The errno rides along (error.h).
absl::StatusOr<int> new_bound_unix_socket(int type, const UnixAddr& addr);

// socketpair(AF_UNIX, type) with both ends non-blocking and registered with the driver;
// errors read "socketpair <what>: ...".
absl::StatusOr<std::pair<AsyncFd, AsyncFd>> registered_pair(int type, std::string_view what);

// getsockname / getpeername as a UnixAddr; errors name `target`.
absl::StatusOr<UnixAddr> local_unix_addr(int fd, std::string_view target);
absl::StatusOr<UnixAddr> peer_unix_addr(int fd, std::string_view target);

}  // namespace keel::net::detail

#endif  // KEEL_NET_DETAIL_UNIX_SOCKET_H_
