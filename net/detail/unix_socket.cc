#include "net/detail/unix_socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "net/detail/socket.h"
#include "net/error.h"

namespace keel::net::detail {
namespace {

// `s` with `hint` appended to its message, keeping its code and payloads (the errno).
absl::Status with_hint(const absl::Status& s, std::string_view hint) {
  absl::Status out(s.code(), absl::StrCat(s.message(), std::string(hint)));
  s.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace

absl::StatusOr<int> new_bound_unix_socket(int type, const UnixAddr& addr) {
  absl::StatusOr<int> fd =
      new_socket(AF_UNIX, type, type == SOCK_STREAM ? "unix stream" : "unix datagram");
  if (!fd.ok()) return fd.status();
  if (::bind(*fd, addr.as_sockaddr(), addr.sockaddr_len()) != 0) {
    int err = errno;
    ::close(*fd);
    absl::Status s = io_error(err, "bind", addr.to_string());
    if (err == EADDRINUSE) {
      s = with_hint(s, addr.is_pathname()
                           ? " (the path exists: remove a stale socket file before binding)"
                           : " (another socket holds this abstract name)");
    }
    return s;
  }
  return *fd;
}

absl::StatusOr<UnixAddr> local_unix_addr(int fd, std::string_view target) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return io_error(errno, "getsockname", target);
  }
  return UnixAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

absl::StatusOr<UnixAddr> peer_unix_addr(int fd, std::string_view target) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return io_error(errno, "getpeername", target);
  }
  return UnixAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

absl::StatusOr<std::pair<AsyncFd, AsyncFd>> registered_pair(int type, std::string_view what) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    return io_error(errno, "socketpair", what);
  }
  absl::StatusOr<AsyncFd> a = AsyncFd::create(fds[0]);
  if (!a.ok()) {
    ::close(fds[1]);
    return a.status();
  }
  absl::StatusOr<AsyncFd> b = AsyncFd::create(fds[1]);
  if (!b.ok()) return b.status();
  return std::pair<AsyncFd, AsyncFd>(std::move(*a), std::move(*b));
}

}  // namespace keel::net::detail
