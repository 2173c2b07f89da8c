// Helpers shared by every socket type: creating non-blocking sockets, socket options with
// errors that name the socket, local/peer address queries and the non-blocking connect.
//
// Thread-safety: functions of their arguments; the fds are the caller's.
#ifndef KEEL_NET_DETAIL_SOCKET_H_
#define KEEL_NET_DETAIL_SOCKET_H_

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/socket_addr.h"
#include "runtime/io/async_fd.h"
#include "runtime/task/task.h"

namespace keel::net::detail {

// connect_and_register's retry of a Unix connect to a full backlog: quick when the server is
// merely busy, a few attempts a second when it is stuck.
inline constexpr std::chrono::milliseconds kConnectRetryMin{1};
inline constexpr std::chrono::milliseconds kConnectRetryMax{100};

// socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC); errors name `what` ("socket tcp").
absl::StatusOr<int> new_socket(int family, int type, std::string_view what);

// setsockopt/getsockopt of an int; errors read "setsockopt TCP_NODELAY <target>: ...".
absl::Status set_int_option(int fd, int level, int name, int value, std::string_view opt_name,
                            std::string_view target);
absl::StatusOr<int> get_int_option(int fd, int level, int name, std::string_view opt_name,
                                   std::string_view target);

// getsockname / getpeername as a SocketAddr (IP sockets).
absl::StatusOr<SocketAddr> local_addr(int fd, std::string_view target);
absl::StatusOr<SocketAddr> peer_addr(int fd, std::string_view target);

// Connects the non-blocking socket `fd` (owned: closed on failure) to `addr` and returns it
// registered with the driver. Registration waits until connect(2) has started, because an
// unconnected stream socket polls as hung up (EPOLLHUP): epoll would report that at
// registration, and a hang-up, once in the readiness word, is never cleared (closed bits are
// sticky), so every later EAGAIN would find the socket "ready" again and the operation would
// spin. A Unix socket whose listener's backlog is full fails with EAGAIN instead of
// EINPROGRESS; no event announces room in the backlog, so that connect is retried after
// kConnectRetryMin, doubling up to kConnectRetryMax. `addr` must outlive the await (await
// at once). Errors: "connect <target>: Connection refused".
Task<absl::StatusOr<AsyncFd>> connect_and_register(int fd, const sockaddr* addr, socklen_t len,
                                                   std::string target);

}  // namespace keel::net::detail

#endif  // KEEL_NET_DETAIL_SOCKET_H_
