// accept_fd: the accept loop every listener shares (TCP and Unix), with the error policy a
// busy server needs.
//
//   absl::StatusOr<detail::AcceptedFd> a =
//       co_await detail::accept_fd(fd_, name_, "UnixListener::accept");
//   if (!a.ok()) co_return a.status();   // the listener itself is broken (EBADF, EINVAL)
//   int conn = a->release();             // non-blocking, close-on-exec
//
// The policy (TcpListener's, written once):
//   - ECONNABORTED, EPROTO, ENETDOWN and the like (a client gave up before we accepted it, a
//     transient network fault) are retried at once and never returned;
//   - EMFILE, ENFILE, ENOBUFS and ENOMEM (out of descriptors or memory) back off, from
//     kAcceptBackoffMin doubling to kAcceptBackoffMax, with one line on stderr per episode
//     ("backing off", then "accepting again"), then retry: the pending connection waits in
//     the backlog, open connections keep being served, nothing spins;
//   - anything else means the listener is broken and is returned ("accept /tmp/s: ...").
//
// Cancellation: destroying the task mid-wait (or mid-back-off) accepts nothing: the
// connection stays queued for the next accept. Once the task finished, the AcceptedFd owns
// the new descriptor and closes it unless released.
// Thread-safety: several tasks may accept on one listener at once; `listener` and `name` must
// outlive the await.
#ifndef KEEL_NET_DETAIL_ACCEPT_H_
#define KEEL_NET_DETAIL_ACCEPT_H_

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "runtime/io/async_fd.h"
#include "runtime/task/task.h"

namespace keel::net::detail {

// Back-off after EMFILE/ENFILE: short enough that a server recovers quickly once a
// connection closes, doubling so that a lasting shortage costs a few wake-ups per second.
inline constexpr std::chrono::milliseconds kAcceptBackoffMin{5};
inline constexpr std::chrono::milliseconds kAcceptBackoffMax{1000};

// accept(2)'s manual: errors about one pending connection, to be retried like EAGAIN.
bool is_accept_connection_error(int err);
// Out of descriptors or memory: retrying at once would spin on the same connection.
bool is_accept_resource_error(int err);

// An accepted descriptor (closed on destruction unless released) and its peer's address.
class AcceptedFd {
 public:
  AcceptedFd(int fd, const sockaddr_storage& peer, socklen_t peer_len)
      : fd_(fd), peer_(peer), peer_len_(peer_len) {}
  AcceptedFd(AcceptedFd&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), peer_(other.peer_), peer_len_(other.peer_len_) {}
  AcceptedFd& operator=(AcceptedFd&& other) noexcept;
  AcceptedFd(const AcceptedFd&) = delete;
  AcceptedFd& operator=(const AcceptedFd&) = delete;
  ~AcceptedFd();

  int fd() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  const sockaddr* peer() const { return reinterpret_cast<const sockaddr*>(&peer_); }
  socklen_t peer_len() const { return peer_len_; }

 private:
  int fd_;
  sockaddr_storage peer_;
  socklen_t peer_len_;
};

// The next connection on `listener` (accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC), under the
// policy above. `what` names the await in task dumps.
Task<absl::StatusOr<AcceptedFd>> accept_fd(AsyncFd& listener, const std::string& name,
                                           const char* what);

}  // namespace keel::net::detail

#endif  // KEEL_NET_DETAIL_ACCEPT_H_
