#include "net/tcp_listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>


#include "absl/strings/str_cat.h"
#include "net/detail/accept.h"
#include "net/detail/socket.h"
#include "net/error.h"

namespace keel::net {

absl::StatusOr<TcpListener> TcpListener::bind(const SocketAddr& addr) {
  absl::StatusOr<TcpSocket> s = TcpSocket::new_for(addr);
  if (!s.ok()) return s.status();
  if (absl::Status st = s->set_reuseaddr(true); !st.ok()) return st;
  if (absl::Status st = s->bind(addr); !st.ok()) return st;
  return std::move(*s).listen(kDefaultBacklog);
}

absl::StatusOr<TcpListener> TcpListener::bind(std::string_view addr) {
  absl::StatusOr<SocketAddr> a = SocketAddr::parse(addr);
  if (!a.ok()) return a.status();
  return bind(*a);
}

absl::StatusOr<TcpListener> TcpListener::from_fd(int fd) {
  absl::StatusOr<SocketAddr> local = detail::local_addr(fd, "tcp listener");
  std::string name = local.ok() ? local->to_string() : absl::StrCat("tcp listener fd ", fd);
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(fd);
  if (!afd.ok()) return afd.status();
  return TcpListener(std::move(*afd), std::move(name));
}

absl::StatusOr<SocketAddr> TcpListener::local_addr() const {
  return detail::local_addr(fd_.fd(), name_);
}

Task<absl::StatusOr<std::pair<TcpStream, SocketAddr>>> TcpListener::accept() {
  absl::StatusOr<detail::AcceptedFd> accepted =
      co_await detail::accept_fd(fd_, name_, "TcpListener::accept");
  if (!accepted.ok()) co_return accepted.status();
  absl::StatusOr<SocketAddr> peer =
      SocketAddr::from_sockaddr(accepted->peer(), accepted->peer_len());
  if (!peer.ok()) co_return peer.status();
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(accepted->release());
  if (!afd.ok()) co_return afd.status();
  std::pair<TcpStream, SocketAddr> out(TcpStream(std::move(*afd), peer->to_string()), *peer);
  co_return std::move(out);
}

absl::StatusOr<TcpSocket> TcpSocket::new_v4() {
  absl::StatusOr<int> fd = detail::new_socket(AF_INET, SOCK_STREAM, "tcp");
  if (!fd.ok()) return fd.status();
  return TcpSocket(*fd);
}

absl::StatusOr<TcpSocket> TcpSocket::new_v6() {
  absl::StatusOr<int> fd = detail::new_socket(AF_INET6, SOCK_STREAM, "tcp6");
  if (!fd.ok()) return fd.status();
  return TcpSocket(*fd);
}

absl::StatusOr<TcpSocket> TcpSocket::new_for(const SocketAddr& addr) {
  return addr.is_ipv6() ? new_v6() : new_v4();
}

TcpSocket& TcpSocket::operator=(TcpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

TcpSocket::~TcpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status TcpSocket::set_reuseaddr(bool on) {
  return detail::set_int_option(fd_, SOL_SOCKET, SO_REUSEADDR, on, "SO_REUSEADDR", "tcp socket");
}
absl::Status TcpSocket::set_reuseport(bool on) {
  return detail::set_int_option(fd_, SOL_SOCKET, SO_REUSEPORT, on, "SO_REUSEPORT", "tcp socket");
}
absl::Status TcpSocket::set_nodelay(bool on) {
  return detail::set_int_option(fd_, IPPROTO_TCP, TCP_NODELAY, on, "TCP_NODELAY", "tcp socket");
}
absl::Status TcpSocket::set_send_buffer_size(int bytes) {
  return detail::set_int_option(fd_, SOL_SOCKET, SO_SNDBUF, bytes, "SO_SNDBUF", "tcp socket");
}
absl::Status TcpSocket::set_recv_buffer_size(int bytes) {
  return detail::set_int_option(fd_, SOL_SOCKET, SO_RCVBUF, bytes, "SO_RCVBUF", "tcp socket");
}
absl::Status TcpSocket::set_only_v6(bool on) {
  return detail::set_int_option(fd_, IPPROTO_IPV6, IPV6_V6ONLY, on, "IPV6_V6ONLY", "tcp socket");
}

absl::Status TcpSocket::bind(const SocketAddr& addr) {
  if (::bind(fd_, addr.as_sockaddr(), addr.sockaddr_len()) != 0) {
    return io_error(errno, "bind", addr.to_string());
  }
  return absl::OkStatus();
}

absl::StatusOr<TcpListener> TcpSocket::listen(int backlog) && {
  absl::StatusOr<SocketAddr> local = detail::local_addr(fd_, "tcp socket");
  std::string name = local.ok() ? local->to_string() : "tcp socket";
  if (::listen(fd_, backlog) != 0) return io_error(errno, "listen", name);
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(std::exchange(fd_, -1));
  if (!afd.ok()) return afd.status();
  return TcpListener(std::move(*afd), std::move(name));
}

Task<absl::StatusOr<TcpStream>> TcpSocket::connect(SocketAddr addr) && {
  return connect_owned(std::move(*this), addr);
}

Task<absl::StatusOr<TcpStream>> TcpSocket::connect_owned(TcpSocket socket, SocketAddr addr) {
  std::string name = addr.to_string();
  absl::StatusOr<AsyncFd> afd = co_await detail::connect_and_register(
      std::exchange(socket.fd_, -1), addr.as_sockaddr(), addr.sockaddr_len(), name);
  if (!afd.ok()) co_return afd.status();
  co_return TcpStream(std::move(*afd), std::move(name));
}

}  // namespace keel::net
