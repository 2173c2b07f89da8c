#include "net/tcp_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "net/detail/socket.h"
#include "net/error.h"
#include "net/tcp_listener.h"

namespace keel::net {

Task<absl::StatusOr<TcpStream>> TcpStream::connect(SocketAddr addr) {
  absl::StatusOr<TcpSocket> socket = TcpSocket::new_for(addr);
  if (!socket.ok()) co_return socket.status();
  Task<absl::StatusOr<TcpStream>> connecting = std::move(*socket).connect(addr);
  co_return co_await std::move(connecting);
}

Task<absl::StatusOr<TcpStream>> TcpStream::connect(std::string host_port) {
  absl::StatusOr<std::vector<SocketAddr>> addrs = co_await lookup_host(host_port);
  if (!addrs.ok()) co_return addrs.status();
  absl::Status last;
  for (const SocketAddr& addr : *addrs) {
    Task<absl::StatusOr<TcpStream>> attempt = connect(addr);
    absl::StatusOr<TcpStream> s = co_await std::move(attempt);
    if (s.ok()) co_return std::move(s);
    last = s.status();
  }
  co_return last;
}

absl::StatusOr<TcpStream> TcpStream::from_fd(int fd) {
  std::string name;
  if (absl::StatusOr<SocketAddr> peer = detail::peer_addr(fd, "tcp"); peer.ok()) {
    name = peer->to_string();
  } else {
    name = absl::StrCat("tcp fd ", fd);
  }
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(fd);
  if (!afd.ok()) return afd.status();
  return TcpStream(std::move(*afd), std::move(name));
}

absl::Status TcpStream::shutdown_now(int how) {
  if (::shutdown(fd_.fd(), how) != 0) return io_error(errno, "shutdown", name_);
  return absl::OkStatus();
}

absl::StatusOr<SocketAddr> TcpStream::local_addr() const {
  return detail::local_addr(fd_.fd(), name_);
}
absl::StatusOr<SocketAddr> TcpStream::peer_addr() const {
  return detail::peer_addr(fd_.fd(), name_);
}

absl::Status TcpStream::set_nodelay(bool on) {
  return detail::set_int_option(fd_.fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "TCP_NODELAY",
                                name_);
}

absl::StatusOr<bool> TcpStream::nodelay() const {
  absl::StatusOr<int> v =
      detail::get_int_option(fd_.fd(), IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", name_);
  if (!v.ok()) return v.status();
  return *v != 0;
}

absl::Status TcpStream::set_keepalive(std::optional<std::chrono::seconds> idle) {
  int fd = fd_.fd();
  if (!idle.has_value()) {
    return detail::set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, 0, "SO_KEEPALIVE", name_);
  }
  int secs = static_cast<int>(std::max<std::int64_t>(1, idle->count()));
  if (absl::Status s = detail::set_int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, secs,
                                              "TCP_KEEPIDLE", name_);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = detail::set_int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, secs,
                                              "TCP_KEEPINTVL", name_);
      !s.ok()) {
    return s;
  }
  return detail::set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE", name_);
}

absl::Status TcpStream::set_linger(std::optional<std::chrono::seconds> linger) {
  ::linger l{};
  l.l_onoff = linger.has_value() ? 1 : 0;
  l.l_linger = linger.has_value() ? static_cast<int>(linger->count()) : 0;
  if (::setsockopt(fd_.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) {
    return io_error(errno, "setsockopt SO_LINGER", name_);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::chrono::seconds>> TcpStream::linger() const {
  ::linger l{};
  socklen_t len = sizeof l;
  if (::getsockopt(fd_.fd(), SOL_SOCKET, SO_LINGER, &l, &len) != 0) {
    return io_error(errno, "getsockopt SO_LINGER", name_);
  }
  if (!l.l_onoff) return std::optional<std::chrono::seconds>();
  return std::optional<std::chrono::seconds>(std::chrono::seconds(l.l_linger));
}

absl::Status TcpStream::set_ttl(int ttl) {
  absl::StatusOr<SocketAddr> local = local_addr();
  bool v6 = local.ok() && local->is_ipv6();
  return v6 ? detail::set_int_option(fd_.fd(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl,
                                     "IPV6_UNICAST_HOPS", name_)
            : detail::set_int_option(fd_.fd(), IPPROTO_IP, IP_TTL, ttl, "IP_TTL", name_);
}

}  // namespace keel::net
