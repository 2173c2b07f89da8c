#include "net/detail/socket.h"

#include <cerrno>
#include <algorithm>
#include <utility>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "net/error.h"
#include "runtime/time/sleep.h"

namespace keel::net::detail {

absl::StatusOr<int> new_socket(int family, int type, std::string_view what) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return io_error(errno, "socket", what);
  return fd;
}

absl::Status set_int_option(int fd, int level, int name, int value, std::string_view opt_name,
                            std::string_view target) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return io_error(errno, std::string("setsockopt ").append(opt_name), target);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> get_int_option(int fd, int level, int name, std::string_view opt_name,
                                   std::string_view target) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0) {
    return io_error(errno, std::string("getsockopt ").append(opt_name), target);
  }
  return value;
}

absl::StatusOr<SocketAddr> local_addr(int fd, std::string_view target) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return io_error(errno, "getsockname", target);
  }
  return SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

absl::StatusOr<SocketAddr> peer_addr(int fd, std::string_view target) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return io_error(errno, "getpeername", target);
  }
  return SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

namespace {

// A descriptor closed on destruction unless released.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Waits until the connect started on `afd` finished; its result.
Task<absl::Status> finish_connect(AsyncFd& afd, const std::string& target) {
  for (;;) {
    ReadyGuard ready = co_await afd.writable();
    if (ready.is_shutdown()) co_return io_error(ECANCELED, "connect", target);
    absl::StatusOr<int> err = get_int_option(afd.fd(), SOL_SOCKET, SO_ERROR, "SO_ERROR", target);
    if (!err.ok()) co_return err.status();
    if (*err != 0) co_return io_error(*err, "connect", target);
    // Writable with no error: connected, unless the readiness was stale (then not yet).
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    if (::getpeername(afd.fd(), reinterpret_cast<sockaddr*>(&peer), &plen) == 0) {
      co_return absl::OkStatus();
    }
    if (errno != ENOTCONN) co_return io_error(errno, "connect", target);
    ready.clear_ready();
  }
}

}  // namespace

Task<absl::StatusOr<AsyncFd>> connect_and_register(int fd, const sockaddr* addr, socklen_t len,
                                                   std::string target) {
  OwnedFd socket(fd);  // closed on failure, and when the task is cancelled mid-retry
  bool in_progress = false;
  std::chrono::milliseconds backoff = kConnectRetryMin;
  for (;;) {
    if (::connect(socket.get(), addr, len) == 0) break;
    int err = errno;
    // EINTR: the connect goes on in the background, as with EINPROGRESS.
    if (err == EINPROGRESS || err == EINTR) {
      in_progress = true;
      break;
    }
    if (err == EAGAIN && addr->sa_family == AF_UNIX) {
      co_await sleep(backoff);
      backoff = std::min(backoff * 2, kConnectRetryMax);
      continue;
    }
    co_return io_error(err, "connect", target);
  }
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(socket.release());  // closes it on failure
  if (!afd.ok()) co_return afd.status();
  if (in_progress) {
    absl::Status st = co_await finish_connect(*afd, target);
    if (!st.ok()) co_return st;
  }
  co_return std::move(*afd);
}

}  // namespace keel::net::detail
