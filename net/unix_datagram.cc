#include "net/unix_datagram.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "net/detail/socket.h"
#include "net/detail/unix_socket.h"
#include "net/error.h"

namespace keel::net {

absl::StatusOr<UnixDatagram> UnixDatagram::bind(std::string_view addr) {
  absl::StatusOr<UnixAddr> a = UnixAddr::parse(addr);
  if (!a.ok()) return a.status();
  return bind(*a);
}

absl::StatusOr<UnixDatagram> UnixDatagram::bind(const UnixAddr& addr) {
  absl::StatusOr<int> fd = detail::new_bound_unix_socket(SOCK_DGRAM, addr);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(*fd);
  if (!afd.ok()) return afd.status();
  return UnixDatagram(std::move(*afd), addr.to_string());
}

absl::StatusOr<UnixDatagram> UnixDatagram::unbound() {
  absl::StatusOr<int> fd = detail::new_socket(AF_UNIX, SOCK_DGRAM, "unix datagram");
  if (!fd.ok()) return fd.status();
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(*fd);
  if (!afd.ok()) return afd.status();
  return UnixDatagram(std::move(*afd), "unix datagram (unnamed)");
}

absl::StatusOr<std::pair<UnixDatagram, UnixDatagram>> UnixDatagram::pair() {
  absl::StatusOr<std::pair<AsyncFd, AsyncFd>> fds =
      detail::registered_pair(SOCK_DGRAM, "unix datagram");
  if (!fds.ok()) return fds.status();
  return std::pair<UnixDatagram, UnixDatagram>(
      UnixDatagram(std::move(fds->first), "unix datagram pair"),
      UnixDatagram(std::move(fds->second), "unix datagram pair"));
}

absl::StatusOr<UnixDatagram> UnixDatagram::from_fd(int fd) {
  absl::StatusOr<UnixAddr> local = detail::local_unix_addr(fd, "unix datagram");
  std::string name = local.ok() && !local->is_unnamed() ? local->to_string()
                                                        : absl::StrCat("unix datagram fd ", fd);
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(fd);
  if (!afd.ok()) return afd.status();
  return UnixDatagram(std::move(*afd), std::move(name));
}

absl::Status UnixDatagram::connect(std::string_view addr) {
  absl::StatusOr<UnixAddr> a = UnixAddr::parse(addr);
  if (!a.ok()) return a.status();
  return connect(*a);
}

absl::Status UnixDatagram::connect(const UnixAddr& addr) {
  // A datagram connect completes at once.
  if (::connect(fd_.fd(), addr.as_sockaddr(), addr.sockaddr_len()) != 0) {
    return io_error(errno, "connect", addr.to_string());
  }
  name_ = addr.to_string();
  return absl::OkStatus();
}

absl::StatusOr<UnixAddr> UnixDatagram::local_addr() const {
  return detail::local_unix_addr(fd_.fd(), name_);
}

absl::StatusOr<UnixAddr> UnixDatagram::peer_addr() const {
  return detail::peer_unix_addr(fd_.fd(), name_);
}

absl::Status UnixDatagram::shutdown_now(int how) {
  if (::shutdown(fd_.fd(), how) != 0) return io_error(errno, "shutdown", name_);
  return absl::OkStatus();
}

}  // namespace keel::net
