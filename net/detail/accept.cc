#include "net/detail/accept.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "net/error.h"
#include "runtime/time/sleep.h"

namespace keel::net::detail {

bool is_accept_connection_error(int err) {
  switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM:  // a firewall rule refused the connection
    case EINTR:
      return true;
    default:
      return false;
  }
}

bool is_accept_resource_error(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

AcceptedFd& AcceptedFd::operator=(AcceptedFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    peer_ = other.peer_;
    peer_len_ = other.peer_len_;
  }
  return *this;
}

AcceptedFd::~AcceptedFd() {
  if (fd_ >= 0) ::close(fd_);
}

Task<absl::StatusOr<AcceptedFd>> accept_fd(AsyncFd& listener, const std::string& name,
                                           const char* what) {
  std::chrono::milliseconds backoff = kAcceptBackoffMin;
  bool reported = false;
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    auto op = listener.io_op(Interest::kReadable, what, [fd = listener.fd(), &ss, &len] {
      len = sizeof ss;
      return ::accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    });
    keel::detail::IoResult r = co_await op;
    if (r.ok()) {
      if (reported) std::fprintf(stderr, "keel: accept %s: accepting again\n", name.c_str());
      co_return AcceptedFd(static_cast<int>(r.value), ss, len);
    }
    if (is_accept_connection_error(r.error)) continue;
    if (!is_accept_resource_error(r.error)) co_return io_error(r.error, "accept", name);
    if (!reported) {
      std::fprintf(stderr, "keel: accept %s: %s; backing off (open connections are served)\n",
                   name.c_str(), std::strerror(r.error));
      reported = true;
    }
    co_await sleep(backoff);
    backoff = std::min(backoff * 2, kAcceptBackoffMax);
  }
}

}  // namespace keel::net::detail
