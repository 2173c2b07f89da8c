#include "net/unix_stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/detail/accept.h"
#include "net/detail/socket.h"
#include "net/detail/unix_socket.h"
#include "net/error.h"

namespace keel::net {

Task<absl::StatusOr<UnixStream>> UnixStream::connect(std::string addr) {
  absl::StatusOr<UnixAddr> a = UnixAddr::parse(addr);
  if (!a.ok()) co_return a.status();
  Task<absl::StatusOr<UnixStream>> connecting = connect(*a);
  co_return co_await std::move(connecting);
}

Task<absl::StatusOr<UnixStream>> UnixStream::connect(UnixAddr addr) {
  std::string name = addr.to_string();
  absl::StatusOr<int> fd = detail::new_socket(AF_UNIX, SOCK_STREAM, "unix stream");
  if (!fd.ok()) co_return fd.status();
  // A non-blocking Unix connect completes or fails at once, or says EAGAIN when the
  // listener's backlog is full: connect_and_register retries that with a back-off.
  absl::StatusOr<AsyncFd> afd =
      co_await detail::connect_and_register(*fd, addr.as_sockaddr(), addr.sockaddr_len(), name);
  if (!afd.ok()) co_return afd.status();
  co_return UnixStream(std::move(*afd), std::move(name));
}

absl::StatusOr<std::pair<UnixStream, UnixStream>> UnixStream::pair() {
  absl::StatusOr<std::pair<AsyncFd, AsyncFd>> fds =
      detail::registered_pair(SOCK_STREAM, "unix stream");
  if (!fds.ok()) return fds.status();
  return std::pair<UnixStream, UnixStream>(UnixStream(std::move(fds->first), "unix pair"),
                                           UnixStream(std::move(fds->second), "unix pair"));
}

absl::StatusOr<UnixStream> UnixStream::from_fd(int fd) {
  std::string name;
  if (absl::StatusOr<UnixAddr> peer = detail::peer_unix_addr(fd, "unix stream");
      peer.ok() && !peer->is_unnamed()) {
    name = peer->to_string();
  } else if (absl::StatusOr<UnixAddr> local = detail::local_unix_addr(fd, "unix stream");
             local.ok() && !local->is_unnamed()) {
    name = local->to_string();
  } else {
    name = absl::StrCat("unix fd ", fd);
  }
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(fd);
  if (!afd.ok()) return afd.status();
  return UnixStream(std::move(*afd), std::move(name));
}

absl::Status UnixStream::shutdown_now(int how) {
  if (::shutdown(fd_.fd(), how) != 0) return io_error(errno, "shutdown", name_);
  return absl::OkStatus();
}

absl::StatusOr<UnixAddr> UnixStream::local_addr() const {
  return detail::local_unix_addr(fd_.fd(), name_);
}

absl::StatusOr<UnixAddr> UnixStream::peer_addr() const {
  return detail::peer_unix_addr(fd_.fd(), name_);
}

absl::StatusOr<UnixCred> UnixStream::peer_cred() const {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd_.fd(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return io_error(errno, "getsockopt SO_PEERCRED", name_);
  }
  return UnixCred{cred.pid, cred.uid, cred.gid};
}

absl::StatusOr<UnixListener> UnixListener::bind(std::string_view addr, int backlog) {
  absl::StatusOr<UnixAddr> a = UnixAddr::parse(addr);
  if (!a.ok()) return a.status();
  return bind(*a, backlog);
}

absl::StatusOr<UnixListener> UnixListener::bind(const UnixAddr& addr, int backlog) {
  absl::StatusOr<int> fd = detail::new_bound_unix_socket(SOCK_STREAM, addr);
  if (!fd.ok()) return fd.status();
  if (::listen(*fd, backlog) != 0) {
    int err = errno;
    ::close(*fd);
    return io_error(err, "listen", addr.to_string());
  }
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(*fd);
  if (!afd.ok()) return afd.status();
  return UnixListener(std::move(*afd), addr.to_string());
}

absl::StatusOr<UnixListener> UnixListener::from_fd(int fd) {
  absl::StatusOr<UnixAddr> local = detail::local_unix_addr(fd, "unix listener");
  std::string name = local.ok() && !local->is_unnamed() ? local->to_string()
                                                        : absl::StrCat("unix listener fd ", fd);
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(fd);
  if (!afd.ok()) return afd.status();
  return UnixListener(std::move(*afd), std::move(name));
}

absl::StatusOr<UnixAddr> UnixListener::local_addr() const {
  return detail::local_unix_addr(fd_.fd(), name_);
}

Task<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> UnixListener::accept() {
  Task<absl::StatusOr<detail::AcceptedFd>> accepting =
      detail::accept_fd(fd_, name_, "UnixListener::accept");
  absl::StatusOr<detail::AcceptedFd> accepted = co_await std::move(accepting);
  if (!accepted.ok()) co_return accepted.status();
  absl::StatusOr<UnixAddr> peer = UnixAddr::from_sockaddr(accepted->peer(), accepted->peer_len());
  if (!peer.ok()) co_return peer.status();
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(accepted->release());
  if (!afd.ok()) co_return afd.status();
  std::pair<UnixStream, UnixAddr> out(UnixStream(std::move(*afd), name_), std::move(*peer));
  co_return std::move(out);
}

}  // namespace keel::net
